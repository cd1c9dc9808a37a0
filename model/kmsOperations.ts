/**
 * Every operation of the KMS model described as data: what it needs, what refuses it (error code
 * and condition, in the order the checks run) and what it does to groups, keys, holders and
 * projections. `docs/spec.md` prints it. The model's code is imperative (`kms.ts`, `selectKey.ts`),
 * so this description is pinned to it twice: `kmsOperations.test.ts` runs every operation over
 * many states and arguments and fails on a refusal not listed here, and every listed refusal is
 * triggered by a worked example (`specExamples.ts`) that runs on the model and on the
 * implementation.
 * @module
 */
import type { KmsOperationType } from './kms.ts';
import type { KmsErrorCode } from './kmsError.ts';
import { MAX_NAME_LENGTH, idForm } from './kmsState.ts';

/** One refusal of an operation: the code, and when it is given. */
export interface Refusal {
  readonly code: KmsErrorCode;
  readonly when: string;
}

/** An operation of the model, or the key selection a user device runs. */
export type SpecOperation = KmsOperationType | 'selectKey';

/** The description of one operation. */
export interface OperationRule {
  readonly operation: SpecOperation;
  /** The original SEkey function it corresponds to, if any. */
  readonly original: string;
  readonly summary: string;
  /** In the order the checks run: the first that applies is the one returned. */
  readonly refusals: readonly Refusal[];
  /** What an accepted operation changes: groups, keys, holders, and so projections. */
  readonly effects: readonly string[];
}

/**
 * Refused before any operation, whatever its type: a time that is not a finite number would slip
 * past every `now >= expiresAt` guard and never expire a key, and one beyond what a Date holds could
 * not be recorded in ISO 8601. Not before `selectKey`, which records nothing: it runs on a user's
 * device at that device's clock, and a time no cryptoperiod covers leaves it no usable key.
 */
export const GENERAL_REFUSALS: readonly Refusal[] = [
  {
    code: 'InvalidTime',
    when:
      "the operation's time is not a finite number of milliseconds within ±8,636,844,240,000,000 (what a Date " +
      'holds, ±8.64e15, less the longest cryptoperiod: every end of cryptoperiod is a date too)',
  },
];

/**
 * Expiry first: every operation carries its time and first expires the keys whose cryptoperiod has
 * ended by then (`EXPIRE`, NIST SP 800-57 Pt 1 §7 T8/T12), so no rule ever reads a key past its
 * cryptoperiod that is still marked active. A refused operation changes nothing, that sweep included.
 */
export const EXPIRY_FIRST =
  'Every operation first sends `EXPIRE` (at its own time) to every key whose cryptoperiod has ended, so no rule ' +
  'reads a key that is past its cryptoperiod but still `active` or `suspended`; each expired key is stamped ' +
  'deactivated at its own end of cryptoperiod. A refused operation changes nothing, that sweep included.';

/**
 * Time goes forward: NIST SP 800-57 Pt 1 §7 has the date and time of every transition recorded, and
 * records out of order (a deactivation dated before its activation) would contradict each other. The
 * model takes each operation's time as given; keeping them in order is the caller's precondition,
 * which the host enforces for the command line (`ClockWentBack`, `impl/host/sessionClock.ts`).
 */
export const TIME_GOES_FORWARD =
  'Operations come in the order of their times: each carries a time no earlier than the one before. The model ' +
  'and `Admin` take the time they are given and do not compare it with earlier ones; a time before an earlier ' +
  "operation's would record transitions out of order (a key deactivated before it was activated). The host " +
  'keeps the order for the command line: a command whose time (the system clock, or `--at`) is before the ' +
  "installation's last recorded time refuses to run (`ClockWentBack`) before any operation.";

/**
 * `checkName` counts Unicode code points (not UTF-16 units, not bytes), and its "blank" is white
 * space and the characters Unicode renders as nothing (zero-width space, joiners, direction marks…).
 */
