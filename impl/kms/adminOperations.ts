/**
 * The model's operations (`KmsOperation`) carried out by the {@link Admin}: one vocabulary for the
 * property suites (which run the same sequence on the model and here), scripts and the CLI. The
 * operation's `now` is the admin's clock's business: callers that replay model operations set the
 * clock to it first.
 * @module
 */
import type { KeyId, KmsOperation } from '../../model/kms.ts';
import type { Admin } from './admin.ts';

/** Carries out `op`; returns the new key's ID for `addKey`. Throws the model's `KmsError` on refusal. */
export function applyAdminOperation(admin: Admin, op: KmsOperation): KeyId | undefined {
  switch (op.type) {
    case 'addUser':
      admin.addUser(op.userId, op.name);
      return undefined;
    case 'deleteUser':
      admin.deleteUser(op.userId);
      return undefined;
    case 'renameUser':
      admin.renameUser(op.userId, op.name);
      return undefined;
    case 'addGroup':
      admin.addGroup(op.groupId, op.name, op.policy, op.shareHistory === undefined ? {} : { shareHistory: op.shareHistory });
      return undefined;
    case 'deleteGroup':
      admin.deleteGroup(op.groupId);
      return undefined;
    case 'renameGroup':
      admin.renameGroup(op.groupId, op.name);
      return undefined;
    case 'changePolicy':
      admin.changePolicy(op.groupId, op.policy);
      return undefined;
    case 'addMember':
      admin.addMember(op.groupId, op.userId);
      return undefined;
    case 'removeMember':
      admin.removeMember(op.groupId, op.userId);
      return undefined;
    case 'addKey':
      return admin.addKey(op.groupId, op.name, op.cryptoperiodMs === undefined ? {} : { cryptoperiodMs: op.cryptoperiodMs });
    case 'renameKey':
      admin.renameKey(op.keyId, op.name);
      return undefined;
    case 'expireKeys':
      admin.sweepExpired();
      return undefined;
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
      return undefined;
    }
  }
}
