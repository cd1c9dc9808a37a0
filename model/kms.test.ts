import { describe, expect, test } from 'vitest';
import {
  EMPTY_KMS,
  DATE_LIMIT_MS,
  MAX_CRYPTOPERIOD_MS,
  MAX_TIME,
  KmsError,
  affectedUsers,
  applyOperation,
  expireKeys,
  keyStateOf,
  projectUser,
  selectKey,
  sortIds,
  compareIds,
  compareKeyPreference,
} from './kms.ts';
import type { GroupPolicy, KeyRecord, KmsOperation, KmsState } from './kms.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const policy: GroupPolicy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY };

function apply(state: KmsState, ...ops: KmsOperation[]): KmsState {
  for (const op of ops) {
    const r = applyOperation(state, op);
    if (!r.ok) throw r.error;
    state = r.state;
  }
  return state;
}
function refuse(state: KmsState, op: KmsOperation): KmsError {
  const r = applyOperation(state, op);
  if (r.ok) throw new Error(`${op.type} was accepted`);
  return r.error;
}
function addKey(state: KmsState, groupId: string, now: number, cryptoperiodMs?: number): [KmsState, string] {
  const op: KmsOperation =
    cryptoperiodMs === undefined
      ? { type: 'addKey', groupId, name: 'k', now }
      : { type: 'addKey', groupId, name: 'k', now, cryptoperiodMs };
  const r = applyOperation(state, op);
  if (!r.ok || r.keyId === undefined) throw new Error('addKey refused');
  return [r.state, r.keyId];
}
const activate = (keyId: string, now: number): KmsOperation => ({
  type: 'keyEvent',
  keyId,
  event: { type: 'ACTIVATE', now },
});
const key = (s: KmsState, id: string) => s.keys[id] as KeyRecord;

/** U1..U4; G1 = {U1, U2, U3}, G2 = {U1, U2}. */
function world(): KmsState {
  return apply(
    EMPTY_KMS,
    ...['U1', 'U2', 'U3', 'U4'].map((userId): KmsOperation => ({ type: 'addUser', userId, name: userId, now: T0 })),
    { type: 'addGroup', groupId: 'G1', name: 'all', policy, now: T0 },
    { type: 'addGroup', groupId: 'G2', name: 'pair', policy, now: T0 },
    ...['U1', 'U2', 'U3'].map((userId): KmsOperation => ({ type: 'addMember', groupId: 'G1', userId, now: T0 })),
    ...['U1', 'U2'].map((userId): KmsOperation => ({ type: 'addMember', groupId: 'G2', userId, now: T0 })),
  );
}

describe('users and groups', () => {
  test('validates IDs, names and policies with typed errors', () => {
    expect(refuse(EMPTY_KMS, { type: 'addUser', userId: 'bob', name: 'b', now: T0 }).code).toBe('InvalidId');
    expect(refuse(EMPTY_KMS, { type: 'addUser', userId: 'U012', name: 'b', now: T0 }).code).toBe('InvalidId');
    expect(refuse(EMPTY_KMS, { type: 'addUser', userId: 'U1', name: '', now: T0 }).code).toBe('InvalidName');
    // Blank is no name either (a CLI review: a name of spaces listed as an empty column); inner and
    // outer spaces around something visible are kept as given.
    for (const blank of [
      ' ',
      '\t\n',
      '\u00a0',
      '\u200b',
      '\u3164',
      '\u2800 \u115f\u1160\uffa0',
      '\u202e',
      '\ufe0f\u034f',
    ])
      expect(refuse(EMPTY_KMS, { type: 'addUser', userId: 'U1', name: blank, now: T0 })).toMatchObject({
        code: 'InvalidName',
        message: 'a name must not be blank (white space or invisible characters alone)',
      });
    expect(apply(EMPTY_KMS, { type: 'addUser', userId: 'U1', name: ' a b ', now: T0 }).users['U1']?.name).toBe(' a b ');
    // A visible character with them is a name; so is a prepended mark that shows a glyph (۝).
    for (const name of ['\u06dd', '\u{1f468}\u200d\u{1f469}'])
      expect(apply(EMPTY_KMS, { type: 'addUser', userId: 'U1', name, now: T0 }).users['U1']?.name).toBe(name);
    expect(apply(EMPTY_KMS, { type: 'addUser', userId: 'U1', name: '\u200bx', now: T0 }).users['U1']?.name).toBe(
      '\u200bx',
    );
    expect(refuse(EMPTY_KMS, { type: 'addGroup', groupId: 'X1', name: 'g', policy, now: T0 }).message).toContain(
      "'X1' must be G",
    );
    expect(refuse(EMPTY_KMS, { type: 'addUser', userId: 'U1', name: 'x'.repeat(101), now: T0 }).code).toBe(
      'InvalidName',
    );
    expect(refuse(world(), { type: 'addUser', userId: 'U1', name: 'again', now: T0 }).code).toBe('DuplicateUser');
    // The bounds themselves are valid: a name of exactly 100 characters, a policy of one key and 1 ms.
    const longest = apply(EMPTY_KMS, { type: 'addUser', userId: 'U1', name: 'x'.repeat(100), now: T0 });
    expect(longest.users['U1']?.name).toHaveLength(100);
    const smallest: GroupPolicy = { maxKeys: 1, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 1 };
    expect(
      apply(EMPTY_KMS, { type: 'addGroup', groupId: 'G1', name: 'g', policy: smallest, now: T0 }).groups['G1']?.policy,
    ).toEqual(smallest);
    for (const bad of [
      { ...policy, maxKeys: 0 },
      { ...policy, defaultCryptoperiodMs: 0 },
      { ...policy, algorithm: 'DES' },
    ]) {
      expect(
        refuse(EMPTY_KMS, { type: 'addGroup', groupId: 'G1', name: 'g', policy: bad as GroupPolicy, now: T0 }).code,
      ).toBe('InvalidPolicy');
    }
    expect(refuse(world(), { type: 'addMember', groupId: 'G1', userId: 'U1', now: T0 }).code).toBe('AlreadyMember');
    expect(refuse(world(), { type: 'removeMember', groupId: 'G2', userId: 'U3', now: T0 }).code).toBe('NotMember');
    expect(refuse(world(), { type: 'addMember', groupId: 'G9', userId: 'U1', now: T0 }).code).toBe('UnknownGroup');
    expect(refuse(world(), { type: 'addMember', groupId: 'G1', userId: 'U9', now: T0 }).code).toBe('UnknownUser');
    expect(refuse(world(), { type: 'renameKey', keyId: 'K1', name: 'x', now: T0 }).code).toBe('UnknownKey');
    expect(
      refuse(world(), { type: 'changePolicy', groupId: 'G1', policy: { ...policy, maxKeys: 0 }, now: T0 }).code,
    ).toBe('InvalidPolicy');
    expect(refuse(world(), { type: 'changePolicy', groupId: 'G9', policy, now: T0 }).code).toBe('UnknownGroup');
  });

  test("names are any text, ';' included (the original's B7 blocked users for good)", () => {
    const s = apply(world(), { type: 'renameUser', userId: 'U1', name: "a; DROP TABLE Users;--'", now: T0 });
    expect(s.users['U1']?.name).toBe("a; DROP TABLE Users;--'");
  });

  test('a deleted group ID is never reused, since its keys still name it', () => {
    const s = apply(world(), { type: 'deleteGroup', groupId: 'G2', now: T0 });
    expect(refuse(s, { type: 'addGroup', groupId: 'G2', name: 'new', policy, now: T0 }).code).toBe('DuplicateGroup');
  });
});

