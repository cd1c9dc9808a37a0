/**
 * DEVICE-INTERNAL. The state of one simulated SEcube and its power discipline: what is in RAM (PIN
 * machine snapshot, mounted key store, decoded device state), how a boot rebuilds it from flash, and
 * the checks every operation starts with (powered, initialised, a PIN session of the right level).
 *
 * The operation modules (`secubePin.ts`, `secubeFactory.ts`, `secubeKeys.ts`, `secubeCrypto.ts`,
 * `secubeWrap.ts`, `secubeCounters.ts`, `secubeProvisioning.ts`) are functions of a {@link DeviceCore};
 * `SecubeDevice` (`secube.ts`) holds one in a private field and never hands it out, so nothing on
 * the host side can reach the state (or the identity secret in it).
 *
 * Power loss: flash operations are synchronous, so a cut surfaces as a {@link PowerLossError} thrown
 * out of whatever flash call was running; {@link DeviceCore.guard} then leaves the device off, as
 * firmware that just stops. Persistent state lives in the key store and in a two-sector
 * {@link RecordArea} (a base record and a journal of counter advances), each written so that a cut
 * leaves the state before or after.
 * @module
 */
import { initialTransition, transition } from '../model/pureTransition.ts';
import type { SnapshotFrom } from 'xstate';
import { pinSessionMachine } from '../model/pinSession.ts';
import type { PinLevel, PinState } from '../model/pinSession.ts';
import { messageOf } from '../model/codedError.ts';
import type { CycleMeter } from './costModel.ts';
import { DeviceError } from './deviceError.ts';
import { encodeDeviceState, supersedesSecret } from './deviceState.ts';
import type { DeviceState } from './deviceState.ts';
import type { Flash } from './flash.ts';
import { DEFAULT_KEY_STORE_SECTORS, KeyStore } from './keyStore.ts';
import type { KeyStoreOptions } from './keyStore.ts';
import { KeyStoreNotFormattedError } from './keyStoreErrors.ts';
import { DEFAULT_PIN_ITERATIONS } from './pinHash.ts';
import { PowerLossError } from './powerLossError.ts';
import { RecordArea } from './recordArea.ts';
import { journalMove, readStateRecord } from './stateJournal.ts';
import type { StateRecord } from './stateJournal.ts';
import type { SdCard } from './sdcard.ts';
import type { SecubeTestHooks } from './secubeTestHooks.ts';
import { Trng } from './trng.ts';
import type { TrngSeed } from './trng.ts';

/** Default record-area sectors: two 16 KiB sectors of bank 2 (RM0090 §3.4: sectors 12 and 13). */
export const DEFAULT_STATE_SECTORS: readonly [number, number] = Object.freeze([12, 13]) as readonly [number, number];

/** The PIN machine resumed from the counters of `state` (a boot; a state read back). */
function resumedPin(state: DeviceState): PinSnapshot {
  return initialTransition(pinSessionMachine, { maxRetries: state.maxRetries, retriesLeft: state.retriesLeft })[0];
}

/** Options of `SecubeDevice`. */
export interface SecubeDeviceOptions {
  /** The device's internal flash (keep a reference only to inject faults or inspect wear). */
  readonly flash: Flash;
  /** Meter for crypto, TRNG and PIN work; defaults to the flash's meter, so one meter sees everything. */
  readonly meter?: CycleMeter;
  /** TRNG to use; default: a new one (seeded with `seed` when given) charging `meter`. */
  readonly trng?: Trng;
  /** Seed for a deterministic TRNG (reproducible runs); ignored when `trng` is given. */
  readonly seed?: TrngSeed;
  /** Key store placement and tuning (default: the 128 KiB sectors of bank 2). */
  readonly keyStore?: KeyStoreOptions;
  /** The two sectors of the device-state record area (default {@link DEFAULT_STATE_SECTORS}). */
  readonly stateSectors?: readonly [number, number];
  /** The device's microSD card, cut together with the device. */
  readonly sdcard?: SdCard;
  /** PBKDF2 iterations for new PIN verifiers (default {@link DEFAULT_PIN_ITERATIONS}). */
  readonly pinIterations?: number;
  /**
   * TESTS ONLY: enables `testOnlyHooks` (plaintext key import for published test vectors, reading
   * key bytes for secrecy scans, a cut point between spending a PIN try and comparing).
   */
  readonly testHooks?: boolean;
}

