/**
 * The model's operations (`KmsOperation`) carried out by the {@link Admin} through its named
 * methods, so that a deployment and its reference model run the same operation: the deployment
 * property suite and `sekey simulate` both drive the administrator through it.
 * @module
 */
import type { KmsOperation } from '../../model/kms.ts';
import type { Admin } from '../kms/admin.ts';

/** Carries out `op`; throws the model's `KmsError` on refusal. */
export function runAdminOperation(admin: Admin, op: KmsOperation): void {
  switch (op.type) {
    case 'addUser':
      admin.addUser(op.userId, op.name);
      return;
    case 'deleteUser':
      admin.deleteUser(op.userId);
      return;
    case 'renameUser':
      admin.renameUser(op.userId, op.name);
      return;
    case 'addGroup':
      admin.addGroup(
        op.groupId,
        op.name,
        op.policy,
        op.shareHistory === undefined ? {} : { shareHistory: op.shareHistory },
      );
      return;
    case 'deleteGroup':
      admin.deleteGroup(op.groupId);
      return;
    case 'renameGroup':
      admin.renameGroup(op.groupId, op.name);
      return;
    case 'changePolicy':
      admin.changePolicy(op.groupId, op.policy);
      return;
    case 'addMember':
      admin.addMember(op.groupId, op.userId);
      return;
    case 'removeMember':
      admin.removeMember(op.groupId, op.userId);
      return;
    case 'addKey':
      admin.addKey(op.groupId, op.name, op.cryptoperiodMs === undefined ? {} : { cryptoperiodMs: op.cryptoperiodMs });
      return;
    case 'renameKey':
      admin.renameKey(op.keyId, op.name);
      return;
    case 'expireKeys':
      admin.sweepExpired();
      return;
    case 'keyEvent': {
      const calls = {
        ACTIVATE: () => admin.activateKey(op.keyId),
        SUSPEND: () => admin.suspendKey(op.keyId),
        RESUME: () => admin.resumeKey(op.keyId),
        DEACTIVATE: () => admin.deactivateKey(op.keyId),
        EXPIRE: () => admin.expireKey(op.keyId),
        COMPROMISE: () => admin.compromiseKey(op.keyId),
        DESTROY: () => admin.destroyKey(op.keyId),
      } as const;
      calls[op.event.type]();
      return;
    }
  }
}