const NAME = {
  code: 'InvalidName',
  when:
    `the name is empty, blank (white space or invisible characters alone, such as a zero-width space) or longer ` +
    `than ${MAX_NAME_LENGTH} characters (Unicode code points)`,
} as const;
const UNKNOWN_USER = { code: 'UnknownUser', when: 'no user has this ID' } as const;
const UNKNOWN_GROUP = { code: 'UnknownGroup', when: 'no group has this ID' } as const;
const UNKNOWN_KEY = { code: 'UnknownKey', when: 'no key has this ID' } as const;
const INVALID_POLICY = {
  code: 'InvalidPolicy',
  when:
    '`maxKeys` or the default cryptoperiod (in milliseconds) is not an integer from 1 to 2^53 − 1, the default ' +
    'cryptoperiod is longer than 100 years (36,525 days), or the algorithm is unknown',
} as const;

/** Every operation, in the order the specification lists them. */
export const OPERATION_RULES: readonly OperationRule[] = [
  {
    operation: 'addUser',
    original: 'sekey_add_user',
    summary: 'Adds a user, in no group.',
    refusals: [
      { code: 'InvalidId', when: `the ID is not ${idForm('user')} (at most 11 characters)` },
      NAME,
      { code: 'DuplicateUser', when: 'a user has this ID' },
    ],
    effects: ['The user exists, in no group; its projection holds only its own record.'],
  },
  {
    operation: 'renameUser',
    original: 'sekey_user_change_name',
    summary: "Changes a user's name.",
    refusals: [UNKNOWN_USER, NAME],
    effects: ['The name changes in the projections of the user and of everyone sharing a group with it.'],
  },
  {
    operation: 'deleteUser',
    original: 'sekey_delete_user',
    summary: 'Deletes a user.',
    refusals: [UNKNOWN_USER],
    effects: [
      'The user leaves every group it is in, in group ID order, each time with the `leave` rule of the group key ' +
        'policy (retirement, rekey).',
      'The user record is removed; its projection is empty, and its co-members no longer see it.',
    ],
  },
  {
    operation: 'addGroup',
    original: 'sekey_add_group',
    summary: 'Adds a group with its policy (`maxKeys`, algorithm, default cryptoperiod) and `shareHistory`.',
    refusals: [
      { code: 'InvalidId', when: `the ID is not ${idForm('group')} (at most 11 characters)` },
      NAME,
      INVALID_POLICY,
      { code: 'DuplicateGroup', when: 'a group has this ID, or had it: group IDs are never reused' },
    ],
    effects: ['The group exists with no members and no keys; `shareHistory` is false unless asked for.'],
  },
  {
    operation: 'renameGroup',
    original: 'sekey_group_change_name',
    summary: "Changes a group's name.",
    refusals: [UNKNOWN_GROUP, NAME],
    effects: ["The name changes in every member's projection."],
  },
  {
    operation: 'changePolicy',
    original: 'sekey_group_change_max_keys, sekey_group_change_default_cryptoperiod',
    summary: "Replaces a group's policy.",
    refusals: [
      UNKNOWN_GROUP,
      INVALID_POLICY,
      {
        code: 'PolicyConflict',
        when:
          'the group has more live keys (pre-active, active, suspended) than the new `maxKeys`, or a live key ' +
          'whose cryptoperiod is longer than the new default',
      },
    ],
    effects: [
      "The policy changes in every member's projection. Existing keys keep their algorithm and cryptoperiod; a " +
        'new algorithm applies to keys added afterwards.',
    ],
  },
  {
    operation: 'deleteGroup',
    original: 'sekey_delete_group',
    summary: 'Deletes a group.',
    refusals: [UNKNOWN_GROUP],
    effects: [
      'The `deleteGroup` rule of the group key policy: live keys retired, every holder dropped.',
      "The group leaves every member's projection with its keys; its ID is retired for good and its keys' metadata " +
        'stays with the administrator.',
    ],
  },
  {
    operation: 'addMember',
    original: 'sekey_add_user_group',
    summary: 'Adds a user to a group.',
    refusals: [UNKNOWN_GROUP, UNKNOWN_USER, { code: 'AlreadyMember', when: 'the user is a member of the group' }],
    effects: [
      "The user is a member; the `join` rule of the group key policy for the group's `shareHistory` decides which " +
        'keys it receives, which are retired and whether a fresh key is activated.',
      "The joiner's projection gains the group, its members and the keys it now holds; the members' projections " +
        'gain the joiner.',
    ],
  },
  {
    operation: 'removeMember',
    original: 'sekey_delete_user_group',
    summary: 'Removes a user from a group.',
    refusals: [UNKNOWN_GROUP, UNKNOWN_USER, { code: 'NotMember', when: 'the user is not a member of the group' }],
    effects: [
      "The `leave` rule of the group key policy: the leaver holds none of the group's keys any more, live keys " +
        'are retired and, if one was active, a fresh key is activated for the remaining members.',
      "The group and its keys leave the leaver's projection. Its device is ordered to erase that key material " +
        "(the implementation's erase orders), but carrying the order out is the leaver's own host's business, and " +
        'a leaver had the keys anyway: that is why the keys are retired.',
    ],
  },
  {
    operation: 'addKey',
    original: 'sekey_add_key',
    summary: 'Generates a key for a group (in the admin HSM; the model allocates its ID).',
    refusals: [
      UNKNOWN_GROUP,
      NAME,
      {
        code: 'InvalidCryptoperiod',
        when: 'the cryptoperiod asked for is not an integer number of milliseconds from 1 to 2^53 − 1',
      },
      { code: 'CryptoperiodTooLong', when: "the cryptoperiod asked for exceeds the group's default" },
      { code: 'MaxKeysReached', when: 'the group already has `maxKeys` live keys (pre-active, active, suspended)' },
    ],
    effects: [
      "A key `K<n>` (the next number, never reused) in `preActivation`, with the group's algorithm and the " +
        "cryptoperiod asked for (default: the group's), held by the group's current members.",
    ],
  },
  {
    operation: 'keyEvent',
    original: 'sekey_activate_key, sekey_key_change_status',
    summary: "Sends a life-cycle event (`ACTIVATE`, `SUSPEND`, …) to one key's machine.",
    refusals: [
      UNKNOWN_KEY,
      {
        code: 'IllegalTransition',
        when:
          "the key's machine refuses the event: the pair is not in the key life cycle's table, or its guard is " +
          'false (`RESUME` after the end of the cryptoperiod). `EXPIRE` is always refused: before the end by its ' +
          'guard, and after it because the sweep that opens every operation has expired the key already; keys ' +
          'expire by that sweep alone',
      },
    ],
    effects: [
      "The key moves as the key life cycle says; a destroyed key's holders are dropped (its material is erased " +
        'from every device).',
      'The `compromise` or `otherKeyEvent` rule of the group key policy: compromising an active key activates a ' +
        'fresh key for the group at once.',
    ],
  },
  {
    operation: 'renameKey',
    original: 'sekey_key_change_name',
    summary: "Changes a key's name.",
    refusals: [UNKNOWN_KEY, NAME],
    effects: ["The name changes in every holder's projection."],
  },
  {
    operation: 'expireKeys',
    original: 'sekey_check_expired_keys',
    summary: 'The expiry sweep on its own, at a given time.',
    refusals: [],
    effects: ['Only the sweep that every operation runs first (see *Expiry first*).'],
  },
  {
    operation: 'selectKey',
    original: 'sekey_find_key_v1, sekey_find_key_v3',
    summary:
      "Which key a sender's device uses to encrypt for a set of recipients at a given time (a read: it changes " +
      'nothing). No recipients means the sender alone.',
    refusals: [
      {
        code: 'UnknownUser',
        when: 'the sender does not exist, or a recipient shares no group with the sender (its device cannot know it)',
      },
      { code: 'NoCommonGroup', when: 'no group contains the sender and every recipient' },
      {
        code: 'NoUsableKey',
        when: 'no group containing them all has a key that is `active` and within its cryptoperiod',
      },
    ],
    effects: [
      'Among the groups containing the sender and every recipient that have a usable key (`active`, and the time ' +
        'within `[activatedAt, expiresAt)`), the smallest (fewest members); among the usable keys of the groups of ' +
        'that size, the first by the key preference below.',
      'When the smallest common group has no usable key, the next smallest that has one is used: every group ' +
        'considered contains exactly the sender and the recipients or more, and refusing would push users to ' +
        'work around the KMS.',
      'Data for the sender alone follows the same rule. The paper (§IV-F) has SEkey look for a group whose only ' +
        'member is the sender, which always wins here when it has a usable key; with none, this goes on to the ' +
        "smallest group the sender is in, whose other members could read it (the CLI's encrypt names them). A " +
        'caller that wants the stricter reading refuses a choice whose group has more than one member.',
    ],
  },
];
