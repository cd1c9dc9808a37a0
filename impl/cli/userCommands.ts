/**
 * `sekey user U <command>`: what a user does with its own HSM — sync from the share, look at its
 * replica, pick keys, encrypt, decrypt, re-protect, judge an update file. Users change nothing in
 * the KMS; every key stays inside the HSM and messages only name the key.
 * @module
 */
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeFileAtomic } from '../host/atomicFile.ts';
import { decodeMessage } from '../protocol/message.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { sequenceOfName } from '../protocol/streams.ts';
import { UpdateFormatError, parseUpdateFile } from '../protocol/updateFile.ts';
import type { UserSession } from '../host/installation.ts';
import type { User } from '../kms/user.ts';
import type { Args } from './args.ts';
import { UsageError } from './args.ts';
import { CliError } from './cliError.ts';
import { idList } from './argValues.ts';
import type { CliIo } from './cliIo.ts';
import { resolveFrom } from './cliIo.ts';
import { bytes, ids, json, quoted, table, when } from './format.ts';
import { count } from '../simulation/chartScale.ts';
import { formatDuration } from './durations.ts';
import { NEW_PIN_ENV, newPinValue } from './pinCommands.ts';

/** What a prepared user command runs with. */
export interface UserContext {
  readonly io: CliIo;
  readonly session: UserSession;
  /** The PIN the session logged in with (`change-pin` refuses it as the new one). */
  readonly pin: string;
  /** Says what the command did, for `--json` (commands without a JSON form of their own). */
  readonly did: (fields: Readonly<Record<string, unknown>>) => void;
}

/** One `sekey user U` subcommand. */
export interface UserCommand {
  readonly name: string;
  readonly args: string;
  readonly summary: string;
  readonly help?: string;
  /** Command lines that show it at work, run in order on the demo's installation (`commandExamples.ts`). */
  readonly examples: readonly string[];
  readonly lists?: boolean;
  readonly prepare: (
    args: Args,
    options: { readonly json: boolean; readonly cwd: string; readonly io: CliIo },
  ) => UserWork | Promise<UserWork>;
}

/** The work of a prepared user command; may return an exit code (default 0). */
// biome-ignore lint/suspicious/noConfusingVoidType: a command that ends normally returns nothing (exit 0)
export type UserWork = (ctx: UserContext) => Promise<number | void>;

/**
 * Input files are read while the command line is checked, before any HSM is opened; `-` is standard
 * input. @throws CliError `CannotRead` for a file that is missing, a folder, or not readable.
 */
