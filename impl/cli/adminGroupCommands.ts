/**
 * `sekey admin` commands about groups, their policies and their members.
 * @module
 */
import { ALGORITHMS } from '../../model/kmsState.ts';
import { formatDuration } from './durations.ts';
import type { AdminCommand } from './adminCommand.ts';
import { asking } from './adminCommand.ts';
import { UsageError } from './args.ts';
import { durationValue, positiveInteger } from './argValues.ts';
import { fields, ids, json, quoted, table } from './format.ts';
import { count } from '../simulation/chartScale.ts';

/** The group and membership commands. */
export const ADMIN_GROUP_COMMANDS: readonly AdminCommand[] = [
  {
    name: 'add-group',
    args: 'G NAME --max-keys N --cryptoperiod DURATION [--share-history]',
    summary: 'add a group with its policy (IDs: G and a number from 1, no leading zero)',
    help: [
      '  --max-keys N            most keys that can still protect (pre-active, active, suspended) at once',
      '  --cryptoperiod DURATION the default and longest cryptoperiod of its keys: 30d, 12h, 90s, 500ms',
      '  --share-history         new members also receive deactivated keys (read old data)',
    ].join('\n'),
    examples: ['sekey admin add-group G3 auditors --max-keys 2 --cryptoperiod 90d --share-history'],
    mutates: true,
    prepare: (args) => {
      const maxKeys = args.option('--max-keys');
      const cryptoperiod = args.option('--cryptoperiod');
      const shareHistory = args.flag('--share-history');
      const [id, name] = [args.positional('group ID'), args.positional('name')];
      if (maxKeys === undefined || cryptoperiod === undefined)
        throw new UsageError('a group needs its policy: --max-keys N --cryptoperiod DURATION');
      const policy = {
        maxKeys: positiveInteger(maxKeys, '--max-keys'),
        algorithm: ALGORITHMS[0],
        defaultCryptoperiodMs: durationValue(cryptoperiod, '--cryptoperiod'),
      };
      return async ({ session, io, report, did }) => {
        report(session.admin.addGroup(id, name, policy, { shareHistory }));
        did({ group: id });
        io.out(
          `added group ${id} ${quoted(name)}: at most ${count(policy.maxKeys, 'key')}, cryptoperiod ` +
            `${formatDuration(policy.defaultCryptoperiodMs)}${shareHistory ? ', shares history' : ''}`,
        );
      };
    },
  },
  {
    name: 'delete-group',
    args: 'G',
    summary: 'delete a group: its keys are retired and erased from the members’ HSMs',
    examples: ['sekey admin delete-group G2 --yes'],
    mutates: true,
    destructive: true,
    prepare: (args) => {
      const id = args.positional('group ID');
      const question = `delete group ${id}: its keys are retired and erased from the members' HSMs?`;
      return asking(
        () => question,
        async ({ session, io, report, did, confirm }) => {
          session.admin.groupInfo(id);
          await confirm(question);
          report(session.admin.deleteGroup(id));
          did({ group: id });
          io.out(`deleted group ${id}`);
        },
      );
    },
  },
  {
    name: 'rename-group',
    args: 'G NAME',
    summary: "change a group's name",
    examples: ['sekey admin rename-group G1 platform'],
    mutates: true,
    prepare: (args) => {
      const [id, name] = [args.positional('group ID'), args.positional('name')];
      return async ({ session, io, report, did }) => {
        report(session.admin.renameGroup(id, name));
        did({ group: id, name });
        io.out(`renamed group ${id} to ${quoted(name)}`);
      };
    },
  },
  {
    name: 'set-max-keys',
    args: 'G N',
    summary: "change a group's maxKeys (refused if its live keys exceed it)",
    examples: ['sekey admin set-max-keys G1 6'],
    mutates: true,
    prepare: (args) => {
      const id = args.positional('group ID');
      const n = positiveInteger(args.positional('N'), 'N');
      return async ({ session, io, report, did }) => {
        report(session.admin.setMaxKeys(id, n));
        did({ group: id, maxKeys: n });
        io.out(`group ${id}: at most ${count(n, 'key')}`);
      };
    },
  },
  {
    name: 'set-cryptoperiod',
    args: 'G DURATION',
    summary: "change a group's default cryptoperiod (refused if a live key has a longer one)",
    examples: ['sekey admin set-cryptoperiod G1 60d'],
    mutates: true,
    prepare: (args) => {
      const id = args.positional('group ID');
      const ms = durationValue(args.positional('DURATION'), 'DURATION');
      return async ({ session, io, report, did }) => {
        report(session.admin.setDefaultCryptoperiod(id, ms));
        did({ group: id, cryptoperiodMs: ms });
        io.out(`group ${id}: cryptoperiod ${formatDuration(ms)}`);
      };
    },
  },
  {
    name: 'group-info',
    args: 'G',
    summary: 'a group: policy, members and keys',
    examples: ['sekey admin group-info G1'],
    mutates: false,
    lists: true,
    prepare: (args, { json: asJson }) => {
      const id = args.positional('group ID');
      return async ({ session, io }) => {
        const g = session.admin.groupInfo(id);
        const keys = session.admin.listKeys().filter((k) => k.owner === id);
        if (asJson) {
          io.out(json({ ...g, keys }));
          return;
        }
        fields([
          ['group', `${g.id} ${quoted(g.name)}`],
          [
            'policy',
            `at most ${count(g.policy.maxKeys, 'key')}, ${g.policy.algorithm}, cryptoperiod ` +
              `${formatDuration(g.policy.defaultCryptoperiodMs)}`,
          ],
          ['history', g.shareHistory ? 'shared with new members' : 'not shared'],
          ['members', ids(g.members)],
          ['keys', keys.length === 0 ? '-' : keys.map((k) => `${k.id} (${k.state})`).join(', ')],
        ]).forEach((l) => io.out(l));
      };
    },
  },
  {
    name: 'groups',
    args: '',
    summary: 'list groups',
    examples: ['sekey admin groups'],
    mutates: false,
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const groups = session.admin.listGroups();
        if (asJson) {
          io.out(json(groups));
          return;
        }
        table(
          ['ID', 'NAME', 'MEMBERS', 'MAX-KEYS', 'CRYPTOPERIOD', 'HISTORY'],
          groups.map((g) => [
            g.id,
            g.name,
            ids(g.members),
            String(g.policy.maxKeys),
            formatDuration(g.policy.defaultCryptoperiodMs),
            g.shareHistory ? 'shared' : '-',
          ]),
        ).forEach((l) => io.out(l));
      },
  },
  {
    name: 'add-member',
    args: 'G U',
    summary: 'add a user to a group (rekeys it when it does not share its history and a member holds its active key)',
    help: [
      // The rule of impl/kms/rules/rekeyOnJoin.ts; the README's admin table says it too.
      '  In a group made without --share-history, a join deactivates every active or suspended key a member ' +
        'already holds and, if one was active, activates a fresh key for all the members (a rekey): the newcomer ' +
        'gets only the fresh key, the pre-active keys and any key no member holds, so it cannot read what came ' +
        'before it. A group made with --share-history is never rekeyed by a join: the newcomer gets every key ' +
        'that can still protect, and the deactivated ones.',
    ].join('\n'),
    examples: ['sekey admin add-member G2 U3'],
    mutates: true,
    prepare: (args) => {
      const [g, u] = [args.positional('group ID'), args.positional('user ID')];
      return async ({ session, io, report, did }) => {
        report(session.admin.addMember(g, u));
        did({ group: g, user: u });
        io.out(`${u} joined ${g}`);
      };
    },
  },
  {
    name: 'remove-member',
    args: 'G U',
    summary: 'remove a user from a group and rekey it (forward secrecy)',
    examples: ['sekey admin remove-member G1 U3'],
    mutates: true,
    prepare: (args) => {
      const [g, u] = [args.positional('group ID'), args.positional('user ID')];
      return async ({ session, io, report, did }) => {
        report(session.admin.removeMember(g, u));
        did({ group: g, user: u });
        io.out(`${u} left ${g}`);
      };
    },
  },
];