describe('keys', () => {
  test('B1: deleting a group deactivates its active and suspended keys and destroys pre-active ones', () => {
    let s = world();
    let a: string, b: string, c: string;
    [s, a] = addKey(s, 'G2', T0);
    [s, b] = addKey(s, 'G2', T0);
    [s, c] = addKey(s, 'G2', T0);
    s = apply(s, activate(a, T0), activate(b, T0), {
      type: 'keyEvent',
      keyId: b,
      event: { type: 'SUSPEND', now: T0 + 1 },
    });
    s = apply(s, { type: 'deleteGroup', groupId: 'G2', now: T0 + 5 });
    expect([a, b, c].map((id) => keyStateOf(key(s, id)))).toEqual(['deactivated', 'deactivated', 'destroyed']);
    expect(key(s, a).lifecycle.context.deactivatedAt).toBe(T0 + 5);
    expect([a, b, c].every((id) => key(s, id).holders.length === 0)).toBe(true);
  });

  test('B2/B3: every transition is stamped with its own real time; expiry at the end of the cryptoperiod', () => {
    let s = world();
    let a: string, b: string;
    [s, a] = addKey(s, 'G1', T0, DAY);
    [s, b] = addKey(s, 'G1', T0, 2 * DAY);
    s = apply(s, activate(a, T0), activate(b, T0 + 10));
    s = expireKeys(s, T0 + 10 * DAY);
    expect(key(s, a).lifecycle.context.deactivatedAt).toBe(T0 + DAY);
    expect(key(s, b).lifecycle.context.deactivatedAt).toBe(T0 + 10 + 2 * DAY);
    let c: string;
    [s, c] = addKey(s, 'G1', T0 + 10 * DAY, DAY);
    s = apply(s, activate(c, T0 + 10 * DAY), {
      type: 'keyEvent',
      keyId: c,
      event: { type: 'DEACTIVATE', now: T0 + 10 * DAY + 7 },
    });
    expect(key(s, c).lifecycle.context.deactivatedAt).toBe(T0 + 10 * DAY + 7);
  });

  test('B4: maxKeys is enforced on add and counts only keys that can still protect', () => {
    let s = world();
    let a = '';
    for (let i = 0; i < 3; i++) [s, a] = addKey(s, 'G1', T0);
    expect(refuse(s, { type: 'addKey', groupId: 'G1', name: 'x', now: T0 }).code).toBe('MaxKeysReached');
    s = apply(s, { type: 'keyEvent', keyId: a, event: { type: 'DESTROY', now: T0 } });
    expect(addKey(s, 'G1', T0)[1]).toBe('K2003');
    expect(refuse(s, { type: 'changePolicy', groupId: 'G1', policy: { ...policy, maxKeys: 1 }, now: T0 }).code).toBe(
      'PolicyConflict',
    );
  });

  test('a cryptoperiod is at most the group default, and a policy cannot shorten it under live keys', () => {
    expect(refuse(world(), { type: 'addKey', groupId: 'G1', name: 'k', now: T0, cryptoperiodMs: 31 * DAY }).code).toBe(
      'CryptoperiodTooLong',
    );
    expect(refuse(world(), { type: 'addKey', groupId: 'G1', name: 'k', now: T0, cryptoperiodMs: 0 }).code).toBe(
      'InvalidCryptoperiod',
    );
    // One millisecond is the shortest valid cryptoperiod.
    const [shortest, id] = addKey(world(), 'G1', T0, 1);
    expect(key(shortest, id).lifecycle.context.cryptoperiodMs).toBe(1);
    const [s] = addKey(world(), 'G1', T0);
    expect(
      refuse(s, { type: 'changePolicy', groupId: 'G1', policy: { ...policy, defaultCryptoperiodMs: DAY }, now: T0 })
        .code,
    ).toBe('PolicyConflict');
    expect(key(s, 'K2000').lifecycle.context.cryptoperiodMs).toBe(30 * DAY);
  });

  test('illegal life-cycle steps are refused with IllegalTransition and change nothing', () => {
    const [s, a] = addKey(world(), 'G1', T0);
    const error = refuse(s, { type: 'keyEvent', keyId: a, event: { type: 'DEACTIVATE', now: T0 } });
    expect(error).toBeInstanceOf(KmsError);
    expect(error.code).toBe('IllegalTransition');
    expect(error.message).toContain('preActivation');
  });

  test('operations expire due keys before anything reads them', () => {
    let [s, a] = addKey(world(), 'G1', T0, DAY);
    s = apply(s, activate(a, T0), { type: 'renameUser', userId: 'U4', name: 'x', now: T0 });
    expect(keyStateOf(key(s, a))).toBe('active');
    s = apply(s, { type: 'addMember', groupId: 'G1', userId: 'U4', now: T0 + DAY });
    expect(keyStateOf(key(s, a))).toBe('deactivated');
    // …so the joining member does not receive it (backward secrecy).
    expect(key(s, a).holders).not.toContain('U4');
  });
});