async function readInput(io: CliIo, path: string): Promise<Uint8Array> {
  if (path === '-') {
    if (io.readInput === undefined) throw new UsageError('- (standard input) is not available here');
    return await io.readInput();
  }
  try {
    return new Uint8Array(readFileSync(resolveFrom(io, path)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'a folder, not a file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'not readable (permission denied)'
            : null;
    if (why === null) throw error;
    throw new CliError('CannotRead', `${path}: ${why}`);
  }
}

/** Where a command writes its output: a file, or `-` for standard output. */
interface Output {
  /** Writes `bytes` (a file atomically: replaced whole or not at all). */
  write(bytes: Uint8Array): void;
  /** Where a command's own lines go: stderr when the data takes standard output. */
  say(io: CliIo, line: string): void;
}

/**
 * The output of `encrypt`, `decrypt` or `reprotect`, checked before any HSM is opened: `-` is
 * standard output; an existing file is replaced only with `--force` (the input itself included:
 * it has been read whole by then, and the replacement is atomic).
 * @throws CliError `OutputExists`, `CannotWrite` (no folder to write it in, or OUT is a folder, a device,
 *   a FIFO or a socket)
 */
function openOutput(io: CliIo, path: string, force: boolean): Output {
  if (path === '-') {
    const write = io.writeOutput;
    if (write === undefined) throw new UsageError('- (standard output) is not available here');
    return {
      write: (data) => {
        // The command's line that follows names the whole size: say first that not all of it was read.
        if (write(data) === false)
          io.err(`standard output's reader left before the end: it did not take all ${bytes(data.length)}`);
      },
      say: (to, line) => to.err(line),
    };
  }
  const full = writtenThrough(resolveFrom(io, path), path);
  // A folder is never replaced, --force or not: the atomic rename would fail after the HSM's work
  // with a raw EISDIR naming its temporary file.
  if (existsSync(full) && statSync(full).isDirectory())
    throw new CliError(
      'CannotWrite',
      `cannot write ${path}: it is a folder, not a file`,
      `Name a file as OUT (a new file in ${path}, say), or give - for standard output.`,
    );
  // Nor a device or a FIFO: renamed over, /dev/null (as root) would become a file holding plaintext.
  if (existsSync(full) && !statSync(full).isFile())
    throw new CliError(
      'CannotWrite',
      `cannot write ${path}: it is a device, a FIFO or a socket, not a file`,
      'Give a file as OUT, or - to write to standard output.',
    );
  if (!force && existsSync(full))
    throw new CliError('OutputExists', `${path} exists: pass --force to replace it, or choose another file`);
  // Checked now, before the HSM does the work: the atomic write would fail only afterwards, naming
  // its temporary file.
  const folder = dirname(full);
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new CliError(
      'CannotWrite',
      existsSync(folder)
        ? `cannot write ${path}: ${folder} is not a folder (a file or a device)`
        : `cannot write ${path}: ${folder} does not exist`,
      existsSync(folder)
        ? `Give OUT in a folder (not under ${folder}), or - for standard output.`
        : `Create the folder first (mkdir -p ${folder}), or give OUT in a folder that exists.`,
    );
  // A replaced file keeps its permissions (as cp and a shell's > do): the new file is a fresh one
  // renamed over it, which would otherwise get the default mode, and an owner-only plaintext
  // replaced by decrypt --force became readable by everyone (the temporary file too, while written).
  const write = (bytes: Uint8Array) =>
    writeFileAtomic(full, bytes, existsSync(full) ? statSync(full).mode & 0o777 : undefined);
  return { write, say: (to, line) => to.out(line) };
}

/**
 * Where OUT is written: `named` itself, or, when it is a symbolic link to a file, that file (as cp
 * and a shell's > write). The atomic rename replaced the link itself and left its target as it was,
 * once checked and its mode taken through the link: `/dev/stdout` (a link) with standard output
 * redirected to a file became, as root, a file of plaintext in `/dev`. A link that leads nowhere
 * is refused (it was replaced without `--force`); one to a folder, a device or a FIFO is left to
 * {@link openOutput}'s refusals.
 * @throws CliError `CannotWrite`
 */
function writtenThrough(named: string, path: string): string {
  let link: boolean;
  try {
    link = lstatSync(named).isSymbolicLink();
  } catch {
    return named; // nothing there (or no folder): created, or refused, as OUT itself
  }
  if (!link) return named;
  if (!existsSync(named))
    throw new CliError(
      'CannotWrite',
      `cannot write ${path}: it is a symbolic link to nothing`,
      'Name the file itself as OUT (or remove the link).',
    );
  if (!statSync(named).isFile()) return named;
  try {
    return realpathSync(named);
  } catch {
    throw new CliError(
      'CannotWrite',
      `cannot write ${path}: the file its link leads to has no name`,
      'Name a file as OUT, not the link.',
    );
  }
}

/**
 * `--json` prints one object on standard output, and `-` as OUT writes the data there too: together
 * the two would be mixed in one stream that neither a JSON reader nor the data's reader can take
 * apart. Refused while the command line is checked, before the input is read or any HSM opened.
 * @throws UsageError
 */
function refuseJsonWithStdout(outPath: string, asJson: boolean): void {
  if (asJson && outPath === '-')
    throw new UsageError(
      '--json and - as OUT would both write to standard output: write OUT to a file, or drop --json',
    );
}

const FILE_HELP = [
  '  IN, OUT   files; - is standard input / standard output (the messages then go to standard error)',
  '            - as OUT and --json are refused together: both would write to standard output',
  '  --force   replace OUT if it exists (atomically; without it an existing OUT is refused: OutputExists)',
].join('\n');

/** Who can read what a group's key protects: the group's members, as the user's replica knows them. */
function membersOf(user: User, groupId: string): readonly string[] {
  return user.groups().find((g) => g.id === groupId)?.members ?? [];
}

/**
 * What the administrator does for an HSM whose provisioning did not finish. It may have stopped
 * before the admin's HSM paired it or after (a checkpoint of the admin's images pairs it before the
 * session's end): the user side cannot tell, the admin's `user-info` can, and provisioning again an
 * HSM the admin paired would replace a working one where a publish is all it needs.
 */
function unfinishedRemedy(session: UserSession): string {
  const { id, device } = session.user;
  return (
    `the administrator runs \`sekey admin user-info ${id}\`: if it shows HSM ${device.serial}, ` +
    `\`sekey admin publish\` sends its first file; if not, \`sekey admin provision ${id} … --yes\` again; ` +
    `then ${id} syncs`
  );
}

/** The refusal of a sync on an HSM whose provisioning did not finish ({@link UserSession}). */
function unfinishedProvisioning(session: UserSession): SekeyError {
  const { id, device } = session.user;
  const remedy = unfinishedRemedy(session);
  return new SekeyError(
    'NotProvisioned',
    `${id}'s HSM ${device.serial} never received its first update file, and the command that ` +
      "provisioned it did not finish: it stopped before the admin's HSM paired it, or after, before " +
      'any file was published for it',
    `${remedy.charAt(0).toUpperCase()}${remedy.slice(1)}.`,
  );
}

/** The user commands. */
export const USER_COMMANDS: readonly UserCommand[] = [
  {
    name: 'status',
    args: '',
    summary: 'the user, its HSM, and where its update stream stands',
    examples: ['sekey user U1 status'],
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const { user } = session;
        const me = user.me();
        const status = {
          user: me,
          serial: user.device.serial,
          appliedSequence: user.appliedSequence,
          blocked: user.blocked,
          groups: user.groups().map((g) => g.id),
          keys: user.keys().length,
          pendingDeviceWork: user.pendingDeviceWork(),
          freshness: user.freshness(),
        };
        if (asJson) {
          io.out(json(status));
          return;
        }
        // A replica without the user itself (`User.me`: no name): before its first sync, or after the
        // user was deleted (its last file resets the replica). Said, rather than printed as named ''.
        // Once an update is applied, the first sync is behind it: only the deletion is left.
        const missing =
          status.appliedSequence > 0
            ? 'deleted by the administrator: this HSM is retired'
            : 'not synced yet, or deleted by the administrator';
        const name = me.name !== '' ? quoted(me.name) : `(not in this replica: ${missing})`;
        io.out(`${me.id} ${name} on HSM ${status.serial}`);
        if (session.unfinishedProvisioning && status.appliedSequence === 0)
          io.out(`  warning: ${unfinishedProvisioning(session).message}; ${unfinishedRemedy(session)}`);
        const blocked = status.blocked ? ', BLOCKED: too many refused files, waiting for a resync' : '';
        io.out(`  applied update #${status.appliedSequence}${blocked}`);
        io.out(`  groups ${ids(status.groups)}; ${count(status.keys, 'key')} held`);
        const owed = status.pendingDeviceWork;
        if (owed.operations > 0)
          io.out(
            `  HSM work owed by an applied update: ${owed.operations} operation(s)` +
              (owed.imports.length > 0 ? ` (not in the HSM yet: ${owed.imports.join(', ')})` : '') +
              (owed.error ? ` — stuck: ${owed.error}` : ''),
          );
        // Shown only when it matters, like the owed HSM work: encryption is refused until a sync.
        const { statement, staleness } = status.freshness;
        if (staleness !== null) {
          // As NotFresh says it: the date, and when the update came if it was dated ahead of this clock.
          const came =
            statement?.appliedAt !== undefined && statement.appliedAt < statement.issuedAt
              ? ` (came ${when(statement.appliedAt)}: dated ahead of this device's clock)`
              : '';
          const since =
            statement === null
              ? 'no applied update says when it was issued'
              : `latest update issued ${when(statement.issuedAt)}${came}, window ${formatDuration(statement.windowMs)}`;
          io.out(`  NOT FRESH: ${since}; encryption is refused until a sync brings a newer one`);
        }
      },
  },
  {
    name: 'sync',
    args: '',
    summary: 'apply every new update file from the share and acknowledge it (exit 1 if one is refused, now or before)',
    examples: ['sekey admin rename-group G2 crypto-team', 'sekey user U1 sync'],
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const report = await session.user.sync(session.transport);
        // An HSM saved by a provisioning that did not finish: nothing on the share is for it, and
        // nothing will be until the admin publishes (if it paired it) or provisions again (if not).
        // Not "nothing new", every time: the refusal says how to tell which.
        if (session.unfinishedProvisioning && report.applied.length === 0 && report.sequence === 0)
          throw unfinishedProvisioning(session);
        if (asJson) io.out(json(report));
        else {
          io.out(
            report.applied.length === 0
              ? `nothing new (at update #${report.sequence})`
              : `applied ${report.applied.map((s) => `#${s}`).join(', ')}; now at update #${report.sequence}`,
          );
        }
        // One of three causes, which the user's side cannot tell apart: said as all three. The first is
        // the common one: a sync that applied several files and could not write their acknowledgements
        // (a full or read-only share, ShareNotWritten) leaves them all there with none covering them.
        if (report.writtenSince.length > 0)
          io.err(
            `warning: the share holds update files numbered at or below #${report.sequence}, other than the one ` +
              `this HSM applied, that no acknowledgement on the share covers (${report.writtenSince.join(', ')}): ` +
              `passed over, and #${report.sequence}'s acknowledgement sent again. An earlier sync whose ` +
              'acknowledgements the share refused (ShareNotWritten) leaves them, and so do old files put back on ' +
              "the share: the administrator's next collection clears them; an admin HSM restored from a backup " +
              'does it too, writing new files under numbers this HSM applied, and the acknowledgement tells the ' +
              'administrator',
          );
        for (const r of report.refused)
          io.err(
            `refused ${r.name}: ${r.reason}` +
              (r.namesHsm === undefined ? '' : ` (its header, which nothing vouches for, names HSM ${r.namesHsm})`),
          );
        const otherHsms = [...new Set(report.refused.flatMap((r) => (r.namesHsm === undefined ? [] : [r.namesHsm])))];
        for (const r of report.held) io.err(`still refused ${r.name}: ${r.reason} (judged by an earlier sync)`);
        if (report.blocked)
          io.err('blocked: too many refused files in a row; ask the administrator for `sekey admin resync`');
        else if (report.held.length > 0)
          io.err(
            'this HSM is behind those files: ask the administrator to restore what is missing or `sekey admin resync`',
          );
        else if (otherHsms.length > 0)
          // The serial comes from a header no one has authenticated: a hint to check, never an order. Acting
          // on it (a factory reset) is left to the administrator, who can compare it with the database.
          io.err(
            `files that say they are for another HSM of this user (${otherHsms.join(', ')}): a new HSM finds ` +
              "its predecessor's files until the administrator's next publish sends it its own, so sync again " +
              `after it. If they keep coming, ask the administrator to compare this HSM's serial ` +
              `(${session.user.device.serial}) with the one \`sekey admin user-info ${session.user.id}\` shows: ` +
              'another serial there means this HSM was replaced by that one (use that one: this one gets ' +
              'nothing more) or, if none was provisioned since this one, an admin HSM restored from a backup ' +
              'taken before this HSM was provisioned (provision it again, factory-reset first); this serial ' +
              "there means the files are not the administrator's (someone may be writing to the share), and " +
              'nothing needs resetting',
          );
        else if (report.refused.length > 0)
          io.err(
            "nothing refused is applied: the administrator's next publish writes genuine files back and removes " +
              'files numbered past what it published, so sync again after it; if files keep being refused, tell ' +
              'the administrator (someone may be writing to the share)',
          );
        return report.refused.length > 0 || report.held.length > 0 || report.blocked ? 1 : 0;
      },
  },
  {
    name: 'groups',
    args: '',
    summary: "the user's groups and their members",
    examples: ['sekey user U2 groups'],
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const groups = session.user.groups();
        if (asJson) io.out(json(groups));
        else {
          table(
            ['ID', 'NAME', 'MEMBERS', 'CRYPTOPERIOD'],
            groups.map((g) => [g.id, g.name, ids(g.members), formatDuration(g.policy.defaultCryptoperiodMs)]),
          ).forEach((l) => io.out(l));
        }
      },
  },
  {
    name: 'users',
    args: '',
    summary: 'the user and everyone sharing a group with it',
    examples: ['sekey user U2 users'],
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const users = session.user.users();
        if (asJson) io.out(json(users));
        else
          table(
            ['ID', 'NAME'],
            users.map((u) => [u.id, u.name]),
          ).forEach((l) => io.out(l));
      },
  },
  {
    name: 'keys',
    args: '',
    summary: "the keys the user's HSM holds (metadata only)",
    examples: ['sekey user U2 keys'],
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const keys = session.user.keys();
        if (asJson) io.out(json(keys));
        else {
          table(
            ['ID', 'NAME', 'GROUP', 'STATE', 'EXPIRES'],
            keys.map((k) => [k.id, k.name, k.owner, k.state, when(k.expiresAt)]),
          ).forEach((l) => io.out(l));
        }
      },
  },
  {
    name: 'key-info',
    args: 'K',
    summary: "one held key's metadata",
    examples: ['sekey user U2 key-info K2004'],
    lists: true,
    prepare: (args, { json: asJson }) => {
      const keyId = args.positional('key ID');
      return async ({ session, io }) => {
        const k = session.user.keyInfo(keyId);
        if (asJson) io.out(json(k));
        else {
          io.out(`${k.id} ${quoted(k.name)} of ${k.owner}, ${k.algorithm}: ${k.state}`);
          io.out(
            `  cryptoperiod ${formatDuration(k.cryptoperiodMs)}, activated ${when(k.activatedAt)}, expires ` +
              `${when(k.expiresAt)}`,
          );
        }
      };
    },
  },
  {
    name: 'find-key',
    args: 'U2 [U3 …] | --group G',
    summary: 'the key a message to these recipients would use (smallest common group), or a group of yours',
    help: [
      "  --group G   the preferred usable key of group G, one of this user's (the original's sekey_find_key_v2)",
    ].join('\n'),
    examples: ['sekey user U1 find-key U2 U3', 'sekey user U1 find-key --group G1'],
    lists: true,
    prepare: (args, { json: asJson }) => {
      const group = args.option('--group');
      if (group !== undefined)
        return async ({ session, io }) => {
          const choice = session.user.findKeyInGroup(group);
          io.out(asJson ? json(choice) : `${choice.keyId} of ${choice.groupId}`);
        };
      const recipients = idList(args.rest('recipient'));
      return async ({ session, io }) => {
        const choice = session.user.findKey(recipients);
        io.out(asJson ? json(choice) : `${choice.keyId} of ${choice.groupId}`);
      };
    },
  },
  {
    name: 'encrypt',
    args: '--to U2[,U3…] [--force] IN OUT',
    summary: 'encrypt a file inside the HSM for the recipients (the message names its key, never holds it)',
    help: FILE_HELP,
    examples: ['sekey user U1 encrypt --to U2,U3 plan.txt plan-2.skm'],
    prepare: async (args, { io: world, json: asJson }) => {
      const to = args.option('--to');
      const force = args.flag('--force');
      const [inPath, outPath] = [args.positional('IN file'), args.positional('OUT file')];
      refuseJsonWithStdout(outPath, asJson);
      if (to === undefined) throw new UsageError('encrypt needs --to U2[,U3…]');
      const recipients = idList([to]);
      const data = await readInput(world, inPath);
      const output = openOutput(world, outPath, force);
      return async ({ session, io, did }) => {
        // encrypt alone chooses: it refuses a stale view (NotFresh) before any key is chosen (a choice
        // made first failed on the stale view's keys or users, with the wrong error and remedy), and
        // the key reported is the one the message names, not a second choice made a moment later.
        const message = session.user.encrypt(recipients, data);
        const keyId = decodeMessage(message).keyId;
        const owner = session.user.keys().find((k) => k.id === keyId)?.owner;
        // Cannot be missing: encrypt chose it from this very replica, in this session.
        if (owner === undefined) throw new Error(`the key ${keyId} encrypt chose is not in the replica`);
        const choice = { keyId, groupId: owner };
        output.write(message);
        // Who else can read it, said whenever anyone can: the key is the group's, and the chosen group
        // (the smallest common one with a usable key, `model/selectKey.ts`) may hold more members than
        // the sender and the recipients, which a line naming the recipients alone would hide.
        const readers = membersOf(session.user, choice.groupId);
        const others = readers.filter((u) => u !== session.user.id && !recipients.includes(u));
        did({
          in: inPath,
          out: outPath,
          recipients,
          keyId: choice.keyId,
          groupId: choice.groupId,
          readers,
          bytes: message.length,
        });
        output.say(
          io,
          `encrypted ${inPath} (${bytes(data.length)}) for ${recipients.join(',')} under ${choice.keyId} of ` +
            `${choice.groupId} → ${outPath} (${bytes(message.length)})` +
            (others.length === 0 ? '' : `; ${choice.groupId}'s other members can read it too: ${others.join(', ')}`),
        );
      };
    },
  },
  {
    name: 'decrypt',
    args: '[--force] IN OUT',
    summary: 'decrypt a message inside the HSM (active, suspended or deactivated keys only)',
    help: FILE_HELP,
    examples: ['sekey user U2 decrypt memo.skm memo-copy.txt'],
    prepare: async (args, { io: world, json: asJson }) => {
      const force = args.flag('--force');
      const [inPath, outPath] = [args.positional('IN file'), args.positional('OUT file')];
      refuseJsonWithStdout(outPath, asJson);
      const message = await readInput(world, inPath);
      const output = openOutput(world, outPath, force);
      return async ({ session, io, did }) => {
        const plain = session.user.decrypt(message);
        output.write(plain);
        const { keyId, rescuedFrom } = decodeMessage(message);
        did({ in: inPath, out: outPath, keyId, ...(rescuedFrom === null ? {} : { rescuedFrom }), bytes: plain.length });
        output.say(io, `decrypted ${inPath} under ${keyId} → ${outPath} (${bytes(plain.length)})`);
        // Authentic now (the mark is in the authenticated data): a member re-protected it from a
        // compromised key, so its content is only as genuine as that copy was (message.ts, SKM2).
        if (rescuedFrom !== null) io.err(rescuedWarning(inPath, rescuedFrom));
      };
    },
  },
  {
    name: 'reprotect',
    args: '[--force] IN OUT',
    summary: 're-encrypt a message under a fresh key inside the HSM (rescues data under a compromised key)',
    help: FILE_HELP,
    examples: ['sekey user U1 reprotect plan2.skm plan2-rescued.skm'],
    prepare: async (args, { io: world, json: asJson }) => {
      const force = args.flag('--force');
      const [inPath, outPath] = [args.positional('IN file'), args.positional('OUT file')];
      refuseJsonWithStdout(outPath, asJson);
      const message = await readInput(world, inPath);
      const output = openOutput(world, outPath, force);
      return async ({ session, io, did }) => {
        const from = decodeMessage(message).keyId;
        const out = session.user.reprotect(message);
        output.write(out);
        const { keyId: to, rescuedFrom: mark } = decodeMessage(out);
        // Who can read it now, said whenever it moved: re-protection re-encrypts for the group as this
        // replica sees it, which may be more people than could read it before (User.reprotect).
        const keys = session.user.keys();
        const ownerOf = (keyId: string) => keys.find((k) => k.id === keyId)?.owner;
        const [fromGroup, groupId] = [ownerOf(from), ownerOf(to)];
        const readers = groupId === undefined ? [] : membersOf(session.user, groupId);
        // A stale view may re-protect from a compromised key (the rescue path, User.reprotect): its
        // readers are the group as this replica last saw it, which a withheld update may have changed.
        const stale = session.user.freshness().staleness !== null;
        did({
          in: inPath,
          out: outPath,
          from,
          to,
          groupId,
          readers,
          ...(mark === null ? {} : { rescuedFrom: mark }),
          ...(stale ? { readersAsOf: session.user.appliedSequence } : {}),
        });
        const audience =
          `readable by ${groupId}'s members ${readers.join(', ')}` +
          (stale
            ? ` as of update #${session.user.appliedSequence}, this view being not fresh (the group or its key ` +
              'may have changed since): sync, then re-protect the result again'
            : '');
        const moved =
          fromGroup === groupId
            ? ''
            : ` (${groupId}'s key, not ${fromGroup}'s: the one encrypt chooses for ${fromGroup}'s members)`;
        output.say(
          io,
          to === from
            ? `${inPath} is already under the best key ${from}; copied to ${outPath}`
            : `re-protected ${inPath} from ${from} to ${to} inside the HSM → ${outPath}, ${audience}${moved}`,
        );
        // A compromised key authenticates nothing: whoever learnt it can write a message under it
        // (NIST SP 800-57 Pt 1 §5.5.1). The result is marked with the key it came from (SKM2), whether
        // or not the input was marked already (a mark under a compromised key vouches for nothing), and
        // its readers are warned when they decrypt it; the HSM cannot tell a forged message from a
        // genuine one, so the user who rescues it is told first, and must know where this copy has been.
        if (to !== from && mark === from)
          io.err(
            `warning: ${mark} is compromised: whoever learnt it could have written ${inPath}; ${outPath} is ` +
              `marked as rescued from ${mark}, and its readers are warned when they decrypt it. ` +
              "Re-protect only a copy kept out of others' reach since before the compromise",
          );
      };
    },
  },
  {
    name: 'change-pin',
    args: '[--new-pin PIN]',
    summary: "change the user's HSM PIN (--pin is the current one; the new one asked twice on a terminal)",
    help:
      "  --new-pin PIN   the new PIN of the user's HSM, 4 to 64 bytes (else $SEKEY_NEW_USER_PIN, else asked twice " +
      'on a terminal)',
    examples: ['sekey user U1 change-pin --new-pin alice-pin-2027'],
    prepare: (args) => {
      const option = args.option('--new-pin');
      return async ({ session, io, did, pin: current }) => {
        const pin = await newPinValue(option, io, 'user PIN', NEW_PIN_ENV['--user-pin'], current);
        session.user.device.changeUserPin(pin);
        did({ changed: 'user PIN' });
        io.out(`${session.user.me().id}'s HSM has a new user PIN: use it from now on (--pin or SEKEY_USER_PIN)`);
      };
    },
  },
  {
    name: 'check-update',
    args: 'FILE',
    summary: 'judge an update file without applying it: would this HSM apply it next? (exit 1 if not)',
    examples: [
      'sekey admin rename-user U3 caroline',
      'sekey user U3 check-update ../share/updates/U3/000000000006.update',
    ],
    prepare: async (args, { io: world }) => {
      const path = args.positional('update file');
      const file = await readInput(world, path);
      const claimsResync = sequenceOfName(basename(path))?.resync ?? false;
      return async ({ session, io, did }) => {
        const reason = session.user.check(file, claimsResync);
        let header = '';
        // What the file's header says, as the line shows it (--json showed only the verdict, so a
        // script could not tell which update it judged); unauthenticated unless it applies.
        let said: { kind: string; sequence: number; userId: string } | null = null;
        try {
          const h = parseUpdateFile(file).header;
          header = ` (${h.kind} #${h.sequence} for ${h.userId})`;
          said = { kind: h.kind, sequence: h.sequence, userId: h.userId };
        } catch (error) {
          if (!(error instanceof UpdateFormatError)) throw error;
        }
        did({ file: path, header: said, applies: reason === null, reason });
        if (reason === null) {
          io.out(`${path}${header}: would be applied`);
          return 0;
        }
        io.out(`${path}${header}: would be refused: ${reason}`);
        return 1;
      };
    },
  },
];

/** What `decrypt` says of a message re-protected from a compromised key (`SKM2`, `message.ts`). */
function rescuedWarning(inPath: string, rescuedFrom: string): string {
  return (
    `warning: ${inPath} was re-protected by a member from ${rescuedFrom} after ${rescuedFrom} was compromised: ` +
    `whoever learnt ${rescuedFrom} could have written it, so trust its content only as far as you trust ` +
    'where that copy was kept'
  );
}