/** A snapshot of the model's PIN session machine. */
export type PinSnapshot = SnapshotFrom<typeof pinSessionMachine>;

/** What an initialised device has in RAM. */
export interface InitContext {
  readonly state: DeviceState;
  readonly pin: PinSnapshot;
  readonly store: KeyStore;
}

/** An initialised device in a PIN session of `level`. */
export interface SessionContext extends InitContext {
  readonly level: PinLevel;
}

/** Session state as the host sees it. */
export type SessionState = 'loggedOut' | 'user' | 'admin' | 'locked';

/**
 * The host's view of a PIN machine state: `checking` lasts only while a login compares its PIN, so
 * from outside the device it is still logged out.
 */
export function sessionOf(value: PinState): SessionState {
  return value === 'checking' ? 'loggedOut' : value;
}

/** What a device shows of itself (`toString`, `toJSON`, `util.inspect`): never a secret. */
export type DeviceSummary = {
  serial: string | null;
  powered: boolean;
  session: SessionState | null;
  keys: number | null;
};

/** DEVICE-INTERNAL: the RAM and the peripherals of one SEcube. */
export class DeviceCore {
  readonly flash: Flash;
  readonly meter: CycleMeter | undefined;
  readonly trng: Trng;
  /**
   * True when this core made its TRNG (charging {@link meter}), false when it was handed one. Not
   * readonly only so that {@link cloneSimulated}, which hands its copy a cloned TRNG, can mark it own.
   */
  ownTrng: boolean;
  readonly keyStoreOptions: KeyStoreOptions;
  readonly stateSectors: readonly [number, number];
  readonly area: RecordArea;
  readonly sdcard: SdCard | undefined;
  readonly pinIterations: number;
  powered = false;
  /** The current device state: the base record with the counter journal folded in. */
  state: DeviceState | undefined;
  /** The base record in flash, and the journalled advances since it (`stateJournal.ts`). */
  base: DeviceState | undefined;
  journal = new Map<number, number>();
  store: KeyStore | undefined;
  /** A key-store operation failed half-way: the store's view must be rebuilt before the next use. */
  storeNeedsMount = false;
  pin: PinSnapshot | undefined;
  /** Cache of the identity public key (one scalar multiplication per boot, not per query). */
  identityPublic: Uint8Array | undefined;
  /**
   * RAM only: the sequence of the update file the HSM last authenticated (`openUpdate`), the one
   * sequence `recordUpdateApplied` may move the applied-update counter to. Forgotten at every boot,
   * power cut, login, logout and factory reset.
   */
  authenticatedUpdate: number | undefined;
  /** Set only on a device built with `testHooks: true`. */
  testHooks: SecubeTestHooks | undefined;
  /**
   * The last boot failed on something other than a power cut (a device state it could not read, a
   * key store whose repair failed): the flash holds a state, so the device is not blank. Until a boot
   * succeeds, every call that needs the state says `StateCorrupt`, and factory init is refused: it
   * would run over the keys, the root of trust and the PIN tries the flash holds.
   */
  bootFailed: unknown = undefined;
  /**
   * A call is running (`guard`): the SEcube firmware runs one command at a time, so a host callback
   * that runs inside one (a flash write listener, a meter, a TRNG source) cannot start another. Let
   * in, it found the PIN state of before the call's own write: a login inside a login spent a try
   * and compared a PIN at every depth, past the limit; a key written inside another's write took the
   * same slot, and both were lost.
   */
  #busy = false;

