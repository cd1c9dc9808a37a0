/**
 * The error every simulated storage device (internal flash, SD card) throws when power is cut.
 * @module
 */

/**
 * Power was lost during, or before, a storage operation. Thrown by the operation that the fault
 * injector interrupted (its effect on the medium is partial, see the device's fault model) and by
 * every later operation until the device is powered on again. Models the firmware simply stopping:
 * nothing after the cut runs, which is what the crash-consistency suites rely on.
 * @remedy Power the device on and retry: an interrupted operation leaves the state before or after
 * it, never in between.
 */
export class PowerLossError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'PowerLoss' as const;
  /** Which device lost power (e.g. `flash`, `sd`). */
  readonly device: string;
  /** True for the interrupted operation itself; false for operations refused while unpowered. */
  readonly interrupted: boolean;

  constructor(device: string, interrupted: boolean, detail: string) {
    super(`${device}: power lost (${detail})`);
    this.name = 'PowerLossError';
    this.device = device;
    this.interrupted = interrupted;
  }
}