describe('group key policy', () => {
  test('forward secrecy: a leaving member triggers retirement and an active replacement', () => {
    let s = world();
    let a: string, pre: string;
    [s, a] = addKey(s, 'G1', T0);
    [s, pre] = addKey(s, 'G1', T0);
    s = apply(s, activate(a, T0), { type: 'removeMember', groupId: 'G1', userId: 'U3', now: T0 + 1 });
    expect(keyStateOf(key(s, a))).toBe('deactivated');
    expect(keyStateOf(key(s, pre))).toBe('destroyed');
    const replacement = key(s, 'K2002');
    expect(keyStateOf(replacement)).toBe('active');
    expect(replacement.holders).toEqual(['U1', 'U2']);
    expect(key(s, a).holders).toEqual(['U1', 'U2']);
    const pick = selectKey(s, 'U1', ['U2'], T0 + 2);
    expect(pick.ok && pick.selection).toEqual({ keyId: 'K2002', groupId: 'G1' });
  });

  test('no replacement for a group that had no active key', () => {
    let [s] = addKey(world(), 'G1', T0);
    s = apply(s, { type: 'removeMember', groupId: 'G1', userId: 'U3', now: T0 + 1 });
    expect(Object.keys(s.keys)).toEqual(['K2000']);
  });

  test('deleting a user removes it from every group with the same rekey', () => {
    let [s, a] = addKey(world(), 'G2', T0);
    s = apply(s, activate(a, T0), { type: 'deleteUser', userId: 'U2', now: T0 + 1 });
    expect(s.users['U2']).toBeUndefined();
    expect(s.groups['G1']?.members).toEqual(['U1', 'U3']);
    expect(keyStateOf(key(s, a))).toBe('deactivated');
    expect(key(s, 'K2001').holders).toEqual(['U1']);
  });

  test('backward secrecy: a joiner gets usable keys only, or the history when the group shares it', () => {
    let s = world();
    let old: string, live: string, bad: string;
    [s, old] = addKey(s, 'G1', T0);
    [s, live] = addKey(s, 'G1', T0);
    [s, bad] = addKey(s, 'G1', T0);
    s = apply(
      s,
      activate(old, T0),
      { type: 'keyEvent', keyId: old, event: { type: 'DEACTIVATE', now: T0 + 1 } },
      activate(live, T0 + 1),
      { type: 'keyEvent', keyId: bad, event: { type: 'COMPROMISE', now: T0 + 1 } },
    );
    const joined = apply(s, { type: 'addMember', groupId: 'G1', userId: 'U4', now: T0 + 2 });
    // The join rekeys: the active key is retired for protection (earlier members keep reading with
    // it) and a fresh one, the only key the joiner receives, replaces it.
    const fresh = 'K2003';
    expect(projectUser(joined, 'U4')?.keys.map((k) => k.id)).toEqual([fresh]);
    expect(keyStateOf(key(joined, live))).toBe('deactivated');
    expect(key(joined, live).holders).toEqual(['U1', 'U2', 'U3']);
    expect(keyStateOf(key(joined, fresh))).toBe('active');
    expect(key(joined, fresh).holders).toEqual(['U1', 'U2', 'U3', 'U4']);
    const pick = selectKey(joined, 'U1', ['U4'], T0 + 3);
    expect(pick.ok && pick.selection).toEqual({ keyId: fresh, groupId: 'G1' });
    const sharing = apply(
      s,
      { type: 'addGroup', groupId: 'G3', name: 'h', policy, shareHistory: true, now: T0 },
      { type: 'addMember', groupId: 'G3', userId: 'U1', now: T0 },
    );
    let h: string;
    let t: KmsState;
    [t, h] = addKey(sharing, 'G3', T0);
    t = apply(t, activate(h, T0), { type: 'keyEvent', keyId: h, event: { type: 'DEACTIVATE', now: T0 + 1 } });
    t = apply(t, { type: 'addMember', groupId: 'G3', userId: 'U4', now: T0 + 2 });
    expect(key(t, h).holders).toEqual(['U1', 'U4']);
  });

  test(
    'backward secrecy: a pre-active key is shared with a joiner without a rekey, and a first member needs ' + 'none',
    () => {
      let s = world();
      let pre: string;
      [s, pre] = addKey(s, 'G1', T0);
      s = apply(s, { type: 'addMember', groupId: 'G1', userId: 'U4', now: T0 + 1 });
      expect(Object.keys(s.keys)).toEqual([pre]);
      expect(key(s, pre).holders).toEqual(['U1', 'U2', 'U3', 'U4']);
      let lonely: string;
      let t = apply(world(), { type: 'addGroup', groupId: 'G3', name: 'new', policy, now: T0 });
      [t, lonely] = addKey(t, 'G3', T0);
      t = apply(t, activate(lonely, T0), { type: 'addMember', groupId: 'G3', userId: 'U1', now: T0 + 1 });
      expect(keyStateOf(key(t, lonely))).toBe('active');
      expect(key(t, lonely).holders).toEqual(['U1']);
      t = apply(t, { type: 'keyEvent', keyId: lonely, event: { type: 'SUSPEND', now: T0 + 2 } });
      t = apply(t, { type: 'addMember', groupId: 'G3', userId: 'U2', now: T0 + 3 });
      expect(keyStateOf(key(t, lonely))).toBe('deactivated');
      expect(key(t, lonely).holders).toEqual(['U1']);
      expect(Object.values(t.keys).filter((k) => k.owner === 'G3').length).toBe(1);
    },
  );

  test('compromising an active key replaces it, leaving other keys alone', () => {
    let s = world();
    let a: string, b: string;
    [s, a] = addKey(s, 'G1', T0);
    [s, b] = addKey(s, 'G1', T0);
    s = apply(s, activate(a, T0), activate(b, T0), {
      type: 'keyEvent',
      keyId: a,
      event: { type: 'COMPROMISE', now: T0 + 3 },
    });
    expect(keyStateOf(key(s, a))).toBe('compromised');
    expect(keyStateOf(key(s, b))).toBe('active');
    expect(keyStateOf(key(s, 'K2002'))).toBe('active');
    expect(key(s, a).holders).toEqual(['U1', 'U2', 'U3']);
  });
});

