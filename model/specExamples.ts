/**
 * Specification by example: every rule of the KMS (`kmsRules.ts`) has at least one worked example,
 * a short scenario of steps and the outcome they must lead to. The examples are plain data: they
 * appear in `docs/spec.md`, `specExamples.test.ts` runs them on the model (`specExampleRunner.ts`)
 * and `impl/kms/specExamples.test.ts` on the implementation (Admin, user devices, update files).
 * Another implementation can run the same data: apply each step at its time, compare refusals,
 * choices and the final state.
 *
 * Times are days after {@link EXAMPLE_START}. Key IDs are allocated from `K2000` in order (the
 * original's KMS key range), replacement keys included, so an example can name keys before they
 * exist.
 * @module
 */
import type { KeyEventType, KeyState } from './keyLifecycle.ts';
import type { KeySelection, KmsOperation } from './kms.ts';
import type { KmsErrorCode } from './kmsError.ts';
import type { GroupId, GroupPolicy, KeyId, UserId } from './kmsState.ts';

/** Where every example's clock starts: 2026-01-01T00:00Z. */
export const EXAMPLE_START = Date.UTC(2026, 0, 1);
/** One day in milliseconds: example times are in days. */
export const DAY = 86_400_000;

type WithoutTime<T> = T extends unknown ? Omit<T, 'now'> : never;

/** An operation of an example: a {@link KmsOperation} without its time (the step has it). */
export type ExampleOperation =
  | WithoutTime<Exclude<KmsOperation, { type: 'keyEvent' }>>
  | { readonly type: 'keyEvent'; readonly keyId: KeyId; readonly event: KeyEventType };

/** A step that applies an operation; `refused` is the error code it must be refused with. */
export interface OperationStep {
  readonly day: number;
  readonly op: ExampleOperation;
  readonly refused?: KmsErrorCode;
}

/** A step that asks a sender's device which key to use: it must choose `chooses`, or be `refused`. */
export interface SelectionStep {
  readonly day: number;
  readonly select: { readonly sender: UserId; readonly recipients: readonly UserId[] };
  readonly chooses?: KeySelection;
  readonly refused?: KmsErrorCode;
}

/** A step of an example. */
export type ExampleStep = OperationStep | SelectionStep;

/** One user's projection (what its device holds), by ID. */
export interface ExampleView {
  readonly groups: Readonly<Record<GroupId, { readonly name: string; readonly members: readonly UserId[] }>>;
  readonly users: Readonly<Record<UserId, string>>;
  readonly keys: Readonly<Record<KeyId, { readonly name: string; readonly state: KeyState }>>;
}

/** The state after the last step, as far as the example checks it. */
export interface ExampleOutcome {
  /** Keys at the administrator: state and holders; null when there is no such key. */
  readonly keys?: Readonly<Record<KeyId, { readonly state: KeyState; readonly holders: readonly UserId[] } | null>>;
  /** Groups' members; null when there is no such group. */
  readonly groups?: Readonly<Record<GroupId, readonly UserId[] | null>>;
  /** Users' projections; null when there is no such user. */
  readonly views?: Readonly<Record<UserId, ExampleView | null>>;
}

/** A worked example. */
export interface SpecExample {
  readonly id: string;
  readonly title: string;
  /** The rules it illustrates (IDs of `kmsRules.ts`). */
  readonly rules: readonly string[];
  readonly steps: readonly ExampleStep[];
  readonly outcome: ExampleOutcome;
}

/** What one step did: the refusal code (null when accepted) and, for a selection, the key chosen. */
export interface StepResult {
  readonly refused: KmsErrorCode | null;
  readonly chooses?: KeySelection;
}

/** What running an example produced; an implementation agrees when this equals {@link expectedRun}. */
export interface ExampleRun {
  readonly steps: readonly StepResult[];
  readonly outcome: ExampleOutcome;
}

/** The run an example asks for. */
export function expectedRun(example: SpecExample): ExampleRun {
  return {
    steps: example.steps.map((s) => ({
      refused: s.refused ?? null,
      ...('select' in s && s.chooses ? { chooses: s.chooses } : {}),
    })),
    outcome: example.outcome,
  };
}