  /** Wires the peripherals; does not boot (the facade boots under {@link guard}). */
  constructor(options: SecubeDeviceOptions) {
    this.flash = options.flash;
    this.meter = options.meter ?? options.flash.meter;
    const trngOptions = this.meter === undefined ? {} : { meter: this.meter };
    this.ownTrng = options.trng === undefined;
    this.trng =
      options.trng ?? new Trng(options.seed === undefined ? trngOptions : { ...trngOptions, seed: options.seed });
    this.keyStoreOptions = options.keyStore ?? {};
    const stateSectors = options.stateSectors ?? DEFAULT_STATE_SECTORS;
    this.stateSectors = stateSectors;
    const storeSectors = this.keyStoreOptions.sectors ?? DEFAULT_KEY_STORE_SECTORS;
    if (stateSectors.some((s) => storeSectors.includes(s)))
      throw new RangeError('state sectors and key store sectors must not overlap');
    this.area = new RecordArea({ flash: options.flash, sectors: stateSectors });
    this.sdcard = options.sdcard;
    // One supply: a cut the card sees (during a write or a sync the host makes) stops the device too.
    this.sdcard?.onPowerCut(() => {
      if (this.powered) this.cutPower();
    });
    this.pinIterations = options.pinIterations ?? DEFAULT_PIN_ITERATIONS;
  }

  /** Reads flash into RAM: the device state, the key store, and the PIN machine resumed from its counters. */
  boot(): void {
    this.bootFailed = undefined;
    try {
      this.#boot();
    } catch (e) {
      if (!(e instanceof PowerLossError)) this.bootFailed = e;
      throw e;
    }
  }