describe('selection and projection', () => {
  test('smallest group first, then the newest key; typed errors otherwise', () => {
    let s = world();
    let g1: string, g2old: string, g2new: string;
    [s, g1] = addKey(s, 'G1', T0);
    [s, g2old] = addKey(s, 'G2', T0);
    [s, g2new] = addKey(s, 'G2', T0);
    s = apply(s, activate(g1, T0), activate(g2old, T0), activate(g2new, T0 + 5));
    const pick = (sender: string, to: string[]) => selectKey(s, sender, to, T0 + 10);
    expect(pick('U1', ['U2'])).toEqual({ ok: true, selection: { keyId: g2new, groupId: 'G2' } });
    expect(pick('U1', ['U3'])).toEqual({ ok: true, selection: { keyId: g1, groupId: 'G1' } });
    expect(pick('U1', [])).toEqual({ ok: true, selection: { keyId: g2new, groupId: 'G2' } });
    const code = (r: ReturnType<typeof selectKey>) => (r.ok ? 'ok' : r.error.code);
    expect(code(pick('U1', ['U4']))).toBe('UnknownUser');
    expect(code(pick('U9', []))).toBe('UnknownUser');
    expect(code(pick('U4', []))).toBe('NoCommonGroup');
    s = apply(
      s,
      { type: 'addGroup', groupId: 'G3', name: 'x', policy, now: T0 },
      { type: 'addMember', groupId: 'G3', userId: 'U4', now: T0 },
      { type: 'addMember', groupId: 'G3', userId: 'U3', now: T0 },
    );
    expect(code(selectKey(s, 'U3', ['U4'], T0))).toBe('NoUsableKey');
    expect(code(selectKey(s, 'U1', ['U2'], T0 + 31 * DAY))).toBe('NoUsableKey');
  });

  test('tie-break among keys of the same group: latest activation, then latest end, then highest number', () => {
    let s = world();
    let short: string, long: string, twinA: string, twinB: string;
    [s, short] = addKey(s, 'G2', T0, DAY);
    [s, long] = addKey(s, 'G2', T0, 2 * DAY);
    s = apply(s, activate(short, T0), activate(long, T0));
    const pick = () => {
      const r = selectKey(s, 'U1', ['U2'], T0 + 1);
      return r.ok ? r.selection.keyId : r.error.code;
    };
    expect(pick()).toBe(long); // same activation: the one whose cryptoperiod ends last
    [s, twinA] = addKey(s, 'G1', T0, DAY);
    [s, twinB] = addKey(s, 'G1', T0, DAY);
    s = apply(s, { type: 'removeMember', groupId: 'G2', userId: 'U1', now: T0 + 1 });
    s = apply(s, activate(twinA, T0 + 2), activate(twinB, T0 + 2), {
      type: 'keyEvent',
      keyId: 'K2004',
      event: { type: 'DEACTIVATE', now: T0 + 2 },
    });
    const r = selectKey(s, 'U1', ['U2'], T0 + 3);
    expect(r.ok && r.selection.keyId).toBe(twinB); // same activation and end: the highest number
    expect(compareKeyPreference(key(s, twinB), key(s, twinB))).toBe(0); // a key ties only with itself
  });

  test('a projection is the user, its groups, their members and the keys it holds', () => {
    let [s, a] = addKey(world(), 'G2', T0);
    s = apply(s, activate(a, T0));
    expect(projectUser(s, 'U3')).toMatchObject({
      groups: [{ id: 'G1' }],
      users: [{ id: 'U1' }, { id: 'U2' }, { id: 'U3' }],
      keys: [],
    });
    expect(projectUser(s, 'U1')?.keys.map((k) => [k.id, k.state])).toEqual([[a, 'active']]);
    expect(projectUser(s, 'U4')).toMatchObject({ groups: [], users: [{ id: 'U4' }], keys: [] });
    expect(projectUser(s, 'U9')).toBeNull();
  });

  test('affectedUsers names exactly the users whose devices must change', () => {
    const s = world();
    expect(affectedUsers(s, apply(s, { type: 'renameGroup', groupId: 'G2', name: 'renamed', now: T0 }))).toEqual([
      'U1',
      'U2',
    ]);
    expect(affectedUsers(s, apply(s, { type: 'renameUser', userId: 'U3', name: 'c', now: T0 }))).toEqual([
      'U1',
      'U2',
      'U3',
    ]);
    expect(affectedUsers(s, apply(s, { type: 'deleteUser', userId: 'U4', now: T0 }))).toEqual(['U4']);
    expect(affectedUsers(s, apply(s, { type: 'expireKeys', now: T0 }))).toEqual([]);
  });
});

