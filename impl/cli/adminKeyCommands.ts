/**
 * `sekey admin` commands about keys: generation, the NIST SP 800-57 life-cycle events, names,
 * listings and the expiry sweep. Key events print nothing of their own: they hand the operation's
 * change report over, and the key lines every mutating command ends with say what happened
 * (`keyChanges.ts`).
 * @module
 */
import type { Admin, AdminKeyInfo } from '../kms/admin.ts';
import type { AdminChanges } from '../kms/adminChanges.ts';
import type { KeyEventType } from '../../model/keyLifecycle.ts';
import { formatDuration } from './durations.ts';
import type { AdminCommand } from './adminCommand.ts';
import { asking } from './adminCommand.ts';
import { durationValue } from './argValues.ts';
import { fields, ids, json, quoted, table, when } from './format.ts';

/** A key event command: `NAME K`, calling `call` on the admin. */
function keyEvent(
  name: string,
  summary: string,
  examples: readonly string[],
  call: (admin: Admin, keyId: string) => AdminChanges,
  confirmation?: { readonly event: KeyEventType; readonly question: (keyId: string) => string },
): AdminCommand {
  return {
    name,
    args: 'K',
    summary,
    examples,
    mutates: true,
    ...(confirmation === undefined ? {} : { destructive: true }),
    prepare: (args) => {
      const keyId = args.positional('key ID');
      return asking(
        () => confirmation?.question(keyId) ?? null,
        async ({ session, report, did, confirm }) => {
          if (confirmation !== undefined) {
            // Nobody is asked to confirm a step the key cannot take (an unknown key, an active one).
            session.admin.checkKeyEvent(keyId, confirmation.event);
            await confirm(confirmation.question(keyId));
          }
          report(call(session.admin, keyId));
          did({ key: keyId });
        },
      );
    },
  };
}

/** The lines of `key-info`. */
function keyInfoLines(k: AdminKeyInfo): string[] {
  return fields([
    ['key', `${k.id} ${quoted(k.name)} of ${k.owner}, ${k.algorithm}`],
    ['state', k.state],
    ['cryptoperiod', formatDuration(k.cryptoperiodMs)],
    ['created', when(k.createdAt)],
    ['activated', when(k.activatedAt)],
    ['expires', when(k.expiresAt)],
    ...(k.suspendedAt === null ? [] : [['suspended', when(k.suspendedAt)] as const]),
    ...(k.resumedAt === null ? [] : [['resumed', when(k.resumedAt)] as const]),
    ...(k.deactivatedAt === null ? [] : [['deactivated', when(k.deactivatedAt)] as const]),
    ...(k.compromisedAt === null ? [] : [['compromised', when(k.compromisedAt)] as const]),
    ...(k.destroyedAt === null ? [] : [['destroyed', when(k.destroyedAt)] as const]),
    ['holders', ids(k.holders)],
  ]);
}

