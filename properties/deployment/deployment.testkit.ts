/**
 * The deployment suite's real system: `impl/simulation/deployment.ts` (the one `sekey simulate`
 * lives) on the test devices (test PINs and manufacturer, cheap PIN hashing), and the deliberately
 * broken variants ({@link Mutant}) made of that deployment's hooks — switches of this test kit,
 * never of production code — so that each invariant of the suite can be shown to bite.
 * Test support only.
 * @module
 */
import type { SecubeDevice } from '../../device/secube.ts';
import { compareIds } from '../../model/kms.ts';
import type { GroupId, UserId } from '../../model/kms.ts';
import type { KeyChoice, User } from '../../impl/kms/user.ts';
import type { SyncReport } from '../../impl/kms/userSync.ts';
import { UPDATE_SEQUENCE_COUNTER } from '../../device/acknowledgement.ts';
import type { SyncStalledError } from '../../impl/kms/syncStalledError.ts';
import { encodeAckHeader } from '../../impl/protocol/ackFile.ts';
import { ackFileName, ackStream } from '../../impl/protocol/streams.ts';
import { concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { Deployment } from '../../impl/simulation/deployment.ts';
import type { DeploymentHooks, UserSlot } from '../../impl/simulation/deployment.ts';
import { openUser } from '../../impl/simulation/deployment.ts';
import { TEST_DEVICES } from '../../impl/simulation/testDevices.testkit.ts';
import type { SecretTap } from '../../impl/simulation/secretTap.ts';
import type { Transport } from '../../impl/protocol/transport.ts';
import { deviceKeyNumber, isKmsDeviceKey } from '../../impl/protocol/deviceKeyIds.ts';
import { BROKEN_REKEY } from './brokenRekey.testkit.ts';
import type { KeyView } from '../../model/projection.ts';

/**
 * Deliberately broken variants, one per invariant, to show that each invariant bites:
 * - `leakKeyIntoShare` (key-secrecy): every update file written to the share carries the latest
 *   generated key's bytes at its end.
 * - `foreignKeyToUser` (need-to-know): after each sync the admin HSM also wraps a key of a group the
 *   user is not in, and the user's HSM imports it.
 * - `decryptLies` (readability): `User.decrypt` returns the plaintext with its last byte flipped.
 * - `findKeyLargestGroup` (smallest-group): `User.findKey` prefers the largest common group.
 * - `findKeyLowestNumber` (smallest-group): `User.findKey` reverses the last rule of key preference:
 *   of usable keys tied on activation and on the end of their cryptoperiod, the lowest number wins.
 * - `findKeyLowestNumberBehind` (smallest-group): the same, but only on a replica behind the admin
 *   (the keys it holds, or their states, are not those the admin gives it now): a bug a synced
 *   sender never shows, which only the judgement of a sender behind the model can catch.
 * - `rollbackWholeDevice` (integrity): an SD rollback also rolls back the HSM's flash (a device
 *   without anti-rollback storage), so the old replica opens.
 * - `keyLostOnPowerCut` (durability): after a power cut the rebooted HSM loses one KMS key.
 * - `resyncIgnored` (convergence): the publisher ignores resync requests, so a blocked (or stuck)
 *   user is never brought back.
 * - `noRekeyOnLeave` (forward-secrecy) and `noRekeyOnJoin` (backward-secrecy): membership changes
 *   without the rekey in the model and in the implementation alike (`brokenRekey.testkit.ts`; the
 *   implementation's rule is switched through `vi.mock`, so only test files that mock it run them).
 * - `adminSkipsRekey` (model-agreement): the implementation alone skips the rekey on leave (same
 *   switch); the model still rekeys.
 * - `acknowledgeStalled` (integrity): a sync that stalls on a full key store (`StoreFull`) is taken
 *   for done: the HSM records the update it reached and the host acknowledges it, its work still owed.
 */
export const MUTANTS = [
  'leakKeyIntoShare',
  'foreignKeyToUser',
  'decryptLies',
  'findKeyLargestGroup',
  'findKeyLowestNumber',
  'findKeyLowestNumberBehind',
  'rollbackWholeDevice',
  'keyLostOnPowerCut',
  'resyncIgnored',
  'noRekeyOnLeave',
  'noRekeyOnJoin',
  'adminSkipsRekey',
  'acknowledgeStalled',
] as const;
/** A deliberately broken variant. */
export type Mutant = (typeof MUTANTS)[number];

/** A deployment on the test devices, through the broken variant `mutant` if one is given. */
export async function createDeployment(options: {
  readonly seed: string;
  readonly start: number;
  readonly mutant?: Mutant | undefined;
  /** Each user host's clock skew against the admin's (`DeploymentOptions.skews`). */
  readonly skews?: Readonly<Record<UserId, number>>;
}): Promise<Deployment> {
  BROKEN_REKEY.leave = options.mutant === 'noRekeyOnLeave' || options.mutant === 'adminSkipsRekey';
  BROKEN_REKEY.join = options.mutant === 'noRekeyOnJoin';
  // A hook that reads the deployment it is part of reads it once it exists.
  let deployment: Deployment | null = null;
  const self = (): Deployment => {
    if (deployment === null) throw new Error('test bug: a hook ran before its deployment was made');
    return deployment;
  };
  deployment = await Deployment.create({
    seed: options.seed,
    start: options.start,
    devices: TEST_DEVICES,
    ...(options.skews === undefined ? {} : { skews: options.skews }),
    hooks: options.mutant === undefined ? {} : mutantHooks(options.mutant, self),
  });
  return deployment;
}

/** The deployment hooks of a broken variant (the rekey variants switch rules, not hooks). */
function mutantHooks(mutant: Mutant, self: () => Deployment): DeploymentHooks {
  switch (mutant) {
    case 'leakKeyIntoShare':
      return { transport: leakingTransport };
    case 'foreignKeyToUser':
      return { afterSync: (d, slot) => giveForeignKey(d, slot) };
    case 'decryptLies':
      return {
        decrypt: (plain) => {
          if (plain.length === 0) return plain;
          const lie = plain.slice();
          lie[lie.length - 1] = (lie[lie.length - 1] as number) ^ 1;
          return lie;
        },
      };
    case 'findKeyLargestGroup':
      return {
        findKey: (user, recipients, real) => {
          const everyone = new Set([user.id, ...recipients]);
          const groups = user
            .groups()
            .filter((g) => [...everyone].every((u) => g.members.includes(u)))
            .sort((a, b) => b.members.length - a.members.length);
          for (const g of groups) {
            try {
              return user.findKeyInGroup(g.id as GroupId);
            } catch {
              // no usable key in that group
            }
          }
          return real;
        },
      };
    case 'findKeyLowestNumber':
      return { findKey: lowestNumberTied };
    case 'findKeyLowestNumberBehind':
      return {
        findKey: (user, recipients, real) =>
          behindAdmin(self(), user) ? lowestNumberTied(user, recipients, real) : real,
      };
    case 'rollbackWholeDevice':
      return { rollbackFlashToo: true };
    case 'keyLostOnPowerCut':
      return { afterReboot: loseOneKey };
    case 'resyncIgnored':
      return {
        publisher: (publisher) => Object.defineProperty(publisher, 'requestResync', { value: () => undefined }),
      };
    case 'noRekeyOnLeave':
    case 'noRekeyOnJoin':
    case 'adminSkipsRekey':
      return {};
    case 'acknowledgeStalled':
      return { stalledSync: acknowledgeStalled };
  }
}

/**
 * What a host that took a full key store for done would do after a sync that stalled: the HSM records
 * the update the replica reached (it authenticated it in this session) and seals its acknowledgement,
 * written to the share as the user's host writes it; the sync then answers as though complete. A
 * stall with no file opened in the session cannot be recorded: it stays the stall it is.
 */
async function acknowledgeStalled(d: Deployment, slot: UserSlot, stalled: SyncStalledError): Promise<SyncReport> {
  const user = openUser(slot);
  const sequence = user.appliedSequence;
  try {
    if (slot.device.counterRead(UPDATE_SEQUENCE_COUNTER) < sequence) slot.device.recordUpdateApplied(sequence);
  } catch {
    throw stalled;
  }
  const header = encodeAckHeader({
    userId: slot.userId,
    serial: slot.device.serial,
    sequence,
    fileHash: hexToBytes(user.appliedFileHash),
  });
  const seal = slot.device.acknowledge(user.keyIds.userToAdminKeyId, header);
  await d.transport.write(ackStream(slot.userId), ackFileName(sequence), concatBytes(header, seal));
  return stalled.report;
}

/**
 * The key-number rule reversed (`compareKeyPreference` of `impl/kms/rules/keySelection.ts`), read from
 * the replica: of the usable keys of common groups of the chosen group's size that tie with the real
 * choice on activation and on the end of their cryptoperiod, the lowest-numbered one.
 */
export function lowestNumberTied(user: User, recipients: readonly UserId[], real: KeyChoice): KeyChoice {
  const everyone = [user.id, ...recipients];
  const groups = user.groups();
  const size = groups.find((g) => g.id === real.groupId)?.members.length;
  const tier = new Set(
    groups.filter((g) => g.members.length === size && everyone.every((u) => g.members.includes(u))).map((g) => g.id),
  );
  const keys = user.keys();
  const chosen = keys.find((k) => k.id === real.keyId);
  const [lowest] = keys
    .filter(
      (k) =>
        tier.has(k.owner) &&
        k.state === 'active' &&
        k.activatedAt === chosen?.activatedAt &&
        k.expiresAt === chosen?.expiresAt,
    )
    .sort((a, b) => compareIds(a.id, b.id));
  return lowest === undefined ? real : { keyId: lowest.id, groupId: lowest.owner };
}

/**
 * Whether `user`'s replica is behind the admin: the keys it holds, with their states and times, are
 * not those the admin's database gives that user now (false when no admin is open to ask).
 */
function behindAdmin(d: Deployment, user: User): boolean {
  const said = (keys: ReadonlyArray<Pick<KeyView, 'id' | 'state' | 'activatedAt' | 'expiresAt'>>) =>
    JSON.stringify(
      [...keys].sort((a, b) => compareIds(a.id, b.id)).map((k) => [k.id, k.state, k.activatedAt, k.expiresAt]),
    );
  try {
    return said(d.admin.listKeys().filter((k) => k.holders.includes(user.id))) !== said(user.keys());
  } catch {
    return false;
  }
}

function giveForeignKey(d: Deployment, slot: UserSlot): void {
  const user = openUser(slot);
  const mine = new Set(user.groups().map((g) => g.id));
  const foreign = d.admin
    .listKeys()
    .find(
      (k) =>
        !mine.has(k.owner) &&
        !k.holders.includes(slot.userId) &&
        k.state !== 'destroyed' &&
        k.state !== 'destroyedCompromised',
    );
  if (!foreign) return;
  const n = deviceKeyNumber(foreign.id);
  if (slot.device.listKeyIds().includes(n)) return;
  // Bound to a file beyond the HSM's last recorded one: what a genuine file would carry next.
  const sequence = slot.device.counterRead(UPDATE_SEQUENCE_COUNTER) + 1;
  const { blob } = d.adminDevice.exportWrapped(n, user.keyIds.wrappingKeyId, sequence);
  slot.device.importWrapped(n, blob, user.keyIds.wrappingKeyId);
}

function loseOneKey(device: SecubeDevice): void {
  const victim = device.listKeyIds().filter(isKmsDeviceKey)[0];
  if (victim !== undefined) device.deleteKey(victim);
}

function leakingTransport(inner: Transport, secrets: SecretTap): Transport {
  return {
    list: (s) => inner.list(s),
    read: (s, n) => inner.read(s, n),
    remove: (s, n) => inner.remove(s, n),
    write: async (s, n, bytes) => {
      const secret = secrets.latest();
      if (!s.startsWith('updates/') || secret === undefined) return inner.write(s, n, bytes);
      const out = new Uint8Array(bytes.length + secret.length);
      out.set(bytes);
      out.set(secret, bytes.length);
      return inner.write(s, n, out);
    },
  };
}
