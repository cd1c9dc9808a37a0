/**
 * Saving a machine's snapshot as text and restoring it with the machine: the one way SEkey persists
 * the state of its machines (key life cycles in the key rows and in update files, update processing
 * on a user device, publication per user on the admin device).
 *
 * What is saved is the state value and the context, nothing else: no timers, no spawned actors, no
 * history. That is why time is an input of every machine (an `EXPIRE` or `TICK` event carries `now`)
 * and never an xstate `after` delay, which a snapshot restored from value and context would lose
 * (README, "The rules, in one place": time is an event input). Restoring goes through
 * `machine.resolveState` (xstate v5), after checking that the value names states the machine
 * declares: a row written by another version of a machine, or tampered with, is refused with a
 * {@link PersistedSnapshotError} rather than resolved into a state nobody designed.
 *
 * The text is `JSON.stringify({ value, context })`, in that order, so it is byte-for-byte what earlier
 * versions wrote (key life cycles travel in update files, whose hashes must not move).
 * @module
 */
import type { AnyStateMachine, ContextFrom, SnapshotFrom, StateValue } from 'xstate';
import { CodedError } from './codedError.ts';

/** Why a persisted snapshot was refused. */
export const PERSISTED_SNAPSHOT_ERROR_CODES = [
  /**
   * Saved machine state that is not JSON of the form `{ value, context }`.
   * @remedy The replica's database is damaged or was written by another program: resync the user
   * (`sekey admin resync U`) or restore the database from a backup.
   */
  'MalformedSnapshot',
  /**
   * Saved machine state naming a state the machine does not have (written by another version).
   * @remedy Run the SEkey version that wrote it, or resync the user (`sekey admin resync U`).
   */
  'UnknownState',
] as const;
/** A {@link PersistedSnapshotError} code. */
export type PersistedSnapshotErrorCode = (typeof PERSISTED_SNAPSHOT_ERROR_CODES)[number];

/** A persisted snapshot that cannot be restored. */
export class PersistedSnapshotError extends CodedError<PersistedSnapshotErrorCode> {
  constructor(code: PersistedSnapshotErrorCode, message: string) {
    super('PersistedSnapshotError', code, message);
  }
}

/** The part of a snapshot that is persisted. */
export interface Persisted {
  readonly value: StateValue;
  readonly context: Record<string, unknown>;
}

/** A snapshot as text: its state value and context. Restore it with {@link restoreSnapshot}. */
export function persistSnapshot(snapshot: { readonly value: StateValue; readonly context: unknown }): string {
  return JSON.stringify({ value: snapshot.value, context: snapshot.context });
}

/** A state node as far as validation needs it. */
interface StateNodeLike {
  readonly states: Readonly<Record<string, StateNodeLike>>;
}

/** Where `value` leaves the states declared under `node`, or null when every part is declared. */
function undeclaredPart(node: StateNodeLike, value: unknown, path: string): string | null {
  if (typeof value === 'string') {
    return Object.hasOwn(node.states, value) ? null : `${path}${value}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
    return `${path}${JSON.stringify(value)}`;
  }
  for (const [key, child] of Object.entries(value)) {
    const childNode = Object.hasOwn(node.states, key) ? node.states[key] : undefined;
    if (childNode === undefined) return `${path}${key}`;
    const bad = undeclaredPart(childNode, child, `${path}${key}.`);
    if (bad !== null) return bad;
  }
  return null;
}

function parse(machineId: string, text: string): Persisted {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PersistedSnapshotError(
      'MalformedSnapshot',
      `${machineId}: persisted snapshot is not JSON (${String(error)})`,
    );
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(parsed) || !('value' in parsed) || !isObject(parsed.context)) {
    throw new PersistedSnapshotError('MalformedSnapshot', `${machineId}: persisted snapshot is not { value, context }`);
  }
  return parsed as unknown as Persisted;
}

/**
 * Restores a snapshot saved by {@link persistSnapshot} with `machine`. The state value must name states
 * `machine` declares, or the snapshot is refused (`UnknownState`); text that is not a persisted
 * snapshot is refused too (`MalformedSnapshot`). `context` overrides persisted context fields that
 * are configuration rather than state (a threshold read from the installation, say).
 */
export function restoreSnapshot<TMachine extends AnyStateMachine>(
  machine: TMachine,
  text: string,
  context: Partial<ContextFrom<TMachine>> = {},
): SnapshotFrom<TMachine> {
  return restorePersisted(machine, parse(machine.id, text), context);
}

/**
 * Restores a snapshot from its persisted parts already in hand (as {@link restoreSnapshot} would
 * restore `JSON.stringify({ value, context })`, without writing and parsing the text): a reader that
 * holds the value and context in columns builds them directly. The same check of the state value.
 * The caller passes JSON values (what parsing the text would give).
 */
export function restorePersisted<TMachine extends AnyStateMachine>(
  machine: TMachine,
  persisted: Persisted,
  context: Partial<ContextFrom<TMachine>> = {},
): SnapshotFrom<TMachine> {
  const bad = undeclaredPart(machine.root as StateNodeLike, persisted.value, '');
  if (bad !== null) {
    const known = Object.keys((machine.root as StateNodeLike).states).join(', ');
    throw new PersistedSnapshotError(
      'UnknownState',
      `${machine.id}: persisted state ${bad} is not a state of the machine (it has ${known})`,
    );
  }
  return machine.resolveState({
    value: persisted.value,
    context: { ...persisted.context, ...context },
  }) as SnapshotFrom<TMachine>;
}