  #boot(): void {
    this.powered = true;
    this.state = undefined;
    this.base = undefined;
    this.journal = new Map();
    this.store = undefined;
    this.storeNeedsMount = false;
    this.pin = undefined;
    this.identityPublic = undefined;
    this.authenticatedUpdate = undefined;
    const record = this.#readRecord();
    if (record === undefined) return;
    const store = this.mountStore();
    // Counters come back from flash: the machine resumes exactly where the last persisted step left it.
    this.pin = resumedPin(record.state);
    this.store = store;
    this.#adopt(record);
  }

  /** The state record in flash (re-read from the sectors): base, journal, and the two folded. */
  #readRecord(): StateRecord | undefined {
    this.area.remount();
    return readStateRecord(this.area);
  }

  #adopt(record: { base?: DeviceState; journal: Map<number, number>; state?: DeviceState }): void {
    this.base = record.base;
    this.journal = record.journal;
    this.state = record.state;
  }

  /** The device stops, as firmware that loses power does: off, no session, nothing authenticated. */
  #stop(): void {
    this.powered = false;
    this.pin = undefined;
    this.authenticatedUpdate = undefined;
  }

  /**
   * Pulls the plug: the session ends (the PIN machine's `POWER_LOSS`) and the SD card is cut too.
   * Pulled inside a call (from a host callback), the flash goes off as well, so the call stops at its
   * next flash access instead of writing on a device said to be off; between calls the flash is left
   * readable, as the tests that look at a cut's result need. (A cut inside one flash operation is
   * armed with the flash's `cutPowerAfter`.)
   */
  cutPower(): void {
    if (this.#busy) this.flash.cutPower();
    if (this.powered && this.pin !== undefined)
      [this.pin] = transition(pinSessionMachine, this.pin, { type: 'POWER_LOSS' });
    this.powered = false;
    this.pin = undefined;
    this.authenticatedUpdate = undefined;
    if (this.sdcard?.powered === true) this.sdcard.cutPower();
  }

  /** Powers flash and SD card back on and boots. */
  powerOn(): void {
    this.#refuseWhileBusy();
    this.flash.powerOn();
    this.sdcard?.powerOn();
    this.guard(() => this.boot());
  }

  /** Mounts the key store of an initialised device. */
  mountStore(): KeyStore {
    try {
      return KeyStore.mount(this.flash, this.keyStoreOptions);
    } catch (e) {
      // Factory init formats the store before it saves the state, so this means damaged flash.
      if (e instanceof KeyStoreNotFormattedError)
        throw new DeviceError('StateCorrupt', 'device state present but key store missing');
      throw e;
    }
  }

  /**
   * Runs a step; a power cut anywhere in it leaves the device off (firmware just stops). The SD card
   * sits on the same supply, so a cut that fired inside a flash operation (`interrupted`) cuts the
   * card too: its writes not yet synced are resolved as a cut resolves them (written, dropped or
   * garbage), rather than surviving a power loss that the flash saw. A call refused because the
   * device is already off is no new cut: the card is left as it is.
   */
  guard<T>(step: () => T): T {
    this.#refuseWhileBusy();
    this.#busy = true;
    try {
      return step();
    } catch (e) {
      if (e instanceof PowerLossError) {
        this.#stop();
        if (e.interrupted && this.sdcard?.powered === true) this.sdcard.cutPower();
      } else if (this.store !== undefined && (this.store.needsRemount || !(e instanceof DeviceError))) {
        // A key-store operation failed half-way (e.g. worn flash, or a device error such as Busy that
        // a host callback let out of a write): its view must be rebuilt.
        this.storeNeedsMount = true;
      }
      throw e;
    } finally {
      this.#busy = false;
    }
  }

  /** @throws DeviceError `Busy` while a call runs ({@link guard}). */
  #refuseWhileBusy(): void {
    if (this.#busy) throw new DeviceError('Busy', 'the HSM is running another command (one at a time)');
  }

  /** @throws PowerLossError while unpowered. */
  requirePower(): void {
    if (!this.powered) throw new PowerLossError('secube', false, 'device is unpowered');
  }

  /** @throws DeviceError `StateCorrupt` when the last boot failed ({@link bootFailed}). */
  requireBooted(): void {
    if (this.bootFailed === undefined) return;
    const why = messageOf(this.bootFailed);
    throw new DeviceError('StateCorrupt', `the HSM could not read its state at the last power-on: ${why}`);
  }

  /** @throws DeviceError `StateCorrupt` after a failed boot, `NotInitialized` before factory init. */
  requireInit(): InitContext {
    this.requirePower();
    this.requireBooted();
    if (this.state === undefined || this.pin === undefined || this.store === undefined)
      throw new DeviceError('NotInitialized', 'factory init has not run');
    if (this.storeNeedsMount) {
      this.store = this.mountStore();
      this.storeNeedsMount = false;
    }
    return { state: this.state, pin: this.pin, store: this.store };
  }

  /** @throws DeviceError `DeviceLocked`, `NotLoggedIn`, or `AccessDenied` (a level not in `levels`). */
  requireSession(levels: readonly PinLevel[] = ['user', 'admin']): SessionContext {
    const ctx = this.requireInit();
    const value = ctx.pin.value;
    if (value === 'locked')
      throw new DeviceError('DeviceLocked', 'admin PIN tries exhausted: only a factory reset helps');
    if (value !== 'user' && value !== 'admin')
      throw new DeviceError('NotLoggedIn', 'this operation needs a PIN session');
    if (!levels.includes(value))
      throw new DeviceError('AccessDenied', `this operation needs the ${levels.join(' or ')} level`);
    return { state: ctx.state, pin: ctx.pin, store: ctx.store, level: value };
  }

  /**
   * Persists `next` in the record area (atomic: old or new state after a cut), then adopts it. One
   * counter moving forward (a monotonic counter, a spent try, restored tries) is journalled in a
   * few bits (`stateJournal.ts`); anything else, or a full journal, saves a new base record.
   */
  save(next: DeviceState): void {
    try {
      const move = this.base === undefined ? undefined : journalMove(this.base, this.journal, next);
      if (move !== undefined && this.area.advance(move.index, move.delta)) {
        this.journal.set(move.index, (this.journal.get(move.index) ?? 0) + move.delta);
        this.state = next;
        return;
      }
      // A new identity or PIN verifier must not outlive its save in the sector left behind.
      const forgetPrevious = this.base !== undefined && supersedesSecret(this.base, next);
      this.area.save(encodeDeviceState(next), { forgetPrevious });
      this.base = next;
      this.journal = new Map();
      this.state = next;
    } catch (e) {
      if (!(e instanceof PowerLossError)) this.#rereadState();
      throw e;
    }
  }

  /**
   * After a state write failed other than by a power cut (a worn-out program that landed before its
   * verify failed; a write listener that threw after the write, `flash.ts`), flash may hold the new
   * record while RAM holds the old: reads it back, as a boot would. Without this the next save
   * journals from the stale view and flash counts the step twice: a spent PIN try counted twice
   * over-spends the level, and the next boot finds its counter out of range (`StateCorrupt`) or the
   * admin level locked for good. The PIN machine restarts from the counters read back when they
   * differ from its own (the write was a PIN try or a PIN reset) or a login was being checked, so a
   * failed counter step keeps the session. If flash cannot be read back, the device stops (as after a
   * cut) and its next boot decides.
   */
  #rereadState(): void {
    try {
      const record = this.#readRecord();
      if (record === undefined) {
        // Factory init's first record never landed: the device is as blank as before it.
        this.#adopt({ journal: new Map() });
        return;
      }
      this.#adopt(record);
      const left = this.pin?.context.retriesLeft;
      const read = record.state.retriesLeft;
      // Also when a login's check was under way (`checking`): the write that failed was its outcome
      // (the try given back), and a machine left in `checking` would refuse every later login and
      // logout until a power cycle. It restarts logged out, with the tries flash holds.
      const changed = left !== undefined && (left.user !== read.user || left.admin !== read.admin);
      if (changed || this.pin?.value === 'checking') this.pin = resumedPin(record.state);
    } catch {
      this.#stop();
    }
  }

  /**
   * SIMULATOR ONLY (`SecubeDevice.simulatorClone`): a core in this one's exact state over copies of
   * its peripherals — flash, meter(s), SD card and TRNG each cloned, RAM (device state, counter
   * journal, mounted key store, record-area knowledge, PIN snapshot, identity key cache, session)
   * copied — so the copy returns, writes and charges exactly what this core would from here on.
   * PIN snapshots are immutable values (the model's pure transitions make new ones): shared.
   * @throws RangeError when the TRNG was handed in (its meter is not this core's to re-wire), or a
   *   peripheral cannot be cloned (an unseeded TRNG).
   */
  cloneSimulated(): DeviceCore {
    if (!this.ownTrng) throw new RangeError('a device given its TRNG cannot be cloned');
    const flashMeter = this.flash.meter?.clone();
    const meter = this.meter === this.flash.meter ? flashMeter : this.meter?.clone();
    const sameMeter = (m: CycleMeter | undefined): CycleMeter | undefined =>
      m === undefined ? undefined : m === this.meter ? meter : m === this.flash.meter ? flashMeter : m.clone();
    const flash = this.flash.clone(flashMeter);
    const copy = new DeviceCore({
      flash,
      ...(meter === undefined ? {} : { meter }),
      trng: this.trng.clone(meter),
      keyStore: this.keyStoreOptions,
      stateSectors: this.stateSectors,
      ...(this.sdcard === undefined ? {} : { sdcard: this.sdcard.clone(sameMeter(this.sdcard.meter)) }),
      pinIterations: this.pinIterations,
    });
    copy.ownTrng = true;
    copy.powered = this.powered;
    // structuredClone copies the Maps and byte arrays of a device state; base and state are often one object.
    const state = this.state === undefined ? undefined : structuredClone(this.state);
    copy.state = state;
    copy.base = this.base === this.state ? state : this.base === undefined ? undefined : structuredClone(this.base);
    copy.journal = new Map(this.journal);
    copy.store = this.store?.cloneOnto(flash);
    copy.storeNeedsMount = this.storeNeedsMount;
    copy.pin = this.pin;
    copy.identityPublic = this.identityPublic?.slice();
    copy.authenticatedUpdate = this.authenticatedUpdate;
    copy.bootFailed = this.bootFailed;
    copy.area.adoptKnowledgeOf(this.area);
    return copy;
  }

  /** Serial, power, session and key count; never key material. */
  summary(): DeviceSummary {
    const on = this.powered;
    const pinValue = on ? this.pin?.value : undefined;
    return {
      serial: this.state?.serial ?? null,
      powered: on,
      session: pinValue === undefined ? null : sessionOf(pinValue),
      keys: on && this.store !== undefined && !this.storeNeedsMount ? this.store.size : null,
    };
  }
}