/** The time of a step, in milliseconds. */
export function exampleTime(day: number): number {
  return EXAMPLE_START + day * DAY;
}

/** The model operation of a step. */
export function toKmsOperation(op: ExampleOperation, now: number): KmsOperation {
  return op.type === 'keyEvent'
    ? { type: 'keyEvent', keyId: op.keyId, event: { type: op.event, now } }
    : ({ ...op, now } as KmsOperation);
}

/** The policy of every example group unless it says otherwise: three live keys, thirty days. */
export const EXAMPLE_POLICY: GroupPolicy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY };

const NAMES: Readonly<Record<UserId, string>> = { U1: 'alice', U2: 'bob', U3: 'carol', U4: 'dave' };

const addUsers = (...ids: UserId[]): OperationStep[] =>
  ids.map((userId) => ({ day: 0, op: { type: 'addUser', userId, name: NAMES[userId] as string } }));
const addGroup = (groupId: GroupId, name: string, members: UserId[], shareHistory = false): OperationStep[] => [
  {
    day: 0,
    op: shareHistory
      ? { type: 'addGroup', groupId, name, policy: EXAMPLE_POLICY, shareHistory }
      : { type: 'addGroup', groupId, name, policy: EXAMPLE_POLICY },
  },
  ...members.map((userId): OperationStep => ({ day: 0, op: { type: 'addMember', groupId, userId } })),
];
const addKey = (groupId: GroupId, name: string, day = 0, cryptoperiodDays?: number): OperationStep => ({
  day,
  op:
    cryptoperiodDays === undefined
      ? { type: 'addKey', groupId, name }
      : { type: 'addKey', groupId, name, cryptoperiodMs: cryptoperiodDays * DAY },
});
const keyEvent = (keyId: KeyId, event: KeyEventType, day = 0, refused?: KmsErrorCode): OperationStep =>
  refused ? { day, op: { type: 'keyEvent', keyId, event }, refused } : { day, op: { type: 'keyEvent', keyId, event } };
/** alice, bob and carol in G1 "team" (the `team` of every example that starts from it). */
const TEAM: readonly OperationStep[] = [...addUsers('U1', 'U2', 'U3'), ...addGroup('G1', 'team', ['U1', 'U2', 'U3'])];
const LONG_NAME = 'x'.repeat(101);
/** One key of G1 in each state that can still protect: `K2000` active, `K2001` pre-active, `K2002` suspended. */
const LIVE_KEYS: readonly OperationStep[] = [
  addKey('G1', 'active'),
  keyEvent('K2000', 'ACTIVATE'),
  addKey('G1', 'pre-active'),
  addKey('G1', 'suspended'),
  keyEvent('K2002', 'ACTIVATE'),
  keyEvent('K2002', 'SUSPEND'),
];

