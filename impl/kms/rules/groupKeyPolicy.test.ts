/**
 * The group key policy and life-cycle rules of this folder, read through what each admin operation
 * reports (`adminChanges.ts`): why every key stepped or was generated, who must hear of it, and what
 * the admin HSM keeps. The worked examples (`specExamples.test.ts`) check the resulting states; these
 * check the causes and the cases the examples do not reach (keys in every state when a member leaves
 * or joins, users in no group, a second event on a destroyed key).
 */
import { describe, expect, test } from 'vitest';
import { newKeyLifecycle } from '../../../model/keyLifecycle.ts';
import { migrate } from '../../db/schema.ts';
import { openSqlite } from '../../db/sqlite.ts';
import { deviceKeyNumber } from '../../protocol/deviceKeyIds.ts';
import { readKey, stateOf, writeKey } from '../kmsRows.ts';
import { stepKey } from './stepKey.ts';
import type { KeyRow } from '../kmsRows.ts';
import { TEAM_POLICY, newAdminWorld } from '../world.testkit.ts';
import type { World } from '../world.testkit.ts';
import { expireDueKeys } from './expiry.ts';

const DAY = 86_400_000;

/** The admin alone, no devices: alice, bob and carol in G1 "team"; dave (U4) in no group. */
const adminTeam = (): Promise<World> => newAdminWorld(4, [['G1', 'team', ['U1', 'U2', 'U3']]]);

describe('the cause of every key step, as the change log reports it', () => {
  test('an asked-for event is an `event`; the end of a cryptoperiod an `expiry`, stamped with that end', async () => {
    const w = await adminTeam();
    const k = w.admin.addKey('G1', 'k', { cryptoperiodMs: DAY });
    const activatedAt = w.clock.now();
    expect(w.admin.activateKey(k).transitions).toEqual([
      { keyId: k, from: 'preActivation', to: 'active', cause: 'event', at: activatedAt },
    ]);
    w.clock.advance(2 * DAY);
    expect(w.admin.sweep().transitions).toEqual([
      { keyId: k, from: 'active', to: 'deactivated', cause: 'expiry', at: activatedAt + DAY },
    ]);
    // The sweep's audit record names the keys it expired, and each step, stamped with its own time.
    const last = w.admin.auditLog().at(-1);
    expect(last?.action).toBe('expireKeys');
    expect(JSON.parse(last?.details ?? 'null')).toEqual({
      keys: [k],
      transitions: [{ key: k, from: 'active', to: 'deactivated', cause: 'expiry', at: activatedAt + DAY }],
    });
  });

  test('compromising an active key activates a `replacement` naming it; a pre-active one is not replaced', async () => {
    const w = await adminTeam();
    const pre = w.admin.addKey('G1', 'pre');
    expect(w.admin.compromiseKey(pre).created).toEqual([]);
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    const compromised = w.admin.compromiseKey(k);
    expect(compromised.transitions).toEqual([
      { keyId: k, from: 'active', to: 'compromised', cause: 'event', at: w.clock.now() },
    ]);
    expect(compromised.created.map((c) => ({ cause: c.cause, replaces: c.replaces, state: c.key.state }))).toEqual([
      { cause: 'replacement', replaces: k, state: 'active' },
    ]);
  });

  test('expireDueKeys without a change recorder expires the due keys all the same', async () => {
    const db = await openSqlite();
    migrate(db);
    db.run("INSERT INTO kms_groups VALUES ('G1', 'team', ?, ?, ?, 0)", [
      TEAM_POLICY.maxKeys,
      TEAM_POLICY.algorithm,
      TEAM_POLICY.defaultCryptoperiodMs,
    ]);
    const at = Date.UTC(2026, 0, 1);
    const fresh = newKeyLifecycle({ id: 'K2000', cryptoperiodMs: DAY, createdAt: at });
    const key: KeyRow = { id: 'K2000', name: 'k', owner: 'G1', algorithm: 'AES-256-GCM', lifecycle: fresh };
    writeKey(db, stepKey(key, { type: 'ACTIVATE', now: at }));
    expect(expireDueKeys(db, at + DAY - 1)).toEqual([]);
    expect(expireDueKeys(db, at + DAY)).toEqual(['K2000']);
    const expired = readKey(db, 'K2000');
    expect(expired && stateOf(expired)).toBe('deactivated');
    expect(expired?.lifecycle.context.deactivatedAt).toBe(at + DAY);
  });
});

