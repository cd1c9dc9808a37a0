/**
 * KMS operations in words, for counterexamples a person reads: `5. +00:23:52.030  K2002 ACTIVATE`
 * rather than `{"type":"keyEvent","keyId":"K2002","event":{"type":"ACTIVATE","now":1767228232030}}`.
 * Times are offsets from the run's start, to the millisecond: whether two operations share an
 * instant, or one falls exactly at the end of a cryptoperiod, is often the whole counterexample.
 * Display only: a counterexample is replayed by its seed and path, never parsed from this text.
 * Test support only.
 * @module
 */
import { count } from '../impl/simulation/chartScale.ts';
import { applyOperation, operationTime } from '../model/kms.ts';
import type { KmsOperation, KmsResult } from '../model/kms.ts';
import { compareIds, keyStateOf } from '../model/kmsState.ts';
import type { GroupPolicy, KeyRecord, KmsState } from '../model/kmsState.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration in the largest units that write it exactly: `1d`, `1h30m`, `90ms`, `2d0h0m0.5s`, `45.25s`. */
export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return '0s';
  const units: Array<[string, number]> = [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
  ];
  let left = ms;
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
  }
  if (parts.length === 0 && left < SECOND) return `${left}ms`;
  if (left > 0) parts.push(`${left / SECOND}s`);
  // Trailing zero units say nothing: 1d0h0m is 1d.
  while (parts.length > 1 && /^0[dhm]$/.test(parts.at(-1) as string)) parts.pop();
  return parts.join('');
}

/** `now` as an offset from `start`: `+00:00:00.000`, with days when there are any (`+2d 01:00:00.000`). */
export function offsetText(now: number, start: number): string {
  const ms = now - start;
  const sign = ms < 0 ? '-' : '+';
  let left = Math.abs(ms);
  const days = Math.floor(left / DAY);
  left -= days * DAY;
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(left / HOUR);
  const m = Math.floor((left % HOUR) / MINUTE);
  const s = Math.floor((left % MINUTE) / SECOND);
  const clock = `${two(h)}:${two(m)}:${two(s)}.${String(left % SECOND).padStart(3, '0')}`;
  return `${sign}${days > 0 ? `${days}d ` : ''}${clock}`;
}

function policyText(p: GroupPolicy): string {
  return `at most ${count(p.maxKeys, 'key')}, ${p.algorithm}, keys for ${durationText(p.defaultCryptoperiodMs)}`;
}

/** One operation in words, without its time. */
export function operationText(op: KmsOperation): string {
  switch (op.type) {
    case 'addUser':
      return `addUser ${op.userId} ${JSON.stringify(op.name)}`;
    case 'deleteUser':
      return `deleteUser ${op.userId}`;
    case 'renameUser':
      return `renameUser ${op.userId} to ${JSON.stringify(op.name)}`;
    case 'addGroup':
      return (
        `addGroup ${op.groupId} ${JSON.stringify(op.name)} (${policyText(op.policy)}` +
        `${op.shareHistory === true ? ', history shared' : ''})`
      );
    case 'deleteGroup':
      return `deleteGroup ${op.groupId}`;
    case 'renameGroup':
      return `renameGroup ${op.groupId} to ${JSON.stringify(op.name)}`;
    case 'changePolicy':
      return `changePolicy ${op.groupId} (${policyText(op.policy)})`;
    case 'addMember':
      return `addMember ${op.userId} to ${op.groupId}`;
    case 'removeMember':
      return `removeMember ${op.userId} from ${op.groupId}`;
    case 'addKey':
      return (
        `addKey to ${op.groupId} ${JSON.stringify(op.name)}` +
        (op.cryptoperiodMs === undefined ? '' : ` for ${durationText(op.cryptoperiodMs)}`)
      );
    case 'keyEvent':
      return `${op.keyId} ${op.event.type}`;
    case 'renameKey':
      return `renameKey ${op.keyId} to ${JSON.stringify(op.name)}`;
    case 'expireKeys':
      return 'expireKeys';
  }
}

/** One operation with its time: `+00:23:52.030  K2002 ACTIVATE`. */
export function timedOperationText(op: KmsOperation, start: number): string {
  return `${offsetText(operationTime(op), start)}  ${operationText(op)}`;
}

/**
 * What the model did to keys beyond what the operation names, as a line's words end with it: the keys
 * it added itself (a leaver's or a compromised key's replacement) and the keys whose state it changed
 * (retired with a leaver, expired at the operation's time), in ID order: `  (the model: K2000 now
 * deactivated; new K2001 active until +1d 00:00:00.000)`; nothing when it changed none. Keys that came
 * to the same state are said together, at the place of the first (`K2000, K2001 now compromised`): a
 * lost HSM's keys, or a leaver's, are often many. The `own` keys (an `addKey`'s, a key event's) are left
 * out: the line says them. Without it, a counterexample could end on a key no line had brought into
 * being: the KMS suites' lines and the deployment suite's steps (`deployment/commands.testkit.ts`) alike.
 */
export function modelChangedText(before: KmsState, after: KmsState, own: readonly string[], start: number): string {
  // Keys by what is said of them (`now deactivated`, `new active until …`), in the order of their first key.
  const said = new Map<string, string[]>();
  for (const k of Object.values(after.keys).sort((a, b) => compareIds(a.id, b.id))) {
    if (own.includes(k.id)) continue;
    const was = before.keys[k.id];
    if (was !== undefined && keyStateOf(was) === keyStateOf(k)) continue;
    const how = `${was === undefined ? 'new' : 'now'} ${keyText(k, start).slice(k.id.length + 1)}`;
    said.set(how, [...(said.get(how) ?? []), k.id]);
  }
  const parts = [...said].map(([how, ids]) =>
    how.startsWith('new ') ? `new ${ids.join(', ')} ${how.slice(4)}` : `${ids.join(', ')} ${how}`,
  );
  return parts.length === 0 ? '' : `  (the model: ${parts.join('; ')})`;
}

