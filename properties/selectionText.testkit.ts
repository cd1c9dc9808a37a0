/**
 * The kms suite's selection-oracle property: the state it builds from a drawn structure (groups,
 * keys each activated at a time of their own, some then suspended, deactivated, compromised or
 * destroyed at that instant), and that case in words, for counterexamples a person reads:
 * `K2001 of G1: activated at +00:00:00.001, cryptoperiod to +00:00:00.002` rather than
 * `{"group":0,"activateAt":1,"cryptoperiod":1,"later":"none"}`. Display only: a counterexample is
 * replayed by its seed and path, never parsed from this text. Test support only.
 * @module
 */
import { EMPTY_KMS, applyOperation, keyStateOf } from '../model/kms.ts';
import type { KeyEventType } from '../model/keyLifecycle.ts';
import type { KmsOperation, KmsState } from '../model/kms.ts';
import { USER_IDS } from './kmsArbitraries.ts';
import { durationText, offsetText } from './operationText.testkit.ts';

/** What the property draws after a key's activation, at that same instant (or no activation at all). */
export type LaterEvent = Extract<KeyEventType, 'SUSPEND' | 'DEACTIVATE' | 'COMPROMISE' | 'DESTROY'>;

/** One drawn case: groups by their members, keys by their group's index, and the query. */
export interface SelectionCase {
  readonly groups: readonly (readonly string[])[];
  readonly keys: readonly {
    readonly group: number;
    readonly activateAt: number;
    readonly cryptoperiod: number;
    readonly later: LaterEvent | 'none' | 'never-activated';
  }[];
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly now: number;
}

/** The cryptoperiod every group gives its keys (each key draws one of its own, at most this). */
export const GROUP_CRYPTOPERIOD_MS = 100;
/** The name of every key a case draws: any other key is one the model made. */
const DRAWN_NAME = 'k';
/** Room for every key a case draws: no addKey is refused for want of it. */
const MAX_KEYS = 20;

/**
 * The state the property queries: every user of `USER_IDS`, then group `G<i+1>` for its `i`-th member list,
 * then its keys, each activated at its own time and then, at that instant, given its later event
 * (`DESTROY` after a `DEACTIVATE`, as the key life cycle has it).
 * The clock starts at 0: times are milliseconds from the start. `applied` counts the operations.
 */
export function buildSelectionState(c: SelectionCase): { readonly state: KmsState; readonly applied: number } {
  let state: KmsState = EMPTY_KMS;
  let applied = 0;
  const apply = (op: KmsOperation) => {
    applied += 1;
    const r = applyOperation(state, op);
    if (r.ok) state = r.state;
    return r;
  };
  for (const u of USER_IDS) apply({ type: 'addUser', userId: u, name: u, now: 0 });
  c.groups.forEach((members, i) => {
    apply({
      type: 'addGroup',
      groupId: `G${i + 1}`,
      name: `g${i}`,
      policy: { maxKeys: MAX_KEYS, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: GROUP_CRYPTOPERIOD_MS },
      now: 0,
    });
    for (const m of members) apply({ type: 'addMember', groupId: `G${i + 1}`, userId: m, now: 0 });
  });
  for (const k of c.keys) {
    const r = apply({
      type: 'addKey',
      groupId: `G${(k.group % c.groups.length) + 1}`,
      name: DRAWN_NAME,
      cryptoperiodMs: k.cryptoperiod,
      now: 0,
    });
    if (!r.ok || r.keyId === undefined || k.later === 'never-activated') continue;
    // Bypass the sweep by applying events at activation time; `now` of the query decides usability.
    apply({ type: 'keyEvent', keyId: r.keyId, event: { type: 'ACTIVATE', now: k.activateAt } });
    // An active data key is destroyed once out of use (T8, then T13): DESTROY alone would be refused,
    // and the key left active, so that no case had a destroyed key in it.
    if (k.later === 'DESTROY')
      apply({ type: 'keyEvent', keyId: r.keyId, event: { type: 'DEACTIVATE', now: k.activateAt } });
    if (k.later !== 'none') apply({ type: 'keyEvent', keyId: r.keyId, event: { type: k.later, now: k.activateAt } });
  }
  return { state, applied };
}

/**
 * A case in words: each group with its members, each key with its group, the time it was activated
 * and the end of its cryptoperiod (from the start, to the millisecond: which key a selection prefers
 * turns on them), and the state it was left in; then the query, at its time. Read from the state the
 * property built, so that a key the model refused to activate reads as never activated.
 */
export function selectionText(c: SelectionCase): string {
  const { state } = buildSelectionState(c);
  const at = (ms: number) => offsetText(ms, 0);
  const groups = Object.values(state.groups).map(
    (g) => `${g.id} with ${g.members.length === 0 ? 'no member' : g.members.join(', ')}`,
  );
  const keys = Object.values(state.keys).map((k) => {
    const { activatedAt, expiresAt, cryptoperiodMs } = k.lifecycle.context;
    const was = keyStateOf(k);
    // Not every key was drawn: the model adds one of its own (a compromised active key's replacement).
    const whose = k.name === DRAWN_NAME ? '' : `, the model's own (${JSON.stringify(k.name)})`;
    if (activatedAt === null) return `  ${k.id} of ${k.owner}${whose}: never activated (${was})`;
    const period = `activated at ${at(activatedAt)} for ${durationText(cryptoperiodMs)}, to ${at(expiresAt ?? 0)}`;
    return `  ${k.id} of ${k.owner}${whose}: ${period}${was === 'active' ? '' : `, then ${was} at once`}`;
  });
  const to = c.recipients.length === 0 ? 'no other recipient' : c.recipients.join(', ');
  return [
    `groups (each: keys for ${durationText(GROUP_CRYPTOPERIOD_MS)} at most): ${groups.join('; ')}`,
    keys.length === 0 ? 'no key' : `keys, times from the start:\n${keys.join('\n')}`,
    `then at ${at(c.now)}, ${c.sender} selects a key for ${to}`,
  ].join('\n');
}