describe('retirement when a member leaves: only keys that could still protect', () => {
  test('deactivated, compromised and destroyed keys are left as they are, and not reported', async () => {
    const w = await adminTeam();
    // Added one after the other: maxKeys (3) counts only the keys that can still protect.
    const old = w.admin.addKey('G1', 'old');
    w.admin.activateKey(old);
    w.admin.deactivateKey(old);
    const bad = w.admin.addKey('G1', 'bad');
    w.admin.compromiseKey(bad);
    const gone = w.admin.addKey('G1', 'gone');
    w.admin.destroyKey(gone);
    const live = w.admin.addKey('G1', 'live');
    w.admin.activateKey(live);
    const pre = w.admin.addKey('G1', 'pre');
    w.clock.advance(1000);
    const now = w.clock.now();
    const left = w.admin.removeMember('G1', 'U2');
    expect(left.transitions).toEqual([
      { keyId: live, from: 'active', to: 'deactivated', cause: 'retirement', at: now },
      { keyId: pre, from: 'preActivation', to: 'destroyed', cause: 'retirement', at: now },
    ]);
    // The live key was active: a fresh one is activated for the members left, as a `rekey`.
    expect(left.created.map((c) => [c.cause, c.key.state, c.key.holders])).toEqual([['rekey', 'active', ['U1', 'U3']]]);
    expect(w.admin.listKeys().map((k) => [k.id, k.state])).toEqual([
      [old, 'deactivated'],
      [bad, 'compromised'],
      [gone, 'destroyed'],
      [live, 'deactivated'],
      [pre, 'destroyed'],
      [left.created[0]?.key.id, 'active'],
    ]);
  });
});

describe('backward secrecy on join', () => {
  test('the joiner and the members are told, even when the group has no key', async () => {
    const w = await adminTeam();
    expect(w.admin.addMember('G1', 'U4').usersAffected).toEqual(['U1', 'U2', 'U3', 'U4']);
  });

  test('a held suspended key is retired on join, but only an active one brings a rekey', async () => {
    const w = await adminTeam();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    w.admin.suspendKey(k);
    w.clock.advance(1000);
    const joined = w.admin.addMember('G1', 'U4');
    expect(joined.transitions).toEqual([
      { keyId: k, from: 'suspended', to: 'deactivated', cause: 'retirement', at: w.clock.now() },
    ]);
    expect(joined.created).toEqual([]);
    expect(w.admin.keyInfo(k).holders).toEqual(['U1', 'U2', 'U3']);
  });
});

describe('a destroyed key and the admin HSM', () => {
  test('destroying a key erases it from the admin HSM; a later compromise of it is recorded alone', async () => {
    const w = await adminTeam();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    expect(w.adminDevice.listKeyIds()).toContain(deviceKeyNumber(k));
    // An active data key is deactivated before it is destroyed (model/keyLifecycle.ts: not T5).
    expect(() => w.admin.destroyKey(k)).toThrow(/key K\d+ is active: it cannot be destroyed/);
    expect(w.adminDevice.listKeyIds()).toContain(deviceKeyNumber(k));
    w.admin.deactivateKey(k);
    w.admin.destroyKey(k);
    expect(w.adminDevice.listKeyIds()).not.toContain(deviceKeyNumber(k));
    expect(w.admin.compromiseKey(k).transitions).toEqual([
      { keyId: k, from: 'destroyed', to: 'destroyedCompromised', cause: 'event', at: w.clock.now() },
    ]);
    expect(w.admin.keyInfo(k)).toMatchObject({ state: 'destroyedCompromised', holders: [] });
  });
});

describe('who must hear of a renamed user', () => {
  test('the user and everyone sharing a group with it; a user in no group alone', async () => {
    const w = await adminTeam();
    expect(w.admin.renameUser('U1', 'alicia').usersAffected).toEqual(['U1', 'U2', 'U3']);
    expect(w.admin.renameUser('U4', 'david').usersAffected).toEqual(['U4']);
  });
});
