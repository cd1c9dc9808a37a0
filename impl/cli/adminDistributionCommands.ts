/**
 * `sekey admin` commands about getting decisions onto the users' HSMs — publishing update files to
 * the share, collecting acknowledgements, seeing who is stale, resynchronising — and the audit log.
 * `status`, `stale` and `audit` only read: they commit nothing and add nothing to the audit log
 * (acknowledgements waiting on the share are counted, not collected).
 * @module
 */
import type { AuditEntry } from '../db/auditLog.ts';
import { isShareFailure } from '../host/sessionEnd.ts';
import { fileLabel } from '../kms/publisher.ts';
import type { PublishReport } from '../kms/publisher.ts';
import type { AheadDevice } from '../kms/acknowledgementCollector.ts';
import { describeAcknowledged, describeSetAside, warnAboutHsms } from './acknowledgementLines.ts';
import type { AdminCommand } from './adminCommand.ts';
import { positiveInteger } from './argValues.ts';
import { bytes, json, table, when } from './format.ts';
import { deviceOf } from './adminUserCommands.ts';
import { formatDuration } from './durations.ts';

/**
 * One line saying what a publish wrote: its new files, those of earlier publications it wrote again,
 * and the files it removed from the share as none of the admin's.
 */
export function describePublish(report: PublishReport): string {
  const rewritten = report.rewritten.map((f) => `${f.userId} #${f.sequence}`);
  const removed = report.removed.map((f) => `${f.userId}/${f.name}`);
  const again =
    (rewritten.length === 0 ? '' : `; wrote again, not on the share as committed: ${rewritten.join(', ')}`) +
    (removed.length === 0
      ? ''
      : `; removed from the share, numbered past what this admin database published (planted, or from before a ` +
        `restore of the admin HSM): ${removed.join(', ')}`);
  if (report.published.length === 0) return `published: nothing (no provisioned user's view changed)${again}`;
  const files = report.published.map((p) => `${fileLabel(p)} (${bytes(p.bytes)})`);
  return `published: ${files.join(', ')}${again}`;
}