/** The key commands. */
export const ADMIN_KEY_COMMANDS: readonly AdminCommand[] = [
  {
    name: 'add-key',
    args: 'G NAME [--cryptoperiod DURATION]',
    summary: "generate a key for a group in the admin HSM (pre-active; cryptoperiod at most the group's)",
    help: "  --cryptoperiod DURATION its cryptoperiod, at most the group's (its default): 7d, 12h, 15m, 90s",
    examples: ['sekey admin add-key G1 release-2026 --cryptoperiod 7d'],
    mutates: true,
    prepare: (args) => {
      const cryptoperiod = args.option('--cryptoperiod');
      const [group, name] = [args.positional('group ID'), args.positional('name')];
      const options =
        cryptoperiod === undefined ? {} : { cryptoperiodMs: durationValue(cryptoperiod, '--cryptoperiod') };
      return async ({ session, report }) =>
        report(session.admin.apply({ type: 'addKey', groupId: group, name, ...options, now: session.clock.now() }));
    },
  },
  keyEvent(
    'activate-key',
    'activate a pre-active key (its cryptoperiod starts)',
    ['sekey admin add-key G2 core-2027 --no-publish', 'sekey admin activate-key K2005'],
    (a, k) => a.activateKey(k),
  ),
  keyEvent('suspend-key', 'suspend an active key', ['sekey admin suspend-key K2003'], (a, k) => a.suspendKey(k)),
  keyEvent(
    'resume-key',
    'resume a suspended key (before the end of its cryptoperiod)',
    ['sekey admin suspend-key K2003 --no-publish', 'sekey admin resume-key K2003'],
    (a, k) => a.resumeKey(k),
  ),
  keyEvent(
    'deactivate-key',
    'deactivate a key (it still decrypts, never encrypts)',
    ['sekey admin deactivate-key K2004'],
    (a, k) => a.deactivateKey(k),
  ),
  keyEvent(
    'compromise-key',
    'mark a key compromised (an active one is replaced at once)',
    ['sekey admin compromise-key K2003'],
    (a, k) => a.compromiseKey(k),
  ),
  keyEvent(
    'destroy-key',
    'destroy a key no longer in use (deactivate an active or suspended one first): erased from every HSM, ' +
      'metadata kept',
    ['sekey admin destroy-key K2000 --yes'],
    (a, k) => a.destroyKey(k),
    {
      event: 'DESTROY',
      question: (k) => `destroy key ${k}: every HSM erases it, and what it protected cannot be decrypted any more?`,
    },
  ),
  {
    name: 'rename-key',
    args: 'K NAME',
    summary: "change a key's name",
    examples: ['sekey admin rename-key K2003 eng-2026-q1'],
    mutates: true,
    prepare: (args) => {
      const [keyId, name] = [args.positional('key ID'), args.positional('name')];
      return async ({ session, report, did }) => {
        report(session.admin.renameKey(keyId, name));
        did({ key: keyId, name });
      };
    },
  },
  {
    name: 'key-info',
    args: 'K',
    summary: "a key's metadata, life-cycle times and holders (never its bytes)",
    examples: ['sekey admin key-info K2003'],
    mutates: false,
    lists: true,
    prepare: (args, { json: asJson }) => {
      const keyId = args.positional('key ID');
      return async ({ session, io }) => {
        const k = session.admin.keyInfo(keyId);
        (asJson ? [json(k)] : keyInfoLines(k)).forEach((l) => io.out(l));
      };
    },
  },
  {
    name: 'keys',
    args: '[--group G]',
    summary: 'list keys',
    help: '  --group G               only the keys of group G',
    examples: ['sekey admin keys --group G1'],
    mutates: false,
    lists: true,
    prepare: (args, { json: asJson }) => {
      const group = args.option('--group');
      return async ({ session, io }) => {
        // A group that does not exist is refused (UnknownGroup), not listed as one without keys.
        if (group !== undefined) session.admin.groupInfo(group);
        const keys = session.admin.listKeys().filter((k) => group === undefined || k.owner === group);
        if (asJson) {
          io.out(json(keys));
          return;
        }
        table(
          ['ID', 'NAME', 'GROUP', 'STATE', 'ACTIVATED', 'EXPIRES', 'HOLDERS'],
          keys.map((k) => [k.id, k.name, k.owner, k.state, when(k.activatedAt), when(k.expiresAt), ids(k.holders)]),
        ).forEach((l) => io.out(l));
      };
    },
  },
  {
    name: 'sweep',
    args: '',
    summary: 'expire every key whose cryptoperiod has ended (also done before every operation)',
    examples: ['sekey admin sweep --at +30d'],
    mutates: true,
    prepare:
      () =>
      async ({ session, io, report }) => {
        const changes = session.admin.sweep();
        report(changes);
        if (changes.transitions.length === 0) io.out('no key has reached the end of its cryptoperiod');
      },
  },
];