describe('time', () => {
  test('the furthest times are taken, either way, and a key activated then ends its cryptoperiod at a date', () => {
    for (const now of [MAX_TIME, -MAX_TIME]) {
      expect(applyOperation(world(), { type: 'renameUser', userId: 'U1', name: 'x', now }).ok).toBe(true);
      expect(new Date(now).toISOString()).not.toBe('Invalid Date');
    }
    // The longest cryptoperiod from the last time an operation takes: still a Date (the reviewer's case
    // was a 30-day one at 8.64e15, which ended at no date).
    let s = world();
    s = apply(s, {
      type: 'addGroup',
      groupId: 'G9',
      name: 'long',
      policy: { maxKeys: 2, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: MAX_CRYPTOPERIOD_MS },
      now: MAX_TIME,
    });
    s = apply(s, { type: 'addKey', groupId: 'G9', name: 'k', now: MAX_TIME });
    const keyId = Object.keys(s.keys).at(-1) as string;
    s = apply(s, { type: 'keyEvent', keyId, event: { type: 'ACTIVATE', now: MAX_TIME } });
    const expiresAt = s.keys[keyId]?.lifecycle.context.expiresAt as number;
    expect(expiresAt).toBe(DATE_LIMIT_MS);
    expect(new Date(expiresAt).toISOString()).toBe('+275760-09-13T00:00:00.000Z');
  });

  test('an operation at a time that is not a finite number, or beyond what a Date holds, is refused', () => {
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY, -1e16, MAX_TIME + 1]) {
      expect(refuse(world(), { type: 'renameUser', userId: 'U1', name: 'x', now }).code).toBe('InvalidTime');
      expect(refuse(world(), { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now } }).code).toBe(
        'InvalidTime',
      );
    }
  });

  test('a default cryptoperiod is at most 100 years, so that an end of cryptoperiod stays a date', () => {
    // Any safe integer was a policy: a key activated in 2026 under Number.MAX_SAFE_INTEGER ms ended its
    // cryptoperiod at 9008966480340992, no safe integer (not activatedAt + cryptoperiodMs) and no Date.
    const longest: GroupPolicy = { ...policy, defaultCryptoperiodMs: MAX_CRYPTOPERIOD_MS };
    expect(MAX_CRYPTOPERIOD_MS).toBe(36_525 * DAY);
    let s = apply(world(), { type: 'changePolicy', groupId: 'G2', policy: longest, now: T0 });
    let k: string;
    [s, k] = addKey(s, 'G2', T0);
    s = apply(s, activate(k, T0));
    expect(new Date(key(s, k).lifecycle.context.expiresAt as number).toISOString()).toBe('2126-01-02T00:00:00.000Z');
    for (const defaultCryptoperiodMs of [MAX_CRYPTOPERIOD_MS + 1, Number.MAX_SAFE_INTEGER]) {
      const tooLong: GroupPolicy = { ...policy, defaultCryptoperiodMs };
      expect(refuse(world(), { type: 'addGroup', groupId: 'G3', name: 'g', policy: tooLong, now: T0 })).toMatchObject({
        code: 'InvalidPolicy',
        message: `defaultCryptoperiodMs must be a positive integer of at most 36525 days, got ${defaultCryptoperiodMs}`,
      });
      expect(refuse(world(), { type: 'changePolicy', groupId: 'G1', policy: tooLong, now: T0 }).code).toBe(
        'InvalidPolicy',
      );
    }
  });

  test('a key does not encrypt for a time before its activation', () => {
    let [s, a] = addKey(world(), 'G2', T0);
    s = apply(s, activate(a, T0 + 50));
    expect(selectKey(s, 'U1', ['U2'], T0 + 10).ok).toBe(false);
    expect(selectKey(s, 'U1', ['U2'], T0 + 50).ok).toBe(true);
  });
});