/** The distribution and audit commands. */
export const ADMIN_DISTRIBUTION_COMMANDS: readonly AdminCommand[] = [
  {
    name: 'publish',
    args: '',
    summary:
      'collect acknowledgements, then write an update file to the share for every user whose view changed, a ' +
      'heartbeat to every user whose latest file is old',
    help: [
      'Every file carries a heartbeat (when it was issued); users refuse to encrypt once the latest one',
      "they applied is older than the installation's freshness window. Run this from cron at least once per",
      'heartbeat interval (e.g. hourly), so that users who sync keep encrypting: `sekey admin publish --pin',
      '…`. It first collects the acknowledgements waiting on the share (as collect-acks does). `stale`',
      'counts from when the oldest update a user has not acknowledged was published: an acknowledgement',
      'held back on the share and released later counts for the update it acknowledges, not for the day',
      'it arrives. A user HSM that',
      'acknowledged a file this database never published (the admin HSM was restored from a backup) gets',
      'nothing more, and a warning on standard error names it at every run until a new HSM replaces it; so',
      'does one for an acknowledgement from an HSM the database has no record of (provisioned after that',
      'backup, or made up by someone who can write the share), until the user is provisioned again.',
    ].join('\n'),
    examples: ['sekey admin publish --at +1d'],
    mutates: false,
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        // Collected first: the files acknowledged leave the share and the outbox before this round
        // (README: the publisher runs from cron, nothing else needs to).
        const collected = await session.publisher.collectAcknowledgements();
        const { accepted: acknowledged, setAside, ahead, unrecordedHsms } = collected;
        const report = await session.publisher.publish();
        if (asJson) io.out(json({ acknowledged, setAside, ahead, unrecordedHsms, ...report }));
        else {
          if (acknowledged.length > 0) io.out(describeAcknowledged(acknowledged));
          if (setAside.length > 0) io.out(describeSetAside(setAside));
          io.out(describePublish(report));
        }
        warnAboutHsms(io, collected);
      },
  },
  {
    name: 'collect-acks',
    args: '',
    summary: "read the users' acknowledgements from the share (each checked by the admin HSM)",
    examples: ['sekey admin collect-acks'],
    mutates: false,
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const collected = await session.publisher.collectAcknowledgements();
        if (asJson) io.out(json(collected));
        else {
          const { accepted, setAside } = collected;
          io.out(accepted.length === 0 ? 'no new acknowledgement' : describeAcknowledged(accepted));
          if (setAside.length > 0) io.out(describeSetAside(setAside));
        }
        warnAboutHsms(io, collected);
      },
  },
  {
    name: 'status',
    args: '',
    summary: "each provisioned user's publication state (counting acknowledgements waiting on the share)",
    examples: ['sekey admin status'],
    mutates: false,
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const found = await session.publisher.inspectAcknowledgements();
        const { waiting, ahead } = found;
        const aheadAt = new Map(ahead.map((a) => [a.userId, a.acknowledged]));
        const states = session.publisher.publicationStates(waiting).map((s) => ({
          ...s,
          retired: deviceOf(session.admin, s.userId)?.inService === false,
          ...(aheadAt.has(s.userId) ? { aheadOfDatabase: aheadAt.get(s.userId) } : {}),
        }));
        warnAboutHsms(io, found);
        if (asJson) {
          io.out(json(states));
          return;
        }
        // A retired HSM (its user deleted) only has its erase order to acknowledge. `upToDate` is the
        // machine's first state (model/publication.ts): nothing published to the HSM yet, which the
        // word alone hid (a provisioned HSM holding nothing read as up to date).
        const said = (state: string) => (state === 'upToDate' ? 'upToDate: nothing published yet' : state);
        table(
          ['USER', 'STATE', 'PUBLISHED', 'ACKNOWLEDGED'],
          states.map((s) => [
            s.userId,
            (s.retired ? `${said(s.state)}, HSM retired` : said(s.state)) +
              (s.aheadOfDatabase === undefined ? '' : `, HSM ahead: applied #${s.aheadOfDatabase} (see warning)`),
            `#${s.published}`,
            `#${s.acknowledged}`,
          ]),
        ).forEach((l) => io.out(l));
      },
  },
  {
    name: 'stale',
    args: '',
    summary:
      'users who left an update unacknowledged too long (counting acknowledgements waiting on the share); exit 1 ' +
      'if any',
    examples: ['sekey admin stale'],
    mutates: false,
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io, installation }) => {
        const found = await session.publisher.inspectAcknowledgements();
        const { waiting, ahead } = found;
        const stale = session.publisher.staleUsers(waiting);
        if (asJson) io.out(json(stale));
        else if (stale.length === 0) io.out('no stale user');
        else {
          const after = formatDuration(installation.config().staleAfterMs);
          // An HSM ahead of the database gets nothing more: no resync can help it, a new HSM does.
          const held = stale.filter((u) => ahead.some((a) => a.userId === u));
          if (held.length > 0) {
            io.out(
              `stale (an update unacknowledged for ${after}): ${held.join(', ')} — their HSM is ahead of this admin ` +
                'database and gets nothing more (see the warning): `sekey admin provision U`',
            );
          }
          // A deleted user's HSM is owed only its erase order: a resync changes nothing for one that
          // will never sync again; forgetting it does.
          const retired = stale.filter((u) => !held.includes(u) && deviceOf(session.admin, u)?.inService === false);
          const live = stale.filter((u) => !held.includes(u) && !retired.includes(u));
          if (live.length > 0) {
            io.out(
              `stale (an update unacknowledged for ${after}): ${live.join(', ')} — their updates may be withheld; ` +
                `\`sekey admin resync U\``,
            );
          }
          if (retired.length > 0) {
            io.out(
              `stale (an update unacknowledged for ${after}): ${retired.join(', ')} — deleted, their retired HSM ` +
                'never acknowledged its last file (the order to erase its keys); one that never will (destroyed, ' +
                'lost): `sekey admin forget-hsm U --destroyed|--lost`, else `sekey admin resync U`',
            );
          }
        }
        warnAboutHsms(io, found);
        // Exit 1 when someone is stale, so that a monitoring script can act on the exit code alone.
        return stale.length > 0 ? 1 : 0;
      },
  },
  {
    name: 'resync',
    args: 'U',
    summary: "make a user's next update file a full resync (recovers a stale or blocked user)",
    examples: ['sekey admin resync U4'],
    mutates: true,
    prepare: (args) => {
      const userId = args.positional('user ID');
      return async ({ session, io, did }) => {
        // The share read too, not only what a collection recorded: a resync numbered past what an HSM
        // ahead of this database applied is one it would apply, keeping the keys it holds under numbers
        // this database gives to other keys. None is requested for it. A share that cannot be read
        // leaves the records: the request is saved, and the publication stops at the share as any does
        // (exit 4); `publish` collects before it publishes, so it finds the HSM before sending it.
        let found: AheadDevice[];
        try {
          found = (await session.publisher.inspectAcknowledgements()).ahead;
        } catch (error) {
          if (!isShareFailure(error)) throw error;
          found = session.publisher.aheadDevices();
        }
        const ahead = found.filter((a) => a.userId === userId);
        if (ahead.length > 0) {
          // Recorded now if only the share said so (a collection, as publish runs first): held from here on.
          if (!session.publisher.aheadDevices().some((a) => a.userId === userId))
            await session.publisher.collectAcknowledgements();
          did({ user: userId, resync: false });
          io.out(
            `${userId}: its HSM is ahead of this admin database, and a resync cannot repair it: none requested, ` +
              'and nothing more is published to it (see the warning)',
          );
          warnAboutHsms(io, { ahead, unrecordedHsms: [] });
          return;
        }
        const notNeeded = session.publisher.requestResync(userId).includes(userId);
        did({ user: userId, resync: !notNeeded });
        io.out(
          notNeeded
            ? `${userId}: deleted, and its retired HSM acknowledged holding nothing: no resync is needed`
            : `${userId}: the next update is a full resync`,
        );
      };
    },
  },
  {
    name: 'audit',
    args: '[--verify] [--last N]',
    summary: 'the hash-chained audit log; --verify checks the chain (exit 1 if broken)',
    help: [
      '  --verify                check the chain from the first entry to the last; exit 1 if it is broken',
      '  --last N                only the last N entries',
      "  --json                  an array of entries (with --verify: {entries, head}); each entry's details",
      '                          as a JSON value (details) and as the text its hash covers (detailsText)',
    ].join('\n'),
    examples: ['sekey admin audit --verify --last 20'],
    mutates: false,
    lists: true,
    prepare: (args, { json: asJson }) => {
      const verify = args.flag('--verify');
      const lastText = args.option('--last');
      const last = lastText === undefined ? undefined : positiveInteger(lastText, '--last');
      return async ({ session, io }) => {
        const all = session.admin.auditLog();
        const entries = last === undefined ? all : all.slice(-last);
        const head = verify ? session.admin.verifyAuditLog() : undefined;
        if (asJson) {
          const objects = entries.map(auditEntryJson);
          io.out(json(verify ? { entries: objects, head } : objects));
          session.acknowledgeCutShort();
          return;
        }
        if (!verify || last !== undefined) {
          table(
            ['SEQ', 'TIME', 'ACTION', 'DETAILS'],
            entries.map((e) => [String(e.seq), when(e.at), e.action, e.details === '{}' ? '' : e.details]),
          ).forEach((l) => io.out(l));
        }
        if (head !== undefined) io.out(`audit log: ${all.length} entries, hash chain intact, head ${head}`);
        // Shown what was done: admin commands stop warning of one cut short (see UNSAVED_ADMIN_CHANGE).
        session.acknowledgeCutShort();
      };
    },
  },
];

/**
 * An audit entry for `--json`: its details as the JSON value they hold, for a program to query
 * (`jq '.[] | select(.details.userId == "U1")'`), and as the text the hash covers (`detailsText`),
 * for one that checks the chain itself (`auditHash` in `impl/db/auditLog.ts`). An entry whose
 * details are not JSON (none is written so; the chain covers any text) has that text in both.
 */
function auditEntryJson(entry: AuditEntry): object {
  const { details, prevHash, hash, ...fields } = entry;
  let parsed: unknown = details;
  try {
    parsed = JSON.parse(details);
  } catch {
    // not JSON: the text itself
  }
  return { ...fields, details: parsed, detailsText: details, prevHash, hash };
}
