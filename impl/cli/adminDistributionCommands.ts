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
import type { PublishReport, StrayFile } from '../kms/publisher.ts';
import type { AheadDevice } from '../kms/acknowledgementCollector.ts';
import type { UserId } from '../../model/kms.ts';
import { updateFileName, updateStream } from '../protocol/streams.ts';
import { SHARE_TOOK_ALL } from './announce.ts';
import type { ShareOutcome } from './announce.ts';
import { describeAcknowledged, describeSetAside, warnAboutHsms } from './acknowledgementLines.ts';
import type { AdminCommand } from './adminCommand.ts';
import { positiveInteger } from './argValues.ts';
import { bytes, json, table, when } from './format.ts';
import { deviceOf } from './adminUserCommands.ts';
import { formatDuration } from './durations.ts';

/** A file of a publication that the share did not take: its new file, or one it wrote again. */
export interface FileNotWritten {
  readonly userId: UserId;
  readonly sequence: number;
  /** Its name in the user's stream (`000000000006.update`). */
  readonly name: string;
}

/**
 * What of `report` the share took (its writes wait for the session's save, and a full or read-only
 * share refuses them): the report limited to the files it took, the files it did not take, and the
 * strays it did not let go.
 */
export function publishOnShare(
  report: PublishReport,
  share: ShareOutcome,
): { readonly took: PublishReport; readonly notWritten: FileNotWritten[]; readonly notRemoved: StrayFile[] } {
  // As `ShareOperationsFailed` names the operations on the share.
  const took = (op: 'write' | 'remove', f: { readonly userId: UserId; readonly name: string }): boolean =>
    share.took(`${op} ${updateStream(f.userId)}/${f.name}`);
  const fileOf = (f: { readonly userId: UserId; readonly sequence: number; readonly name: string }) => ({
    userId: f.userId,
    sequence: f.sequence,
    name: f.name,
  });
  const published = report.published.map((p) => ({
    entry: p,
    file: fileOf({ ...p, name: updateFileName(p.sequence, p.kind) }),
  }));
  return {
    took: {
      ...report,
      published: published.filter((p) => took('write', p.file)).map((p) => p.entry),
      rewritten: report.rewritten.filter((f) => took('write', f)),
      removed: report.removed.filter((f) => took('remove', f)),
    },
    notWritten: [...published.map((p) => p.file), ...report.rewritten.map(fileOf)].filter((f) => !took('write', f)),
    notRemoved: report.removed.filter((f) => !took('remove', f)),
  };
}

/**
 * `report` for `--json`, as the share took it: its fields as ever (what was committed), and beside
 * them `notWritten` and `notRemoved` where the share did not take everything (the same files the
 * text line names).
 */
export function publishJson(report: PublishReport, share: ShareOutcome): Readonly<Record<string, unknown>> {
  const { notWritten, notRemoved } = publishOnShare(report, share);
  return {
    ...report,
    ...(notWritten.length === 0 ? {} : { notWritten }),
    ...(notRemoved.length === 0 ? {} : { notRemoved }),
  };
}

/**
 * One line saying what a publish wrote: its new files, those of earlier publications it wrote again,
 * and the files it removed from the share as none of the admin's; each only as far as the share
 * took it, and what it did not take said after (it said `published:` of files a full share refused).
 */
export function describePublish(report: PublishReport, share: ShareOutcome = SHARE_TOOK_ALL): string {
  const { took, notWritten, notRemoved } = publishOnShare(report, share);
  const rewritten = took.rewritten.map((f) => `${f.userId} #${f.sequence}`);
  const removed = took.removed.map((f) => `${f.userId}/${f.name}`);
  const again =
    (rewritten.length === 0 ? '' : `; wrote again, not on the share as committed: ${rewritten.join(', ')}`) +
    (removed.length === 0
      ? ''
      : `; removed from the share, numbered past what this admin database published (planted, or from before a ` +
        `restore of the admin HSM): ${removed.join(', ')}`);
  const refused =
    (notWritten.length === 0
      ? ''
      : '; not on the share (committed; the next `sekey admin publish` writes them): ' +
        notWritten.map((f) => `${f.userId} #${f.sequence}`).join(', ')) +
    (notRemoved.length === 0
      ? ''
      : `; not removed from the share: ${notRemoved.map((f) => `${f.userId}/${f.name}`).join(', ')}`);
  if (report.published.length === 0) return `published: nothing (no provisioned user's view changed)${again}${refused}`;
  if (took.published.length === 0) return `published: nothing on the share${again}${refused}`;
  const files = took.published.map((p) => `${fileLabel(p)} (${bytes(p.bytes)})`);
  return `published: ${files.join(', ')}${again}${refused}`;
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
      async ({ session, io, afterShare }) => {
        // Collected first: the files acknowledged leave the share and the outbox before this round
        // (README: the publisher runs from cron, nothing else needs to).
        const collected = await session.publisher.collectAcknowledgements();
        const { accepted: acknowledged, setAside, ahead, unrecordedHsms } = collected;
        const report = await session.publisher.publish();
        if (asJson)
          afterShare((share) => json({ acknowledged, setAside, ahead, unrecordedHsms, ...publishJson(report, share) }));
        else {
          if (acknowledged.length > 0) io.out(describeAcknowledged(acknowledged));
          if (setAside.length > 0) io.out(describeSetAside(setAside));
          afterShare((share) => describePublish(report, share));
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