describe('IDs', () => {
  test('sort by number, then as text', () => {
    expect(sortIds(['U10', 'U9', 'U2'])).toEqual(['U2', 'U9', 'U10']);
    expect(compareIds('G1', 'U1')).toBeLessThan(0);
    expect(compareIds('U1', 'G1')).toBeGreaterThan(0);
    expect(compareIds('U1', 'U1')).toBe(0);
  });
});

describe('refusal messages', () => {
  // Programs branch on the code (model/codedError.ts); people read the message, which the CLI prints:
  // each must name what is wrong (the offending ID, name or value), without pinning whole sentences.
  const [withKeys] = addKey(addKey(world(), 'G1', T0)[0], 'G1', T0);
  const full = addKey(withKeys, 'G1', T0)[0];
  const cases: [string, KmsState, KmsOperation, string, RegExp][] = [
    [
      'bad user ID',
      EMPTY_KMS,
      { type: 'addUser', userId: 'bob', name: 'b', now: T0 },
      'InvalidId',
      /user ID 'bob' must be U followed/,
    ],
    [
      'bad group ID',
      EMPTY_KMS,
      { type: 'addGroup', groupId: 'X1', name: 'g', policy, now: T0 },
      'InvalidId',
      /group ID 'X1' must be G followed/,
    ],
    [
      // The rule of the pattern, said whole: 'U followed by a number' would let U0 and U01 through.
      'user ID U0: the whole rule, a number from 1',
      EMPTY_KMS,
      { type: 'addUser', userId: 'U0', name: 'b', now: T0 },
      'InvalidId',
      /^user ID 'U0' must be U followed by a number from 1, no leading zero \(at most 11 characters\)$/,
    ],
    [
      'group ID with a leading zero',
      EMPTY_KMS,
      { type: 'addGroup', groupId: 'G01', name: 'g', policy, now: T0 },
      'InvalidId',
      /^group ID 'G01' must be G followed by a number from 1, no leading zero/,
    ],
    [
      'empty name',
      EMPTY_KMS,
      { type: 'addUser', userId: 'U1', name: '', now: T0 },
      'InvalidName',
      /1 to 100 characters, got 0/,
    ],
    [
      'long name',
      EMPTY_KMS,
      { type: 'addUser', userId: 'U1', name: 'x'.repeat(101), now: T0 },
      'InvalidName',
      /got 101/,
    ],
    [
      'duplicate user',
      world(),
      { type: 'addUser', userId: 'U3', name: 'c', now: T0 },
      'DuplicateUser',
      /user U3 exists/,
    ],
    [
      'duplicate group',
      world(),
      { type: 'addGroup', groupId: 'G2', name: 'g', policy, now: T0 },
      'DuplicateGroup',
      /group G2 exists/,
    ],
    [
      'maxKeys',
      EMPTY_KMS,
      { type: 'addGroup', groupId: 'G1', name: 'g', policy: { ...policy, maxKeys: 0 }, now: T0 },
      'InvalidPolicy',
      /maxKeys must be a positive integer, got 0/,
    ],
    [
      'algorithm',
      EMPTY_KMS,
      {
        type: 'addGroup',
        groupId: 'G1',
        name: 'g',
        policy: { ...policy, algorithm: 'DES' as GroupPolicy['algorithm'] },
        now: T0,
      },
      'InvalidPolicy',
      /algorithm must be one of AES-256-GCM, got 'DES'/,
    ],
    [
      'default cryptoperiod',
      EMPTY_KMS,
      { type: 'addGroup', groupId: 'G1', name: 'g', policy: { ...policy, defaultCryptoperiodMs: -5 }, now: T0 },
      'InvalidPolicy',
      /defaultCryptoperiodMs must be a positive integer of at most 36525 days, got -5/,
    ],
    [
      'unknown group',
      world(),
      { type: 'addMember', groupId: 'G9', userId: 'U1', now: T0 },
      'UnknownGroup',
      /no group G9/,
    ],
    [
      'unknown user',
      world(),
      { type: 'removeMember', groupId: 'G1', userId: 'U9', now: T0 },
      'UnknownUser',
      /no user U9/,
    ],
    ['unknown key', world(), { type: 'renameKey', keyId: 'K7', name: 'x', now: T0 }, 'UnknownKey', /no key K7/],
    [
      'already a member',
      world(),
      { type: 'addMember', groupId: 'G1', userId: 'U2', now: T0 },
      'AlreadyMember',
      /U2 is already in G1/,
    ],
    [
      'not a member',
      world(),
      { type: 'removeMember', groupId: 'G2', userId: 'U3', now: T0 },
      'NotMember',
      /U3 is not in G2/,
    ],
    [
      'cryptoperiod',
      world(),
      { type: 'addKey', groupId: 'G1', name: 'k', now: T0, cryptoperiodMs: 0 },
      'InvalidCryptoperiod',
      /positive integer, got 0/,
    ],
    [
      'cryptoperiod too long',
      world(),
      { type: 'addKey', groupId: 'G2', name: 'k', now: T0, cryptoperiodMs: 31 * DAY },
      'CryptoperiodTooLong',
      /a cryptoperiod of 31 days exceeds group G2's 30 days/,
    ],
    [
      'maxKeys reached',
      full,
      { type: 'addKey', groupId: 'G1', name: 'k', now: T0 },
      'MaxKeysReached',
      /group G1 already has 3 of 3 keys/,
    ],
    [
      'too many live keys',
      withKeys,
      { type: 'changePolicy', groupId: 'G1', policy: { ...policy, maxKeys: 1 }, now: T0 },
      'PolicyConflict',
      /group G1 has 2 live keys, more than maxKeys 1/,
    ],
    [
      'live key too long',
      withKeys,
      { type: 'changePolicy', groupId: 'G1', policy: { ...policy, defaultCryptoperiodMs: DAY }, now: T0 },
      'PolicyConflict',
      /live key K2000 has a cryptoperiod of 30 days, longer than the new 1 day/,
    ],
    [
      'time',
      world(),
      { type: 'renameUser', userId: 'U1', name: 'x', now: Number.NaN },
      'InvalidTime',
      /finite number within ±8636844240000000 ms, got NaN/,
    ],
  ];
  test.each(cases)('%s', (_label, state, op, code, message) => {
    const error = refuse(state, op);
    expect(error).toBeInstanceOf(KmsError);
    expect(error.name).toBe('KmsError');
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  test('key selection names the sender, the recipients and the groups', () => {
    const s = apply(
      world(),
      { type: 'addGroup', groupId: 'G3', name: 'x', policy, now: T0 },
      { type: 'addMember', groupId: 'G3', userId: 'U1', now: T0 },
      { type: 'addMember', groupId: 'G3', userId: 'U4', now: T0 },
    );
    const message = (r: ReturnType<typeof selectKey>) => (r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`);
    expect(message(selectKey(s, 'U9', [], T0))).toMatch(/^UnknownUser: no user U9$/);
    expect(message(selectKey(s, 'U3', ['U4'], T0))).toMatch(/^UnknownUser: U3 shares no group with U4$/);
    expect(message(selectKey(s, 'U1', ['U3', 'U4'], T0))).toMatch(/^NoCommonGroup: no group contains U1 and U3, U4$/);
    expect(message(selectKey(s, 'U1', ['U2'], T0))).toMatch(/^NoUsableKey: no active key in G1, G2$/);
  });
});

describe('order', () => {
  /** U10 and G10 are created before U9 and G9: the records are not in ID order. */
  function outOfOrder(): KmsState {
    return apply(
      EMPTY_KMS,
      ...['U10', 'U9'].map((userId): KmsOperation => ({ type: 'addUser', userId, name: userId, now: T0 })),
      ...['G10', 'G9'].flatMap((groupId): KmsOperation[] => [
        { type: 'addGroup', groupId, name: groupId, policy, now: T0 },
        { type: 'addMember', groupId, userId: 'U10', now: T0 },
        { type: 'addMember', groupId, userId: 'U9', now: T0 },
      ]),
    );
  }
  /** The same state with every record listed in reverse: a KmsState is plain data, and one read back
   * from storage or built elsewhere need not list its records in ID order. */
  function reversed(s: KmsState): KmsState {
    const flip = <T>(r: Readonly<Record<string, T>>) => Object.fromEntries(Object.entries(r).reverse());
    return { ...s, users: flip(s.users), groups: flip(s.groups), keys: flip(s.keys) };
  }

  test('projections and affected users are sorted by ID number, whatever the order of the records', () => {
    let s = outOfOrder();
    let a: string, b: string;
    [s, a] = addKey(s, 'G9', T0);
    [s, b] = addKey(s, 'G9', T0);
    for (const t of [s, reversed(s)]) {
      const view = projectUser(t, 'U9');
      expect(view?.groups.map((g) => g.id)).toEqual(['G9', 'G10']);
      expect(view?.users.map((u) => u.id)).toEqual(['U9', 'U10']);
      expect(view?.keys.map((k) => k.id)).toEqual([a, b]);
      expect(affectedUsers(t, apply(t, { type: 'renameGroup', groupId: 'G10', name: 'x', now: T0 }))).toEqual([
        'U9',
        'U10',
      ]);
      // The first offending key by ID is the one named.
      const error = refuse(t, {
        type: 'changePolicy',
        groupId: 'G9',
        policy: { ...policy, defaultCryptoperiodMs: DAY },
        now: T0,
      });
      expect(error.message).toMatch(new RegExp(`live key ${a} `));
    }
  });

  test('a deleted user leaves its groups in ID order: the replacement keys are numbered in that order', () => {
    let s = outOfOrder();
    let k10: string, k9: string;
    [s, k10] = addKey(s, 'G10', T0);
    [s, k9] = addKey(s, 'G9', T0);
    s = apply(s, activate(k10, T0), activate(k9, T0), { type: 'deleteUser', userId: 'U10', now: T0 + 1 });
    expect([k10, k9].map((id) => keyStateOf(key(s, id)))).toEqual(['deactivated', 'deactivated']);
    expect([key(s, 'K2002').owner, key(s, 'K2003').owner]).toEqual(['G9', 'G10']);
  });
});

describe('rules not covered above', () => {
  test('deleting a user leaves the keys of groups it is not in alone', () => {
    let s = world();
    let g1: string, g2: string;
    [s, g1] = addKey(s, 'G1', T0);
    [s, g2] = addKey(s, 'G2', T0);
    s = apply(s, activate(g1, T0), activate(g2, T0), { type: 'deleteUser', userId: 'U3', now: T0 + 1 });
    expect(keyStateOf(key(s, g1))).toBe('deactivated');
    expect(keyStateOf(key(s, g2))).toBe('active');
    expect(key(s, g2).holders).toEqual(['U1', 'U2']);
    // One replacement, in G1 only.
    expect(Object.values(s.keys).map((k) => [k.id, k.owner])).toEqual([
      [g1, 'G1'],
      [g2, 'G2'],
      ['K2002', 'G1'],
    ]);
  });

  test('a policy change counts and checks only the keys that can still protect', () => {
    let s = world();
    let old: string, dead: string, live: string;
    [s, old] = addKey(s, 'G1', T0);
    [s, dead] = addKey(s, 'G1', T0);
    [s, live] = addKey(s, 'G1', T0, DAY);
    s = apply(
      s,
      activate(old, T0),
      { type: 'keyEvent', keyId: old, event: { type: 'DEACTIVATE', now: T0 + 1 } },
      { type: 'keyEvent', keyId: dead, event: { type: 'DESTROY', now: T0 + 1 } },
    );
    // `old` (deactivated, 30 days) and `dead` (destroyed) neither count towards maxKeys nor bound the cryptoperiod.
    const changed = apply(s, {
      type: 'changePolicy',
      groupId: 'G1',
      policy: { ...policy, maxKeys: 1, defaultCryptoperiodMs: DAY },
      now: T0 + 2,
    });
    expect(changed.groups['G1']?.policy).toEqual({ ...policy, maxKeys: 1, defaultCryptoperiodMs: DAY });
    expect(keyStateOf(key(changed, live))).toBe('preActivation');
  });

  test('only the loss of an active key to a compromise brings a replacement', () => {
    let s = world();
    let pre: string, susp: string, act: string;
    [s, pre] = addKey(s, 'G1', T0);
    [s, susp] = addKey(s, 'G1', T0);
    [s, act] = addKey(s, 'G1', T0);
    s = apply(s, activate(susp, T0), activate(act, T0), {
      type: 'keyEvent',
      keyId: susp,
      event: { type: 'SUSPEND', now: T0 + 1 },
    });
    const compromise = (keyId: string): KmsOperation => ({
      type: 'keyEvent',
      keyId,
      event: { type: 'COMPROMISE', now: T0 + 2 },
    });
    for (const keyId of [pre, susp]) expect(Object.keys(apply(s, compromise(keyId)).keys)).toEqual([pre, susp, act]);
    // Other steps out of `active` do not replace either: the administrator rotates when it chooses.
    for (const type of ['SUSPEND', 'DEACTIVATE'] as const) {
      expect(Object.keys(apply(s, { type: 'keyEvent', keyId: act, event: { type, now: T0 + 2 } }).keys)).toEqual([
        pre,
        susp,
        act,
      ]);
    }
    expect(Object.keys(apply(s, compromise(act)).keys)).toEqual([pre, susp, act, 'K2003']);
  });

  test('a later activation wins over a higher key number', () => {
    let s = world();
    let older: string, newer: string;
    [s, older] = addKey(s, 'G2', T0);
    [s, newer] = addKey(s, 'G2', T0);
    s = apply(s, activate(newer, T0), activate(older, T0 + 5));
    const r = selectKey(s, 'U1', ['U2'], T0 + 10);
    expect(r.ok && r.selection.keyId).toBe(older);
  });

  test('a result carries a key ID only when an operation added a key', () => {
    const added = applyOperation(world(), { type: 'addKey', groupId: 'G1', name: 'k', now: T0 });
    expect(added.ok && added.keyId).toBe('K2000');
    const renamed = applyOperation(world(), { type: 'renameUser', userId: 'U1', name: 'x', now: T0 });
    expect(renamed.ok).toBe(true);
    expect(Object.keys(renamed)).toEqual(['ok', 'state']);
  });
});
