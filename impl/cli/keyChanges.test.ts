import { describe, expect, test } from 'vitest';
import type { AdminChanges, AdminKeyInfo } from '../kms/adminChanges.ts';
import { NO_CHANGES } from '../kms/adminChanges.ts';
import { describeExpiries, describeKeyChanges } from './keyChanges.ts';

const T = Date.UTC(2026, 0, 5, 9);
const DAY = 86_400_000;
const key = (over: Partial<AdminKeyInfo>): AdminKeyInfo => ({
  id: 'K2000',
  name: 'k',
  owner: 'G1',
  algorithm: 'AES-256-GCM',
  state: 'preActivation',
  cryptoperiodMs: 7 * DAY,
  createdAt: T,
  activatedAt: null,
  expiresAt: null,
  suspendedAt: null,
  resumedAt: null,
  deactivatedAt: null,
  compromisedAt: null,
  destroyedAt: null,
  holders: ['U1', 'U2'],
  ...over,
});

describe('key change lines', () => {
  test('one line per key, by key number: new keys, steps, renames, holders; expiries apart', () => {
    const changes: AdminChanges = {
      ...NO_CHANGES,
      created: [
        { key: key({}), cause: 'added' },
        {
          key: key({ id: 'K2010', name: 'replacement in G1', state: 'active', activatedAt: T, expiresAt: T + 7 * DAY }),
          cause: 'replacement',
          replaces: 'K2001',
        },
      ],
      transitions: [
        { keyId: 'K2003', from: 'active', to: 'deactivated', cause: 'expiry', at: T - DAY },
        { keyId: 'K2001', from: 'active', to: 'compromised', cause: 'event', at: T },
        { keyId: 'K2003', from: 'deactivated', to: 'destroyed', cause: 'event', at: T },
      ],
      renamed: [{ keyId: 'K2002', from: 'a', to: 'b' }],
      holders: [
        { keyId: 'K2002', gained: ['U3'], lost: ['U1'] },
        { keyId: 'K2003', gained: [], lost: ['U1', 'U2'] },
      ],
    };
    expect(describeExpiries(changes)).toEqual(['K2003: cryptoperiod ended 2026-01-04 09:00Z → deactivated']);
    expect(describeKeyChanges(changes)).toEqual([
      "K2000: new key of G1 'k', preActivation, cryptoperiod 7d, held by U1,U2",
      'K2001: active → compromised',
      "K2002: renamed 'a' → 'b'; holders +U3 -U1",
      'K2003: deactivated → destroyed; holders -U1 -U2',
      "K2010: new key of G1 'replacement in G1', active, expires 2026-01-12 09:00Z, held by U1,U2",
    ]);
    expect(describeKeyChanges(NO_CHANGES)).toEqual([]);
  });

  test('a new key of a group without members says so, not "held by -"', () => {
    const changes: AdminChanges = { ...NO_CHANGES, created: [{ key: key({ holders: [] }), cause: 'added' }] };
    expect(describeKeyChanges(changes)).toEqual([
      "K2000: new key of G1 'k', preActivation, cryptoperiod 7d, held by no one yet (the group has no member)",
    ]);
  });
});