/** Every worked example, in the order of the rules they illustrate. */
export const SPEC_EXAMPLES: readonly SpecExample[] = [
  {
    id: 'add-user',
    title: 'A user is added in no group; bad IDs, bad names and duplicates are refused',
    rules: ['addUser'],
    steps: [
      ...addUsers('U1'),
      { day: 0, op: { type: 'addUser', userId: 'U01', name: 'eve' }, refused: 'InvalidId' },
      { day: 0, op: { type: 'addUser', userId: 'U2', name: '' }, refused: 'InvalidName' },
      { day: 0, op: { type: 'addUser', userId: 'U1', name: 'alice again' }, refused: 'DuplicateUser' },
    ],
    outcome: { views: { U1: { groups: {}, users: { U1: 'alice' }, keys: {} } } },
  },
  {
    id: 'rename-user',
    title: "A new name reaches the user's co-members",
    rules: ['renameUser'],
    steps: [
      ...TEAM,
      { day: 1, op: { type: 'renameUser', userId: 'U2', name: 'robert' } },
      { day: 1, op: { type: 'renameUser', userId: 'U9', name: 'nobody' }, refused: 'UnknownUser' },
      { day: 1, op: { type: 'renameUser', userId: 'U2', name: LONG_NAME }, refused: 'InvalidName' },
    ],
    outcome: {
      views: {
        U3: {
          groups: { G1: { name: 'team', members: ['U1', 'U2', 'U3'] } },
          users: { U1: 'alice', U2: 'robert', U3: 'carol' },
          keys: {},
        },
      },
    },
  },
  {
    id: 'delete-user',
    title: 'Deleting a user rekeys each of its groups as a leave',
    rules: ['deleteUser', 'policy:leave'],
    steps: [
      ...TEAM,
      addKey('G1', 'k'),
      keyEvent('K2000', 'ACTIVATE'),
      { day: 1, op: { type: 'deleteUser', userId: 'U3' } },
      { day: 1, op: { type: 'deleteUser', userId: 'U3' }, refused: 'UnknownUser' },
    ],
    outcome: {
      keys: {
        K2000: { state: 'deactivated', holders: ['U1', 'U2'] },
        K2001: { state: 'active', holders: ['U1', 'U2'] },
      },
      groups: { G1: ['U1', 'U2'] },
      views: {
        U1: {
          groups: { G1: { name: 'team', members: ['U1', 'U2'] } },
          users: { U1: 'alice', U2: 'bob' },
          keys: {
            K2000: { name: 'k', state: 'deactivated' },
            K2001: { name: 'replacement in G1', state: 'active' },
          },
        },
      },
    },
  },
  {
    id: 'add-group',
    title: 'A group starts empty; a group ID is never reused, even after deletion',
    rules: ['addGroup'],
    steps: [
      ...addGroup('G1', 'team', []),
      { day: 0, op: { type: 'addGroup', groupId: 'G01', name: 'x', policy: EXAMPLE_POLICY }, refused: 'InvalidId' },
      { day: 0, op: { type: 'addGroup', groupId: 'G2', name: '', policy: EXAMPLE_POLICY }, refused: 'InvalidName' },
      {
        day: 0,
        op: { type: 'addGroup', groupId: 'G2', name: 'x', policy: { ...EXAMPLE_POLICY, maxKeys: 0 } },
        refused: 'InvalidPolicy',
      },
      { day: 0, op: { type: 'addGroup', groupId: 'G1', name: 'x', policy: EXAMPLE_POLICY }, refused: 'DuplicateGroup' },
      { day: 1, op: { type: 'deleteGroup', groupId: 'G1' } },
      { day: 1, op: { type: 'addGroup', groupId: 'G1', name: 'x', policy: EXAMPLE_POLICY }, refused: 'DuplicateGroup' },
    ],
    outcome: { groups: { G1: null, G2: null } },
  },
  {
    id: 'rename-group',
    title: "A group's new name reaches its members",
    rules: ['renameGroup'],
    steps: [
      ...TEAM,
      { day: 1, op: { type: 'renameGroup', groupId: 'G1', name: 'crew' } },
      { day: 1, op: { type: 'renameGroup', groupId: 'G9', name: 'crew' }, refused: 'UnknownGroup' },
      { day: 1, op: { type: 'renameGroup', groupId: 'G1', name: '' }, refused: 'InvalidName' },
    ],
    outcome: {
      views: {
        U1: {
          groups: { G1: { name: 'crew', members: ['U1', 'U2', 'U3'] } },
          users: { U1: 'alice', U2: 'bob', U3: 'carol' },
          keys: {},
        },
      },
    },
  },
  {
    id: 'change-policy',
    title: 'A policy that the live keys would break is refused; a lower maxKeys then bounds new keys',
    rules: ['changePolicy'],
    steps: [
      ...TEAM,
      addKey('G1', 'a'),
      addKey('G1', 'b'),
      {
        day: 1,
        op: { type: 'changePolicy', groupId: 'G1', policy: { ...EXAMPLE_POLICY, maxKeys: 1 } },
        refused: 'PolicyConflict',
      },
      {
        day: 1,
        op: { type: 'changePolicy', groupId: 'G1', policy: { ...EXAMPLE_POLICY, defaultCryptoperiodMs: 10 * DAY } },
        refused: 'PolicyConflict',
      },
      { day: 1, op: { type: 'changePolicy', groupId: 'G9', policy: EXAMPLE_POLICY }, refused: 'UnknownGroup' },
      {
        day: 1,
        op: { type: 'changePolicy', groupId: 'G1', policy: { ...EXAMPLE_POLICY, defaultCryptoperiodMs: 0 } },
        refused: 'InvalidPolicy',
      },
      { day: 1, op: { type: 'changePolicy', groupId: 'G1', policy: { ...EXAMPLE_POLICY, maxKeys: 2 } } },
      { ...addKey('G1', 'c', 1), refused: 'MaxKeysReached' },
    ],
    outcome: {
      keys: {
        K2000: { state: 'preActivation', holders: ['U1', 'U2', 'U3'] },
        K2001: { state: 'preActivation', holders: ['U1', 'U2', 'U3'] },
        K2002: null,
      },
    },
  },
  {
    id: 'delete-group',
    title: "Deleting a group retires its live keys and takes them off every member's device",
    rules: ['deleteGroup', 'policy:deleteGroup'],
    steps: [
      ...TEAM,
      ...LIVE_KEYS,
      { day: 1, op: { type: 'deleteGroup', groupId: 'G1' } },
      { day: 1, op: { type: 'deleteGroup', groupId: 'G1' }, refused: 'UnknownGroup' },
    ],
    outcome: {
      keys: {
        K2000: { state: 'deactivated', holders: [] },
        K2001: { state: 'destroyed', holders: [] },
        K2002: { state: 'deactivated', holders: [] },
        K2003: null,
      },
      groups: { G1: null },
      views: { U1: { groups: {}, users: { U1: 'alice' }, keys: {} } },
    },
  },
  {
    id: 'join-private-history',
    title: 'A joiner cannot read what was protected before it came: held keys are retired, a fresh one activated',
    rules: ['addMember', 'policy:join/privateHistory'],
    steps: [
      ...TEAM,
      ...addUsers('U4'),
      ...LIVE_KEYS,
      { day: 1, op: { type: 'addMember', groupId: 'G1', userId: 'U4' } },
      { day: 1, op: { type: 'addMember', groupId: 'G9', userId: 'U4' }, refused: 'UnknownGroup' },
      { day: 1, op: { type: 'addMember', groupId: 'G1', userId: 'U9' }, refused: 'UnknownUser' },
      { day: 1, op: { type: 'addMember', groupId: 'G1', userId: 'U4' }, refused: 'AlreadyMember' },
      { day: 1, select: { sender: 'U4', recipients: ['U1'] }, chooses: { keyId: 'K2003', groupId: 'G1' } },
    ],
    outcome: {
      keys: {
        K2000: { state: 'deactivated', holders: ['U1', 'U2', 'U3'] },
        K2001: { state: 'preActivation', holders: ['U1', 'U2', 'U3', 'U4'] },
        K2002: { state: 'deactivated', holders: ['U1', 'U2', 'U3'] },
        K2003: { state: 'active', holders: ['U1', 'U2', 'U3', 'U4'] },
      },
      groups: { G1: ['U1', 'U2', 'U3', 'U4'] },
    },
  },
  {
    id: 'join-unheld-key',
    title: 'A key nobody holds never protected anything: the first member receives it, without a rekey',
    rules: ['policy:join/privateHistory'],
    steps: [
      ...addUsers('U1'),
      ...addGroup('G1', 'team', []),
      addKey('G1', 'k'),
      keyEvent('K2000', 'ACTIVATE'),
      { day: 1, op: { type: 'addMember', groupId: 'G1', userId: 'U1' } },
    ],
    outcome: { keys: { K2000: { state: 'active', holders: ['U1'] }, K2001: null } },
  },
  {
    id: 'join-shared-history',
    title: 'A group that shares its history gives a joiner its readable keys, never compromised ones',
    rules: ['addMember', 'policy:join/sharedHistory'],
    steps: [
      ...addUsers('U1', 'U2', 'U3'),
      ...addGroup('G1', 'archive', ['U1', 'U2'], true),
      addKey('G1', 'old'),
      keyEvent('K2000', 'ACTIVATE'),
      keyEvent('K2000', 'DEACTIVATE'),
      addKey('G1', 'current'),
      keyEvent('K2001', 'ACTIVATE'),
      addKey('G1', 'leaked'),
      keyEvent('K2002', 'COMPROMISE'),
      { day: 1, op: { type: 'addMember', groupId: 'G1', userId: 'U3' } },
      { day: 1, select: { sender: 'U3', recipients: ['U1'] }, chooses: { keyId: 'K2001', groupId: 'G1' } },
    ],
    outcome: {
      keys: {
        K2000: { state: 'deactivated', holders: ['U1', 'U2', 'U3'] },
        K2001: { state: 'active', holders: ['U1', 'U2', 'U3'] },
        K2002: { state: 'compromised', holders: ['U1', 'U2'] },
        K2003: null,
      },
      views: {
        U3: {
          groups: { G1: { name: 'archive', members: ['U1', 'U2', 'U3'] } },
          users: { U1: 'alice', U2: 'bob', U3: 'carol' },
          keys: { K2000: { name: 'old', state: 'deactivated' }, K2001: { name: 'current', state: 'active' } },
        },
      },
    },
  },
  {
    id: 'leave-rekeys',
    title: 'A leaver keeps nothing new: live keys retired, a fresh key for the others',
    rules: ['removeMember', 'policy:leave'],
    steps: [
      ...TEAM,
      ...addUsers('U4'),
      ...LIVE_KEYS,
      { day: 1, op: { type: 'removeMember', groupId: 'G1', userId: 'U3' } },
      { day: 1, op: { type: 'removeMember', groupId: 'G9', userId: 'U3' }, refused: 'UnknownGroup' },
      { day: 1, op: { type: 'removeMember', groupId: 'G1', userId: 'U9' }, refused: 'UnknownUser' },
      { day: 1, op: { type: 'removeMember', groupId: 'G1', userId: 'U4' }, refused: 'NotMember' },
      { day: 1, select: { sender: 'U1', recipients: ['U2'] }, chooses: { keyId: 'K2003', groupId: 'G1' } },
    ],
    outcome: {
      keys: {
        K2000: { state: 'deactivated', holders: ['U1', 'U2'] },
        K2001: { state: 'destroyed', holders: [] },
        K2002: { state: 'deactivated', holders: ['U1', 'U2'] },
        K2003: { state: 'active', holders: ['U1', 'U2'] },
      },
      groups: { G1: ['U1', 'U2'] },
      views: { U3: { groups: {}, users: { U3: 'carol' }, keys: {} } },
    },
  },
  {
    id: 'leave-without-active-key',
    title: 'A group with no active key is not rekeyed on leave: its pre-active key is destroyed',
    rules: ['policy:leave'],
    steps: [...TEAM, addKey('G1', 'k'), { day: 1, op: { type: 'removeMember', groupId: 'G1', userId: 'U3' } }],
    outcome: { keys: { K2000: { state: 'destroyed', holders: [] }, K2001: null } },
  },
  {
    id: 'add-key',
    title: 'A new key is pre-active and held by the members; maxKeys counts only keys that can still protect',
    rules: ['addKey'],
    steps: [
      ...TEAM,
      addKey('G1', 'a'),
      { ...addKey('G9', 'x'), refused: 'UnknownGroup' },
      { ...addKey('G1', ''), refused: 'InvalidName' },
      { ...addKey('G1', 'x', 0, 0), refused: 'InvalidCryptoperiod' },
      { ...addKey('G1', 'x', 0, 31), refused: 'CryptoperiodTooLong' },
      addKey('G1', 'b', 0, 7),
      addKey('G1', 'c'),
      { ...addKey('G1', 'd'), refused: 'MaxKeysReached' },
      keyEvent('K2000', 'DESTROY', 1),
      addKey('G1', 'd', 1),
    ],
    outcome: {
      keys: {
        K2000: { state: 'destroyed', holders: [] },
        K2001: { state: 'preActivation', holders: ['U1', 'U2', 'U3'] },
        K2003: { state: 'preActivation', holders: ['U1', 'U2', 'U3'] },
      },
      views: {
        U2: {
          groups: { G1: { name: 'team', members: ['U1', 'U2', 'U3'] } },
          users: { U1: 'alice', U2: 'bob', U3: 'carol' },
          keys: {
            K2001: { name: 'b', state: 'preActivation' },
            K2002: { name: 'c', state: 'preActivation' },
            K2003: { name: 'd', state: 'preActivation' },
          },
        },
      },
    },
  },
  {
    id: 'key-events',
    title: 'Key events follow the key life cycle; anything else is refused and changes nothing; no rekey',
    rules: ['keyEvent', 'policy:otherKeyEvent'],
    steps: [
      ...TEAM,
      addKey('G1', 'k'),
      keyEvent('K2000', 'ACTIVATE'),
      keyEvent('K2000', 'SUSPEND', 1),
      keyEvent('K2000', 'RESUME', 2),
      keyEvent('K2000', 'EXPIRE', 2, 'IllegalTransition'),
      keyEvent('K2000', 'DEACTIVATE', 3),
      keyEvent('K2000', 'RESUME', 3, 'IllegalTransition'),
      keyEvent('K9', 'ACTIVATE', 3, 'UnknownKey'),
      addKey('G1', 'short', 3, 1),
      keyEvent('K2001', 'ACTIVATE', 3),
      keyEvent('K2001', 'DESTROY', 3, 'IllegalTransition'),
      keyEvent('K2001', 'DEACTIVATE', 3),
      keyEvent('K2001', 'DESTROY', 3),
    ],
    outcome: {
      keys: {
        K2000: { state: 'deactivated', holders: ['U1', 'U2', 'U3'] },
        K2001: { state: 'destroyed', holders: [] },
        K2002: null,
      },
    },
  },
  {
    id: 'compromise-replaces',
    title: 'Compromising an active key activates a replacement at once; a pre-active one is not replaced',
    rules: ['keyEvent', 'policy:compromise'],
    steps: [
      ...TEAM,
      addKey('G1', 'k'),
      keyEvent('K2000', 'ACTIVATE'),
      addKey('G1', 'spare'),
      keyEvent('K2000', 'COMPROMISE', 1),
      { day: 1, select: { sender: 'U1', recipients: ['U3'] }, chooses: { keyId: 'K2002', groupId: 'G1' } },
      keyEvent('K2001', 'COMPROMISE', 2),
    ],
    outcome: {
      keys: {
        K2000: { state: 'compromised', holders: ['U1', 'U2', 'U3'] },
        K2001: { state: 'compromised', holders: ['U1', 'U2', 'U3'] },
        K2002: { state: 'active', holders: ['U1', 'U2', 'U3'] },
        K2003: null,
      },
    },
  },
  {
    id: 'rename-key',
    title: "A key's new name reaches its holders",
    rules: ['renameKey'],
    steps: [
      ...TEAM,
      addKey('G1', 'k'),
      { day: 1, op: { type: 'renameKey', keyId: 'K2000', name: 'payroll' } },
      { day: 1, op: { type: 'renameKey', keyId: 'K9', name: 'x' }, refused: 'UnknownKey' },
      { day: 1, op: { type: 'renameKey', keyId: 'K2000', name: LONG_NAME }, refused: 'InvalidName' },
    ],
    outcome: {
      views: {
        U1: {
          groups: { G1: { name: 'team', members: ['U1', 'U2', 'U3'] } },
          users: { U1: 'alice', U2: 'bob', U3: 'carol' },
          keys: { K2000: { name: 'payroll', state: 'preActivation' } },
        },
      },
    },
  },
  {
    id: 'expiry',
    title: 'A key past its cryptoperiod never protects; every operation expires due keys first',
    rules: ['expireKeys', 'expiryFirst'],
    steps: [
      ...TEAM,
      addKey('G1', 'two days', 0, 2),
      keyEvent('K2000', 'ACTIVATE'),
      { day: 1, select: { sender: 'U1', recipients: ['U2'] }, chooses: { keyId: 'K2000', groupId: 'G1' } },
      { day: 2, op: { type: 'expireKeys' } },
      { day: 2, select: { sender: 'U1', recipients: ['U2'] }, refused: 'NoUsableKey' },
      addKey('G1', 'one day', 2, 1),
      keyEvent('K2001', 'ACTIVATE', 2),
      keyEvent('K2001', 'SUSPEND', 2),
      { day: 4, op: { type: 'addUser', userId: 'U4', name: 'dave' } },
      keyEvent('K2001', 'RESUME', 4, 'IllegalTransition'),
    ],
    outcome: {
      keys: {
        K2000: { state: 'deactivated', holders: ['U1', 'U2', 'U3'] },
        K2001: { state: 'deactivated', holders: ['U1', 'U2', 'U3'] },
      },
    },
  },
  {
    id: 'smallest-group',
    title: 'The smallest group containing everyone that has a usable key; refusals name why',
    rules: ['selectKey'],
    steps: [
      ...TEAM,
      ...addUsers('U4'),
      ...addGroup('G2', 'pair', ['U1', 'U2']),
      ...addGroup('G3', 'side', ['U1', 'U4']),
      addKey('G1', 'team key'),
      keyEvent('K2000', 'ACTIVATE'),
      { day: 1, select: { sender: 'U1', recipients: ['U2'] }, chooses: { keyId: 'K2000', groupId: 'G1' } },
      addKey('G2', 'pair key', 1),
      keyEvent('K2001', 'ACTIVATE', 1),
      { day: 1, select: { sender: 'U1', recipients: ['U2'] }, chooses: { keyId: 'K2001', groupId: 'G2' } },
      { day: 1, select: { sender: 'U2', recipients: ['U3'] }, chooses: { keyId: 'K2000', groupId: 'G1' } },
      { day: 1, select: { sender: 'U1', recipients: [] }, chooses: { keyId: 'K2001', groupId: 'G2' } },
      { day: 1, select: { sender: 'U2', recipients: ['U4'] }, refused: 'UnknownUser' },
      { day: 1, select: { sender: 'U1', recipients: ['U2', 'U4'] }, refused: 'NoCommonGroup' },
      { day: 1, select: { sender: 'U1', recipients: ['U4'] }, refused: 'NoUsableKey' },
    ],
    outcome: {},
  },
  {
    id: 'key-preference',
    title: 'Between usable keys: latest activation, then latest end of cryptoperiod, then highest number',
    rules: ['keyPreference'],
    steps: [
      ...TEAM,
      addKey('G1', 'one day', 0, 1),
      addKey('G1', 'two days', 0, 2),
      keyEvent('K2000', 'ACTIVATE'),
      keyEvent('K2001', 'ACTIVATE'),
      { day: 0, select: { sender: 'U1', recipients: ['U2'] }, chooses: { keyId: 'K2001', groupId: 'G1' } },
      addKey('G1', 'two days too', 0, 2),
      keyEvent('K2002', 'ACTIVATE'),
      { day: 0, select: { sender: 'U1', recipients: ['U2'] }, chooses: { keyId: 'K2002', groupId: 'G1' } },
      keyEvent('K2000', 'DEACTIVATE', 0.5),
      addKey('G1', 'latest', 0.5, 1),
      keyEvent('K2003', 'ACTIVATE', 0.5),
      { day: 0.5, select: { sender: 'U1', recipients: ['U2'] }, chooses: { keyId: 'K2003', groupId: 'G1' } },
    ],
    outcome: {},
  },
  {
    id: 'need-to-know',
    title: "A user's device holds its groups, their members and the keys it holds: nothing else",
    rules: ['needToKnow'],
    steps: [
      ...addUsers('U1', 'U2', 'U3', 'U4'),
      ...addGroup('G1', 'left', ['U1', 'U2']),
      ...addGroup('G2', 'right', ['U3', 'U4']),
      addKey('G1', 'left key'),
      addKey('G2', 'right key'),
    ],
    outcome: {
      views: {
        U1: {
          groups: { G1: { name: 'left', members: ['U1', 'U2'] } },
          users: { U1: 'alice', U2: 'bob' },
          keys: { K2000: { name: 'left key', state: 'preActivation' } },
        },
        U4: {
          groups: { G2: { name: 'right', members: ['U3', 'U4'] } },
          users: { U3: 'carol', U4: 'dave' },
          keys: { K2001: { name: 'right key', state: 'preActivation' } },
        },
      },
    },
  },
];
