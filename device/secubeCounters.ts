/**
 * DEVICE-INTERNAL. Named monotonic counters in device flash: the anti-rollback anchors of the KMS
 * (the last applied update sequence, the database generation). A counter only moves forward and is
 * persisted before the call returns, in the power-safe record area of the device state
 * (`deviceState.ts`), as one advance of its counter journal — a bit or a few bytes of flash, not a new
 * copy of the record (`stateJournal.ts`) — so no host can wind it back (the original has none, W2).
 *
 * Three counters are reserved ({@link RESERVED_COUNTERS}): the generic {@link counterAdvance}
 * refuses them and keeps one of the {@link MAX_COUNTERS} slots free for each. The applied-update
 * counter ({@link UPDATE_SEQUENCE_COUNTER}) is what the HSM's acknowledgements vouch for, so it moves
 * only through `recordUpdateApplied` (`secubeUpdates.ts`), to an update the HSM authenticated. The
 * PIN reset counters (`pinResetOrder.ts`) move only when the HSM issues or accepts an order: a host
 * that pushed the accepted one up would make its device refuse every future reset.
 * @module
 */
import { UPDATE_SEQUENCE_COUNTER } from './acknowledgement.ts';
import { utf8 } from './binaryCodec.ts';
import { DeviceError } from './deviceError.ts';
import { MAX_COUNTERS, MAX_COUNTER_NAME_BYTES } from './deviceState.ts';
import { PIN_RESET_ACCEPTED_COUNTER, PIN_RESET_ISSUED_COUNTER } from './pinResetOrder.ts';
import type { DeviceCore } from './secubeCore.ts';

/** Counters only the HSM itself moves, each by its own operation (see the module comment). */
export const RESERVED_COUNTERS: readonly string[] = Object.freeze([
  UPDATE_SEQUENCE_COUNTER,
  PIN_RESET_ISSUED_COUNTER,
  PIN_RESET_ACCEPTED_COUNTER,
]);

/**
 * @throws DeviceError `BadArgument` unless `name` is well-formed Unicode (no lone surrogate) of
 * 1..{@link MAX_COUNTER_NAME_BYTES} UTF-8 bytes. A lone surrogate encodes as U+FFFD (WHATWG
 * Encoding, "UTF-8 encode"), so such a name would come back from flash as another name: its value
 * lost after a reboot, two names merged into one, and the journal's indices, positions in the
 * sorted names, pointing at other counters (a counter moved backwards, or a device that no
 * longer boots).
 */
function checkCounterName(name: string): void {
  // `\p{Cs}` with the `u` flag matches only lone surrogates (a pair is one code point); as
  // String.prototype.isWellFormed, which the project's TypeScript library (ES2023) does not declare.
  if (/\p{Cs}/u.test(name)) throw new DeviceError('BadArgument', 'a counter name must be well-formed Unicode');
  const bytes = utf8(name);
  if (bytes.length < 1 || bytes.length > MAX_COUNTER_NAME_BYTES)
    throw new DeviceError('BadArgument', `counter names are 1..${MAX_COUNTER_NAME_BYTES} UTF-8 bytes`);
}

/** Value of counter `name` (0 when never advanced). User or admin session. */
export function counterRead(core: DeviceCore, name: string): number {
  const { state } = core.requireSession();
  checkCounterName(name);
  return state.counters.get(name) ?? 0;
}

/**
 * Moves counter `name` forward to `to`, persisted before this returns; equal is a no-op.
 * @throws DeviceError `ReservedCounter` (one of {@link RESERVED_COUNTERS}), `CounterRollback` (below
 *   the current value), `BadArgument`, `StoreFull` (more than {@link MAX_COUNTERS} counters, one slot
 *   kept for each reserved counter).
 */
export function counterAdvance(core: DeviceCore, name: string, to: number): number {
  const { state } = core.requireSession();
  checkCounterName(name);
  if (RESERVED_COUNTERS.includes(name))
    throw new DeviceError(
      'ReservedCounter',
      name === UPDATE_SEQUENCE_COUNTER
        ? `counter '${name}' moves only when the HSM records an update it authenticated (recordUpdateApplied)`
        : `counter '${name}' moves only when the HSM issues or accepts a PIN reset order`,
    );
  if (!Number.isSafeInteger(to) || to < 0) throw new DeviceError('BadArgument', 'counter values are safe integers ≥ 0');
  const current = state.counters.get(name) ?? 0;
  if (to < current)
    throw new DeviceError('CounterRollback', `counter '${name}' is at ${current}; it cannot go back to ${to}`);
  if (to === current) return current;
  const reservedSlots = RESERVED_COUNTERS.filter((r) => !state.counters.has(r)).length;
  if (!state.counters.has(name) && state.counters.size + reservedSlots >= MAX_COUNTERS)
    throw new DeviceError('StoreFull', `at most ${MAX_COUNTERS} counters`);
  const counters = new Map(state.counters);
  counters.set(name, to);
  core.save({ ...state, counters });
  return to;
}