/** What the model answered an operation, as a line says it: the key an `addKey` made (` → K2001`), or the refusal. */
export function resultText(op: KmsOperation, result: KmsResult): string {
  if (!result.ok) return `  (refused: ${result.error.code})`;
  return op.type === 'addKey' && result.keyId !== undefined ? ` → ${result.keyId}` : '';
}

/**
 * A sequence, one numbered line each (from 1, as the suites number operations in their messages).
 * With the state it starts `from`, each line also says what the model made of it: the ID of a key
 * added (`→ K2001`), or the refusal (`refused: IllegalTransition`), and the keys the model added or
 * changed on its own (`(the model: K2000 now deactivated; new K2001 active until …)`), so that a
 * reader need not run it.
 *
 * With `failedAt`, the index of the operation at which the run failed ({@link FailedOperations}), the
 * lines stop there and the rest is one line, `… 46 more operations, not run`: nothing after it reached
 * the implementation, and the model's words for those steps would tell a reader of things that never happened.
 */
export function sequenceText(ops: readonly KmsOperation[], start: number, from?: KmsState, failedAt?: number): string {
  if (ops.length === 0) return '(no operation)';
  const width = String(ops.length).length;
  const ran = failedAt === undefined || failedAt < 0 ? ops : ops.slice(0, failedAt + 1);
  const notRun = ops.length - ran.length;
  let state = from;
  const lines = ran
    .map((op, i) => {
      let outcome = '';
      if (state !== undefined) {
        // The model may be what failed: a counterexample of a model that throws must still be told,
        // not turned into a crash of the reporter (the seed and path lost). Nothing is said after it.
        let result: ReturnType<typeof applyOperation>;
        try {
          result = applyOperation(state, op);
        } catch (error) {
          state = undefined;
          return `${String(i + 1).padStart(width)}. ${timedOperationText(op, start)}  (the model threw: ${error})`;
        }
        outcome = resultText(op, result);
        if (result.ok) {
          const own = op.type === 'keyEvent' ? op.keyId : result.keyId;
          outcome += modelChangedText(state, result.state, own === undefined ? [] : [own], start);
          state = result.state;
        }
      }
      return `${String(i + 1).padStart(width)}. ${timedOperationText(op, start)}${outcome}`;
    })
    .join('\n');
  return notRun === 0 ? lines : `${lines}\n… ${count(notRun, 'more operation')}, not run`;
}

/**
 * The operation at which each failed run stopped (its index in the sequence), kept by the sequence
 * itself: fast-check reports as its counterexample the very values the failing run was given (found,
 * shrunk, or cut short by a stop or a deadline), so the counterexample's text can look it up
 * ({@link sequenceText}'s `failedAt`).
 */
export class FailedOperations {
  readonly #at = new WeakMap<readonly unknown[], number>();

  /** The run of `ops` is at `ops[index]`: if it fails now, it fails there, and no later operation was applied. */
  reached(ops: readonly unknown[], index: number): void {
    this.#at.set(ops, index);
  }

  /** The run of `ops` applied them all: what fails after this (a check at the end) names no operation. */
  ranAll(ops: readonly unknown[]): void {
    this.#at.delete(ops);
  }

  /** The index of the operation the last run of `ops` failed at; undefined when it applied them all. */
  at(ops: readonly unknown[]): number | undefined {
    return this.#at.get(ops);
  }
}

/**
 * A key and its state, with the end of its cryptoperiod while active or suspended (an offset from
 * `start`): `K2001 active until +1d 00:00:00.000`, `K2000 deactivated`.
 */
function keyText(k: KeyRecord, start: number): string {
  // `expiresAt` stays set after the key leaves `active`: "deactivated until" would be false, and
  // a suspended key is not suspended until then (its cryptoperiod ends then, resumed or not).
  const end = k.lifecycle.context.expiresAt;
  const state = keyStateOf(k);
  if (end === null || (state !== 'active' && state !== 'suspended')) return `${k.id} ${state}`;
  const at = offsetText(end, start);
  return state === 'active' ? `${k.id} active until ${at}` : `${k.id} suspended, cryptoperiod ending ${at}`;
}

/**
 * The state a sequence starts from, in one line: its users, and each group with its policy, members
 * and keys, each key's state and, while active or suspended, the end of its cryptoperiod as an offset from `start`
 * (`users U1, U2; G1 "all" (at most 3 keys, AES-256-GCM, keys for 1d) with U1, U2, keys K2000 active
 * until +1d 00:00:00.000`). What a reader of a counterexample that starts after a fixed bootstrap
 * needs to follow it: which key a selection prefers turns on those ends.
 */
export function stateText(state: KmsState, start: number): string {
  const users = Object.keys(state.users).sort(compareIds);
  const groups = Object.values(state.groups)
    .sort((a, b) => compareIds(a.id, b.id))
    .map((g) => {
      const keys = Object.values(state.keys)
        .filter((k) => k.owner === g.id)
        .sort((a, b) => compareIds(a.id, b.id))
        .map((k) => keyText(k, start));
      const members = g.members.length === 0 ? 'no member' : `with ${g.members.join(', ')}`;
      const held = keys.length === 0 ? 'no key' : `keys ${keys.join(', ')}`;
      return `${g.id} ${JSON.stringify(g.name)} (${policyText(g.policy)}) ${members}, ${held}`;
    });
  return [`users ${users.length === 0 ? 'none' : users.join(', ')}`, ...groups].join('; ');
}
