/**
 * What a rule may do while an administrator operation is in progress: run SQL inside the
 * operation's transaction, generate keys in the admin HSM, schedule erasures for after the commit,
 * and record what it changed. `Admin` (`admin.ts`) provides it; every rule of this folder takes it.
 *
 * The rules of this folder re-implement the whole-KMS rules of `model/` over SQL on purpose: the
 * model is then an independent oracle, and `properties/kmsImpl.properties.test.ts` compares the two
 * after every step. Each rule names the model function it mirrors; a change to one is a change to
 * both. The key life cycle itself is not re-implemented: every step goes through the model's
 * machine (`rules/stepKey.ts`).
 *
 * | rule file               | mirrors                                                         |
 * |-------------------------|-----------------------------------------------------------------|
 * | `expiry.ts`             | `expireKeys` (`model/kms.ts`)                                   |
 * | `retire.ts`             | `retire` (`model/kms.ts`)                                       |
 * | `rekeyOnLeave.ts`       | `removeMemberNow` (`model/kms.ts`)                              |
 * | `newKey.ts`             | `allocateKey`, `addReplacementKey` (`model/kms.ts`)             |
 * | `keyEvent.ts`           | `applyOperation` case `keyEvent`: replacement on compromise     |
 * | `groupDeletion.ts`      | `applyOperation` case `deleteGroup`                             |
 * | `rekeyOnJoin.ts`        | `addMemberNow` (`model/kms.ts`): backward secrecy              |
 * | `policyCheck.ts`        | `countLiveKeys`, cases `addKey` and `changePolicy` (maxKeys …)  |
 * | `keySelection.ts`       | `selectKey`, `compareKeyPreference`, `canProtect` (`model/selectKey.ts`) |
 * | `needToKnow.ts`         | `projectUser` (`model/projection.ts`)                           |
 * | `affectedUsers.ts`      | `affectedUsers` (`model/projection.ts`)                         |
 * | `require.ts`            | `getUser`, `getGroup`, `getKey` (`model/kms.ts`)                |
 * | `holders.ts`            | `KeyRecord.holders` updates (`model/kms.ts`)                    |
 * | `stepKey.ts`            | `stepKey` (`model/kms.ts`): the key machine decides every step  |
 * @module
 */
import type { KeyId } from '../../../model/kms.ts';
import type { Database } from '../../db/sqlite.ts';
import type { ChangeRecorder } from '../adminChanges.ts';

/** An operation in progress. */
export interface Mutation {
  readonly db: Database;
  readonly now: number;
  /** Allocates the next key ID and generates the key inside the admin HSM. */
  generateKey(): KeyId;
  /** Erases a key from the admin HSM once the transaction has committed. */
  eraseAfterCommit(keyId: KeyId): void;
  /** Where rules record what they change. */
  readonly changes: ChangeRecorder;
}
