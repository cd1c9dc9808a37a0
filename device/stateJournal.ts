/**
 * DEVICE-INTERNAL. What the counter journal of the record area (`recordArea.ts`,
 * `counterJournal.ts`) means for the device state: which journal index stands for which counter, how
 * a base record and its journal fold into the current state, and which single journal advance (if
 * any) takes the current state to the next one. A change that is not one counter moving forward —
 * a new counter, a new PIN, a factory reset — is saved as a new base record instead.
 *
 * Indices 0..63 are the monotonic counters of the base record, by their position in
 * {@link counterNames}. PIN retry counters are kept as two monotonic counts per level, so that both
 * spending a try and restoring all tries are advances: `spent` (tries spent since the base) and
 * `restored` (the value of `spent` at the last restore). Tries left are then
 * `maxRetries - (spent - restored)` after a restore, `base tries left - spent` before any. A try is
 * thus spent by one journal advance, in flash before the PIN is compared (`secubePin.ts`), at the
 * cost of about one bit.
 * @module
 */
import type { PinLevel } from '../model/pinSession.ts';
import { DeviceError } from './deviceError.ts';
import { MAX_COUNTERS, counterNames, decodeDeviceState } from './deviceState.ts';
import type { RecordArea } from './recordArea.ts';
import type { DeviceState } from './deviceState.ts';

/** Journal index of the tries spent at each level since the base. */
export const PIN_SPENT_INDEX: Readonly<Record<PinLevel, number>> = Object.freeze({
  user: MAX_COUNTERS,
  admin: MAX_COUNTERS + 2,
});
/** Journal index of the value `spent` had at the last restore of each level's tries. */
export const PIN_RESTORED_INDEX: Readonly<Record<PinLevel, number>> = Object.freeze({
  user: MAX_COUNTERS + 1,
  admin: MAX_COUNTERS + 3,
});

const LEVELS: readonly PinLevel[] = ['user', 'admin'];

function corrupt(why: string): never {
  throw new DeviceError('StateCorrupt', why);
}

/**
 * The state that `base` and the journalled `advances` (sums per index) stand for.
 * @throws DeviceError `StateCorrupt` when the journal names an unknown index or leaves a retry
 *   counter out of range.
 */
export function foldJournal(base: DeviceState, advances: ReadonlyMap<number, number>): DeviceState {
  if (advances.size === 0) return base;
  const names = counterNames(base);
  const pinIndices = new Set([...Object.values(PIN_SPENT_INDEX), ...Object.values(PIN_RESTORED_INDEX)]);
  for (const index of advances.keys())
    if (index >= names.length && !pinIndices.has(index)) corrupt(`the counter journal names unknown index ${index}`);
  const counters = new Map(base.counters);
  names.forEach((name, index) => {
    const value = (base.counters.get(name) ?? 0) + (advances.get(index) ?? 0);
    if (!Number.isSafeInteger(value)) corrupt(`counter '${name}' overflows`);
    counters.set(name, value);
  });
  const left = (level: PinLevel): number => {
    const spent = advances.get(PIN_SPENT_INDEX[level]) ?? 0;
    const restored = advances.get(PIN_RESTORED_INDEX[level]) ?? 0;
    const value = restored > 0 ? base.maxRetries - (spent - restored) : base.retriesLeft[level] - spent;
    if (restored > spent || value < 0 || value > base.maxRetries) corrupt(`the ${level} retry counter is out of range`);
    return value;
  };
  return { ...base, counters, retriesLeft: { user: left('user'), admin: left('admin') } };
}

/** One journal advance: counter `index` moves forward by `delta`. */
export interface JournalMove {
  readonly index: number;
  readonly delta: number;
}

/**
 * The single journal advance that takes the state of `base` + `advances` to `next`, or undefined
 * when `next` differs otherwise (another field, a new or removed counter, a counter going back,
 * more than one change, tries changed in a way that is neither one spent try nor a restore after
 * spent tries): `next` must then be saved as a new base.
 */
export function journalMove(
  base: DeviceState,
  advances: ReadonlyMap<number, number>,
  next: DeviceState,
): JournalMove | undefined {
  const current = foldJournal(base, advances);
  if (next.counters.size !== current.counters.size) return undefined;
  const moves: JournalMove[] = [];
  const names = counterNames(base);
  for (const [name, value] of next.counters) {
    const was = current.counters.get(name);
    if (was === undefined || value < was) return undefined;
    if (value > was) moves.push({ index: names.indexOf(name), delta: value - was });
  }
  for (const level of LEVELS) {
    const want = next.retriesLeft[level];
    const have = current.retriesLeft[level];
    if (want === have) continue;
    const spent = advances.get(PIN_SPENT_INDEX[level]) ?? 0;
    const restored = advances.get(PIN_RESTORED_INDEX[level]) ?? 0;
    if (want === have - 1) moves.push({ index: PIN_SPENT_INDEX[level], delta: 1 });
    else if (want === base.maxRetries && spent > restored)
      moves.push({ index: PIN_RESTORED_INDEX[level], delta: spent - restored });
    else return undefined;
  }
  if (moves.length !== 1 || !sameOtherFields(current, next)) return undefined;
  return moves[0];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/** Everything but the counters and tries left is unchanged (the fields of `encodeDeviceState`). */
function sameOtherFields(a: DeviceState, b: DeviceState): boolean {
  const pins = (x: DeviceState['pins']['user'], y: DeviceState['pins']['user']): boolean =>
    x === y || (x.iterations === y.iterations && sameBytes(x.salt, y.salt) && sameBytes(x.hash, y.hash));
  const attestation =
    a.attestation === b.attestation ||
    (a.attestation !== null &&
      b.attestation !== null &&
      sameBytes(a.attestation.rootOfTrust, b.attestation.rootOfTrust) &&
      sameBytes(a.attestation.certificate, b.attestation.certificate));
  return (
    a.serial === b.serial &&
    a.maxRetries === b.maxRetries &&
    pins(a.pins.user, b.pins.user) &&
    pins(a.pins.admin, b.pins.admin) &&
    sameBytes(a.identitySecret, b.identitySecret) &&
    attestation
  );
}

/** A device's state record as read from its area: the base, its journalled advances, and the two folded. */
export interface StateRecord {
  readonly base: DeviceState;
  readonly journal: Map<number, number>;
  readonly state: DeviceState;
}

/**
 * The state record `area` holds, as a boot adopts it (`DeviceCore`); undefined for a blank area (a
 * device never initialized). Reads only: the caller remounts the area first when flash may have
 * changed behind it.
 */
export function readStateRecord(area: RecordArea): StateRecord | undefined {
  const content = area.load();
  if (content === undefined) return undefined;
  const base = decodeDeviceState(content.payload);
  return { base, journal: new Map(content.advances), state: foldJournal(base, content.advances) };
}
