import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { renderSpec, renderSpecFiles } from '../../model/specDocument.ts';
import { ADMIN_COMMANDS } from './runAdmin.ts';
import { USER_COMMANDS } from './userCommands.ts';
import { ackFileName, ackStream, refusedAckStream, updateFileName, updateStream } from '../protocol/streams.ts';
import { killSafetyNets, plantHostileEntries } from '../host/hostileShare.testkit.ts';
import type { HostileEntries } from '../host/hostileShare.testkit.ts';
import { usage } from './sekeyCommand.ts';
import { GENESIS_HASH, auditHash } from '../db/auditLog.ts';

/** An entry of `sekey admin audit --json`. */
interface AuditEntryJson {
  readonly seq: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly details: unknown;
  readonly detailsText: string;
  readonly prevHash: string;
  readonly hash: string;
}
import {
  ADMIN_PIN,
  DEVICE_ADMIN_PIN,
  USER_PIN,
  manualInstallation,
  removeTempDirs,
  sekey,
  tempDir,
} from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe('sekey', () => {
  test('no command prints the usage and fails; --help succeeds', async () => {
    const none = await sekey([]);
    expect(none.code).toBe(2);
    expect(none.out).toBe(usage());
    expect((await sekey(['--help'])).code).toBe(0);
    expect((await sekey(['help'])).out).toBe(usage());
    // `sekey help X` is `sekey X --help`, for every command and admin and user subcommands alike.
    for (const argv of [['simulate'], ['spec'], ['admin', 'add-user'], ['user', 'U1', 'sync']]) {
      const [asked, asFlag] = [await sekey(['help', ...argv]), await sekey([...argv, '--help'])];
      expect([asked.code, asked.out], argv.join(' ')).toEqual([0, asFlag.out]);
      expect(asked.out, argv.join(' ')).toMatch(/^usage: sekey /);
    }
    expect((await sekey(['help', 'frob'])).err).toContain("unknown command 'frob'");
    // One level down too: `sekey admin help add-user` is `sekey admin add-user --help`, and so on.
    for (const [asked, asFlag] of [
      [
        ['admin', 'help'],
        ['admin', '--help'],
      ],
      [
        ['admin', 'help', 'add-user'],
        ['admin', 'add-user', '--help'],
      ],
      [
        ['user', 'help'],
        ['user', '--help'],
      ],
      [
        ['user', 'U1', 'help'],
        ['user', '--help'],
      ],
      [
        ['user', 'U1', 'help', 'sync'],
        ['user', 'U1', 'sync', '--help'],
      ],
    ]) {
      const [one, other] = [await sekey(asked as string[]), await sekey(asFlag as string[])];
      expect([one.code, one.out], (asked as string[]).join(' ')).toEqual([0, other.out]);
      expect(one.out).toMatch(/^usage: sekey /);
    }
    expect(JSON.parse((await sekey(['admin', 'help', 'add-user', '--json'])).out)).toMatchObject({
      command: 'sekey admin add-user',
      help: expect.stringMatching(/^usage: sekey admin add-user U NAME/),
    });
    expect((await sekey(['admin', 'help', 'frob'])).err).toContain("unknown admin command 'frob'");
    // With --json, standard output is the usage error's one object, for sekey, sekey admin and sekey user alike.
    for (const argv of [['--json'], ['admin', '--json'], ['user', '--json']]) {
      const asJson = await sekey(argv);
      expect(asJson.code, argv.join(' ')).toBe(2);
      expect(JSON.parse(asJson.out), argv.join(' ')).toMatchObject({ error: { code: 'Usage', exit: 2 } });
    }
    // The installation's options are refused by a command that uses none, not ignored.
    const simulate = await sekey(['simulate', '--home', 'elsewhere', '--days', '1']);
    expect(simulate.code).toBe(2);
    expect(simulate.err).toContain('--home: simulate uses no installation (only admin and user commands do)');
    expect(usage()).toMatch(/admin .*\n.*user .*\n.*demo .*\n.*model-demo .*\n.*machines .*\n.*spec /);
  });

  test('unknown commands and arguments are usage errors (exit 2)', async () => {
    const unknown = await sekey(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command 'frobnicate'");
    const extra = await sekey(['model-demo', 'extra']);
    expect(extra.code).toBe(2);
    expect(extra.err).toContain("unexpected argument 'extra'");
    const noValue = await sekey(['spec', '--out']);
    expect(noValue.code).toBe(2);
    expect(noValue.err).toContain('--out needs a value');
    expect((await sekey(['admin', 'frobnicate'])).err).toContain("unknown admin command 'frobnicate'");
    expect((await sekey(['user', 'U1', 'frobnicate'])).code).toBe(2);
    const badUser = await sekey(['user', 'bob', 'sync']);
    expect(badUser.code).toBe(2);
    expect(badUser.err).toContain("'bob' is not a user ID");
  });

  test('every command and subcommand has its own --help', async () => {
    for (const name of ['demo', 'model-demo', 'machines', 'spec']) {
      const r = await sekey([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: sekey ${name}`));
    }
    expect((await sekey(['admin', '--help'])).out).toContain('add-user');
    expect((await sekey(['user', '--help'])).out).toContain('encrypt');
    for (const name of ['init', ...ADMIN_COMMANDS.map((c) => c.name)]) {
      const r = await sekey(['admin', name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: sekey admin ${name}`));
      expect(r.out).toContain('--home DIR');
    }
    for (const name of USER_COMMANDS.map((c) => c.name)) {
      const r = await sekey(['user', 'U1', name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: sekey user U ${name}`));
    }
  });

  test("add-member's help and the README say when a join rekeys (rekeyOnJoin.ts), not only removal", async () => {
    const rule = 'rekeys it when it does not share its history';
    const help = (await sekey(['admin', 'add-member', '--help'])).out.replace(/\s+/g, ' ');
    expect(help).toContain(`add a user to a group (${rule} and a member holds its active key)`);
    expect(help).toContain('A group made with --share-history is never rekeyed by a join');
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `add-member G U`'));
    expect(row).toContain('removal rekeys the group; a join ');
    expect(row).toContain(`${rule} (\`--share-history\`) and a member holds its active key`);
  });

  test('spec writes the document and --check tells stale from current', async () => {
    const file = join(tempDir(), 'spec.md');
    const missing = await sekey(['spec', '--check', '--out', file]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('is missing');
    expect((await sekey(['spec', '--out', file])).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(renderSpec());
    const machineFile = join(dirname(file), 'machines', 'keyLifecycle.json');
    expect(readFileSync(machineFile, 'utf8')).toBe(renderSpecFiles()['machines/keyLifecycle.json']);
    expect((await sekey(['spec', '--check', '--out', file])).code).toBe(0);
    writeFileSync(file, 'old');
    const stale = await sekey(['spec', '--check', '--out', file]);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain('is stale');
    // A machine export is checked like the document.
    expect((await sekey(['spec', '--out', file])).code).toBe(0);
    writeFileSync(machineFile, '{}');
    const staleMachine = await sekey(['spec', '--check', '--out', file]);
    expect(staleMachine.code).toBe(1);
    expect(staleMachine.err).toContain(`${machineFile} is stale`);
  });

  test('model-demo walks through the model and machines lists them', async () => {
    const r = await sekey(['model-demo']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('alice → bob:   K2001 of G2');
    expect(r.out).toContain('K2000 is now deactivated; replacement: K2002 of G1');
    expect(r.out).toContain('recorded at the end of its cryptoperiod (day 7)');
    expect(r.out).toContain('refused: UnknownUser');
    const machines = await sekey(['machines']);
    expect(machines.code).toBe(0);
    expect(machines.out.split('\n')).toHaveLength(4);
  });

  test('demo runs the story on a real, temporary installation and removes it', async () => {
    const r = await sekey(['demo']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const text = r.out;
    expect(text).toContain('published: U1 #1 resync');
    expect(text).toContain('encrypted memo.txt (71 B) for U2 under K2001 of G2 → memo.skm (107 B)\n');
    // Who else can read it, when anyone can: the key is G1's, and U2 is a member of G1 too.
    expect(text).toContain("for U3,U4 under K2000 of G1 → plan.skm (74 B); G1's other members can read it too: U2\n");
    expect(text).toContain('decrypted memo.skm under K2001 → memo-for-bob.txt (71 B)');
    expect(text).toContain('K2000: active → deactivated; holders -U4');
    expect(text).toMatch(/K2002: new key of G1 .*held by U1,U2,U3\n/);
    expect(text).toContain('sekey user U4 decrypt: KeyUnavailable: this device holds no key K2002');
    expect(text).toContain('sekey user U3 decrypt: UsageNotAllowed: key K2002 is compromised');
    // Who can read the result is said: re-protection re-encrypts for the group as it is now.
    expect(text).toContain(
      're-protected plan2.skm from K2002 to K2003 inside the HSM → plan2-safe.skm, ' +
        "readable by G1's members U1, U2, U3\n",
    );
    expect(text).toContain('nothing new (at update #3)');
    expect(text).toContain('stale (an update unacknowledged for 7d): U2 — their updates may be withheld');
    expect(text).toContain('U2 #5 resync');
    expect(text).toContain('hash chain intact');
    expect(text).toMatch(/update files: 15 published/);
    expect(text).toMatch(/admin +\d+ +[\d.]+ M/);
    const home = /installation (\S+) \(temporary/.exec(text)?.[1];
    expect(home).toBeDefined();
    expect(existsSync(home as string)).toBe(false);
  });

  test('demo --keep, abandoned by an interruption, leaves the folder empty again, and no factory', async () => {
    const dir = join(tempDir(), 'kept');
    const cleanups: Array<(signal: 'SIGINT') => void> = [];
    const r = await sekey(['demo', '--keep', dir], { onAbandon: (c) => (cleanups.push(c), () => undefined) });
    expect(r.code).toBe(0);
    const factory = /simulated HSM factory (\S+)/.exec(r.out)?.[1] as string;
    // Kept beside the folder, where the user finds it, not in the temporary folder.
    expect(factory).toBe(`${dir}-factory`);
    expect([readdirSync(dir).length > 0, existsSync(factory)]).toEqual([true, true]);
    // As an interruption before the end would: the demo's cleanup, past every finally.
    for (const cleanup of cleanups) cleanup('SIGINT');
    expect([readdirSync(dir), existsSync(factory)]).toEqual([[], false]);
    expect((await sekey(['demo', '--keep', dir])).code).toBe(0);
  }, 300_000);

  test('demo --keep refuses a directory that is not empty', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x'), 'x');
    const r = await sekey(['demo', '--keep', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('not empty');
  });
});

describe('sekey on a persistent installation', () => {
  let home: string;
  let desk: string;
  let factory: string;
  const at = (t: string) => ['--at', t];
  let run: (...argv: string[]) => Promise<Run>;

  beforeAll(async () => {
    const installation = await manualInstallation();
    ({ home, desk, factory, run } = installation);
    expect(installation.init.err).toBe('');
    expect(installation.init.code).toBe(0);
    expect(installation.init.out).toContain('clock     manual');
  });

  test('init lays out the home, needs its PINs, and refuses to run twice', async () => {
    const config = JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ format: 1, share: 'share', clock: 'manual', lastTime: Date.UTC(2026, 0, 5, 9) });
    expect(config['adminSerial']).toMatch(/^[0-9A-Z]{32}$/);
    expect(readdirSync(join(home, 'admin')).sort()).toEqual(['flash.img', 'sd.img']);
    expect(existsSync(join(home, 'share'))).toBe(true);
    // The simulated factory's key (a real admin host never holds it) lives outside the home, owner-only.
    expect(existsSync(join(home, 'manufacturer.json'))).toBe(false);
    expect(readFileSync(join(factory, 'manufacturer.json'), 'utf8')).toContain('SIMULATION ONLY');
    // Nor is one made inside it: every init and provision here would refuse it (it used to be made,
    // with "keep this folder outside every installation" printed under it).
    const inside = await run('factory', 'init', '--dir', join(home, 'factory'));
    expect([inside.code, inside.out, inside.err.split('\n')[0]]).toEqual([
      1,
      '',
      `sekey factory init: UnsafeFactory: the factory ${join(home, 'factory')} would be in the SEkey installation ` +
        `${home}: keep the manufacturer's key outside every installation`,
    ]);
    expect(existsSync(join(home, 'factory'))).toBe(false);
    const noPins = await run('admin', 'init');
    expect(noPins.code).toBe(2);
    expect(noPins.err).toContain('--admin-pin PIN and --user-pin PIN');
    const again = await run('admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN);
    expect(again.code).toBe(1);
    expect(again.err).toContain('AlreadyInitialized');
    // A PIN the HSM would refuse is refused before the home is made: nothing is left behind.
    const fresh = join(tempDir(), 'never-made');
    const shortPin = await run('admin', 'init', '--home', fresh, '--admin-pin', 'abc', '--user-pin', USER_PIN);
    expect(shortPin.code).toBe(2);
    expect(shortPin.err).toContain('--admin-pin: a PIN must be 4 to 64 bytes long');
    expect(existsSync(fresh)).toBe(false);
  });

  test('init → users, groups, keys → provision → publish → sync → encrypt/decrypt → audit', async () => {
    for (const [id, name] of [
      ['U1', 'alice'],
      ['U2', 'bob'],
      ['U3', 'carol'],
    ] as const) {
      expect((await run('admin', 'add-user', id, name, '--no-publish')).code).toBe(0);
    }
    const group = await run(
      'admin',
      'add-group',
      'G1',
      'team',
      '--max-keys',
      '3',
      '--cryptoperiod',
      '30d',
      '--no-publish',
    );
    expect(group.out).toContain("added group G1 'team': at most 3 keys, cryptoperiod 30d");
    for (const u of ['U1', 'U2', 'U3'])
      expect((await run('admin', 'add-member', 'G1', u, '--no-publish')).code).toBe(0);
    const key = await run('admin', 'add-key', 'G1', 'team-key', '--cryptoperiod', '7d', '--no-publish');
    expect(key.out).toBe("K2000: new key of G1 'team-key', preActivation, cryptoperiod 7d, held by U1,U2,U3");
    const activate = await run('admin', 'activate-key', 'K2000');
    expect(activate.out).toContain('K2000: preActivation → active');
    expect(activate.out).toContain("published: nothing (no provisioned user's view changed)");

    for (const u of ['U1', 'U2', 'U3']) {
      const p = await run(
        'admin',
        'provision',
        u,
        '--user-pin',
        USER_PIN,
        '--device-admin-pin',
        DEVICE_ADMIN_PIN,
        '--no-publish',
      );
      expect(p.code).toBe(0);
      expect(p.out).toMatch(new RegExp(`provisioned ${u}: HSM [0-9A-Z]{32}`));
      expect(readdirSync(join(home, 'users', u)).sort()).toEqual(['flash.img', 'sd.img']);
    }
    const published = await run('admin', 'publish');
    expect(published.out).toMatch(/^published: U1 #1 resync \([\d,]+ B\), U2 #1 resync \([\d,]+ B\), U3 #1 resync/);
    const users = JSON.parse((await run('admin', 'users', '--json')).out) as Array<{
      id: string;
      serial: string | null;
      groups: string[];
    }>;
    expect(users.map((u) => [u.id, u.groups])).toEqual([
      ['U1', ['G1']],
      ['U2', ['G1']],
      ['U3', ['G1']],
    ]);
    expect(users.every((u) => u.serial !== null)).toBe(true);

    // A user can judge its update file before applying it.
    const updateFile = readdirSync(join(home, 'share', ...updateStream('U1').split('/')))[0] as string;
    copyFileSync(join(home, 'share', ...updateStream('U1').split('/'), updateFile), join(desk, updateFile));
    expect((await run('user', 'U1', 'check-update', updateFile)).out).toContain('(resync #1 for U1): would be applied');
    // --json says which update it judged, as the line does.
    expect(JSON.parse((await run('user', 'U1', 'check-update', updateFile, '--json')).out)).toEqual({
      command: 'user U1 check-update',
      file: updateFile,
      header: { kind: 'resync', sequence: 1, userId: 'U1' },
      applies: true,
      reason: null,
    });

    for (const u of ['U1', 'U2', 'U3']) expect((await run('user', u, 'sync')).out).toBe('applied #1; now at update #1');
    expect((await run('user', 'U1', 'sync')).out).toBe('nothing new (at update #1)');
    const replay = await run('user', 'U1', 'check-update', updateFile);
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('would be refused: replayed');
    expect((await run('user', 'U2', 'keys')).out).toMatch(/K2000 +team-key +G1 +active/);
    expect((await run('user', 'U2', 'find-key', 'U1')).out).toBe('K2000 of G1');

    writeFileSync(join(desk, 'note.txt'), 'meet at noon');
    const enc = await run('user', 'U1', 'encrypt', '--to', 'U2,U3', 'note.txt', 'note.skm');
    expect(enc.out).toContain('for U2,U3 under K2000 of G1 → note.skm');
    expect(readFileSync(join(desk, 'note.skm')).includes(Buffer.from('meet at noon'))).toBe(false);
    const dec = await run('user', 'U3', 'decrypt', 'note.skm', 'note-out.txt');
    expect(dec.code).toBe(0);
    expect(readFileSync(join(desk, 'note-out.txt'), 'utf8')).toBe('meet at noon');

    const status = await run('admin', 'status');
    expect(status.out.split('\n').slice(1)).toEqual([
      'U1    acknowledged  #1         #1',
      'U2    acknowledged  #1         #1',
      'U3    acknowledged  #1         #1',
    ]);
    // The acknowledgements are still on the share (no collect-acks yet): user-info counts them too.
    expect((await run('admin', 'user-info', 'U2')).out).toMatch(
      /updates: +acknowledged \(published #1, acknowledged #1\)/,
    );
    const audit = await run('admin', 'audit', '--verify');
    expect(audit.code).toBe(0);
    expect(audit.out).toMatch(/^audit log: \d+ entries, hash chain intact, head [0-9a-f]{64}$/);
    const entries = JSON.parse((await run('admin', 'audit', '--json')).out) as AuditEntryJson[];
    expect(entries.map((e) => e.action)).toContain('provisionUser');
    // Details as a JSON value to query, and as the text the hash covers: the chain checks from the output alone.
    expect(entries.find((e) => e.action === 'provisionUser')?.details).toMatchObject({ userId: 'U1' });
    let prev = GENESIS_HASH;
    for (const e of entries) {
      expect(e.prevHash).toBe(prev);
      expect(JSON.stringify(e.details)).toBe(e.detailsText);
      expect(auditHash(e.prevHash, e.seq, e.at, e.actor, e.action, e.detailsText)).toBe(e.hash);
      prev = e.hash;
    }
    expect((await run('admin', 'audit', '--last', '2')).out.split('\n')).toHaveLength(3);
  });

  test('a member leaves: rekey on the next publish, and the leaver cannot read new messages', async () => {
    const leave = await run('admin', 'remove-member', 'G1', 'U3', ...at('+1d'));
    expect(leave.out).toContain('K2000: active → deactivated; holders -U3');
    expect(leave.out).toMatch(
      /K2001: new key of G1 'replacement in G1', active, expires 2026-02-05 09:00Z, held by U1,U2/,
    );
    expect(leave.out).toMatch(/published: U1 #2 .*U2 #2 .*U3 #2/);
    for (const u of ['U1', 'U2', 'U3']) await run('user', u, 'sync');
    expect((await run('user', 'U3', 'keys')).out).toBe('(none)');
    writeFileSync(join(desk, 'after.txt'), 'carol left');
    expect((await run('user', 'U1', 'encrypt', '--to', 'U2', 'after.txt', 'after.skm')).out).toContain(
      'under K2001 of G1',
    );
    const denied = await run('user', 'U3', 'decrypt', 'after.skm', 'x.txt');
    expect(denied.code).toBe(1);
    expect(denied.err.split('\n')[0]).toBe(
      'sekey user U3 decrypt: KeyUnavailable: this device holds no key K2001: it was never given to U3, or taken ' +
        'away since (U3 left its group, or it was destroyed), or it has not arrived yet (`sekey user U3 sync` ' +
        'brings what the administrator gave since)',
    );
    // Tampering is caught inside the HSM.
    const bytes = readFileSync(join(desk, 'after.skm'));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(join(desk, 'tampered.skm'), bytes);
    const forged = await run('user', 'U2', 'decrypt', 'tampered.skm', 'x.txt');
    expect(forged.code).toBe(1);
    expect(forged.err).toContain('AuthFailed');
  });

  test('typed refusals exit 1 with their code; wrong command lines exit 2', async () => {
    const dup = await run('admin', 'add-user', 'U1', 'again');
    expect(dup).toMatchObject({
      code: 1,
      err:
        'sekey admin add-user: DuplicateUser: user U1 exists\n' +
        '  what to do: Choose another ID, or rename the existing user (rename-user).',
    });
    expect((await run('admin', 'activate-key', 'K9999')).err).toContain('UnknownKey');
    expect((await run('admin', 'add-group', 'G2', 'x', '--max-keys', '2', '--cryptoperiod', 'soon')).code).toBe(2);
    expect((await run('admin', 'add-group', 'G2', 'x')).err).toContain('--max-keys N --cryptoperiod DURATION');
    expect((await run('admin', 'add-user', 'U5')).err).toContain('missing name');
    expect((await run('admin', 'users', '--frob')).err).toContain("unknown option '--frob'");
    expect((await run('admin', 'provision', 'U5')).code).toBe(2);
    expect((await run('user', 'U9', 'sync')).err).toContain('NoDevice');
    // A mistyped ID is named as such, not as a user waiting for an HSM.
    expect((await run('admin', 'resync', 'U99')).err.split('\n')[0]).toBe(
      'sekey admin resync: NotProvisioned: no user U99, and no HSM on record for that ID',
    );
    expect((await run('user', 'U1', 'encrypt', 'note.txt', 'x.skm')).err).toContain('--to');
    expect((await run('user', 'U1', 'decrypt', 'missing.skm', 'x.txt')).err).toMatch(
      /^sekey user U1 decrypt: CannotRead: missing.skm: no such file\n {2}what to do: Check the path/,
    );
    const back = await run('admin', 'users', ...at('2026-01-01'));
    expect(back.code).toBe(1);
    expect(back.err).toContain('ClockWentBack');
    expect((await run('admin', 'users', ...at('yesterday'))).code).toBe(2);
    const noPin = await sekey(['admin', 'users'], { env: { SEKEY_HOME: home }, cwd: desk });
    expect(noPin.code).toBe(2);
    expect(noPin.err).toContain('SEKEY_ADMIN_PIN');
    const elsewhere = await sekey(['admin', 'users', '--home', join(desk, 'nowhere'), '--pin', ADMIN_PIN]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.err).toContain('NotInitialized');
  });

  test('a wrong PIN spends a try that persists between runs', async () => {
    const first = await run('user', 'U2', 'keys', '--pin', 'wrong-pin');
    expect(first.err.split('\n')[0]).toBe('sekey user U2 keys: WrongPin: wrong user PIN, 2 tries left');
    const second = await run('user', 'U2', 'keys', '--pin', 'wrong-pin');
    expect(second.err).toContain('1 try left');
    // The right PIN from the environment, chosen for the last try (pinCommands.ts: LastPinTry).
    expect((await run('user', 'U2', 'keys', '--last-try')).code).toBe(0);
    expect((await run('user', 'U2', 'keys', '--pin', 'wrong-pin')).err).toContain('2 tries left');
    // A PIN no HSM takes is a wrong command line, named by where it came from, and spends no try.
    const short = await run('user', 'U2', 'keys', '--pin', 'abc');
    expect([short.code, short.err]).toEqual([2, expect.stringContaining('--pin: a PIN must be 4 to 64 bytes')]);
    const provision = await run('admin', 'provision', 'U2', '--user-pin', 'x', '--device-admin-pin', 'device-pin-1');
    expect([provision.code, provision.err]).toEqual([2, expect.stringContaining('--user-pin: a PIN must be 4')]);
    expect((await run('user', 'U2', 'keys', '--pin', 'wrong-pin')).err).toContain('1 try left');
    expect((await run('user', 'U2', 'keys', '--last-try')).code).toBe(0);
  });

  test('a withheld update makes its user stale, with only the publisher run (cron); a resync repairs it', async () => {
    // U2's acknowledgement of #2 is left waiting on the share: it must not keep U2 from turning stale.
    const rename = await run('admin', 'rename-group', 'G1', 'core', ...at('+1d'));
    expect(rename.out).toMatch(/published: U1 #3 .*, U2 #3/);
    const stream = join(home, 'share', ...updateStream('U2').split('/'));
    for (const name of readdirSync(stream)) if (name.endsWith('.update')) writeFileSync(join(stream, name), 'garbage');
    const refused = await run('user', 'U2', 'sync');
    expect(refused.code).toBe(1);
    expect(refused.err.split('\n')).toEqual([
      'refused 000000000003.update: corrupt',
      "nothing refused is applied: the administrator's next publish writes genuine files back and removes files " +
        'numbered past what it published, so sync again after it; if files keep being refused, tell the ' +
        'administrator (someone may be writing to the share)',
    ]);
    await run('user', 'U1', 'sync');
    // Carol, out of G1, still gets heartbeats: she must sync them too, or she turns stale as well.
    await run('user', 'U3', 'sync');
    // The cron job: it collects U2's old acknowledgement (dated now), then publishes nothing new.
    expect((await run('admin', 'publish')).out).toMatch(/^acknowledged: .*U2 #2/);
    expect((await run('admin', 'stale', ...at('+8d'))).out).toContain('stale (an update unacknowledged for 7d): U2');
    expect((await run('admin', 'resync', 'U2')).out).toMatch(/published: .*U2 #4 resync/);
    expect((await run('user', 'U2', 'sync')).out).toBe('applied #4; now at update #4');
    expect((await run('user', 'U2', 'groups')).out).toContain('core');
    expect((await run('admin', 'stale')).out).toBe('no stale user');
    // K2001 (30 days from day 1) is not due yet, and the sweep says so.
    expect((await run('admin', 'sweep')).out).toContain('no key has reached the end of its cryptoperiod');
  });

  test('policies, the whole key life cycle, renames, deletions and the user-side views', async () => {
    const ok = async (...argv: string[]) => {
      const r = await run(...argv);
      expect(r.err, argv.join(' ')).toBe('');
      expect(r.code, argv.join(' ')).toBe(0);
      return r.out;
    };
    await ok(
      'admin',
      'add-group',
      'G2',
      'pair',
      '--max-keys',
      '2',
      '--cryptoperiod',
      '10d',
      '--share-history',
      '--no-publish',
    );
    await ok('admin', 'add-member', 'G2', 'U1', '--no-publish');
    expect(await ok('admin', 'add-member', 'G2', 'U2')).toMatch(/U2 joined G2\npublished: U1 #\d+ .*, U2 #\d+/);
    expect(await ok('admin', 'add-key', 'G2', 'p1', '--no-publish')).toContain('K2002: new key of G2');
    await ok('admin', 'activate-key', 'K2002', '--no-publish');
    expect(await ok('admin', 'suspend-key', 'K2002', '--no-publish')).toBe('K2002: active → suspended');
    expect(await ok('admin', 'resume-key', 'K2002', '--no-publish')).toBe('K2002: suspended → active');
    expect(await ok('admin', 'rename-key', 'K2002', 'pair-key', '--no-publish')).toBe(
      "K2002: renamed 'p1' → 'pair-key'",
    );
    expect(await ok('admin', 'deactivate-key', 'K2002', '--no-publish')).toBe('K2002: active → deactivated');
    expect(await ok('admin', 'destroy-key', 'K2002', '--yes')).toMatch(
      /^K2002: deactivated → destroyed; holders -U1 -U2\npublished: /,
    );
    expect(await ok('admin', 'set-max-keys', 'G2', '1', '--no-publish')).toBe('group G2: at most 1 key');
    await ok('admin', 'add-key', 'G2', 'a', '--no-publish');
    expect((await run('admin', 'add-key', 'G2', 'b')).err).toContain('MaxKeysReached');
    expect((await run('admin', 'set-cryptoperiod', 'G2', '5d')).err).toContain('PolicyConflict');
    expect(await ok('admin', 'set-cryptoperiod', 'G2', '20d', '--no-publish')).toBe('group G2: cryptoperiod 20d');
    const info = await ok('admin', 'group-info', 'G2');
    expect(info).toContain('members: U1,U2');
    expect(info).toContain('K2002 (destroyed), K2003 (preActivation)');
    expect(
      (JSON.parse(await ok('admin', 'group-info', 'G2', '--json')) as { shareHistory: boolean }).shareHistory,
    ).toBe(true);
    expect(JSON.parse(await ok('admin', 'key-info', 'K2002', '--json'))).toMatchObject({
      state: 'destroyed',
      name: 'pair-key',
      holders: [],
    });
    expect(await ok('admin', 'key-info', 'K2003')).toMatch(/state: +preActivation/);
    expect((await ok('admin', 'keys', '--group', 'G2')).split('\n')).toHaveLength(3);
    const unknown = await run('admin', 'keys', '--group', 'G9');
    expect([unknown.code, unknown.err.split('\n')[0]]).toEqual([1, 'sekey admin keys: UnknownGroup: no group G9']);
    expect(await ok('admin', 'groups')).toMatch(/G2 +pair +U1,U2 +1 +20d +shared/);
    expect(await ok('admin', 'user-info', 'U2')).toMatch(/groups: +G1,G2/);
    await ok('admin', 'rename-user', 'U3', 'caroline', '--no-publish');
    expect(await ok('admin', 'delete-user', 'U3', '--yes')).toContain('deleted user U3');
    expect(await ok('admin', 'users')).not.toContain('caroline');
    expect(await ok('admin', 'delete-group', 'G2', '--yes')).toContain('K2003: preActivation → destroyed');
    expect(await ok('user', 'U1', 'sync')).toMatch(/^applied /);
    expect(await ok('user', 'U1', 'status')).toMatch(
      /^U1 'alice' on HSM [0-9A-Z]{32}\n {2}applied update #\d+\n {2}groups G1; 2 keys held$/,
    );
    expect(await ok('user', 'U1', 'groups')).toMatch(/G1 +core +U1,U2 +30d/);
    expect(await ok('user', 'U1', 'users')).toMatch(/U1 +alice\nU2 +bob/);
    expect(await ok('user', 'U1', 'key-info', 'K2001')).toContain(
      "K2001 'replacement in G1' of G1, AES-256-GCM: active",
    );
    expect((await run('user', 'U1', 'key-info', 'K2003')).err).toContain('KeyUnavailable');
  });

  test('provisioning again replaces a user HSM; the new one is brought up to date by a resync', async () => {
    const before = (await run('user', 'U2', 'keys')).out;
    const held = (
      JSON.parse((await run('admin', 'keys', '--json')).out) as Array<{ id: string; state: string; holders: string[] }>
    )
      .filter((k) => k.holders.includes('U2') && ['preActivation', 'active', 'suspended'].includes(k.state))
      .map((k) => k.id);
    const oldSerial = /HSM (\w+)/.exec((await run('user', 'U2', 'status')).out)?.[1];
    // Off a terminal, only --yes confirms; the question says what is replaced.
    const pins = ['--user-pin', 'new-user-pin', '--device-admin-pin', DEVICE_ADMIN_PIN];
    const unconfirmed = await run('admin', 'provision', 'U2', ...pins);
    expect([unconfirmed.code, unconfirmed.err]).toEqual([
      2,
      expect.stringContaining('provision U2, replacing the HSM in'),
    ]);
    // A lost HSM (its images gone): the admin, in its session, names the HSM in service that is replaced.
    const folder = join(home, 'users', 'U2');
    renameSync(folder, `${folder}.lost`);
    try {
      const lost = await run('admin', 'provision', 'U2', ...pins);
      expect([lost.code, lost.err]).toEqual([
        2,
        expect.stringContaining(`provision U2 again: HSM ${oldSerial}, in service, is replaced`),
      ]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
      renameSync(`${folder}.lost`, folder);
    }
    const again = await run(
      'admin',
      'provision',
      'U2',
      '--user-pin',
      'new-user-pin',
      '--device-admin-pin',
      DEVICE_ADMIN_PIN,
      '--yes',
    );
    expect(again.out).toMatch(/published: U2 #\d+ resync/);
    const newSerial = /HSM (\w+)/.exec(again.out)?.[1];
    expect(newSerial).not.toBe(oldSerial);
    // Replacing rekeys nothing: the old HSM keeps the keys it was given, and the admin is told which
    // of them can still protect, with the remedy if it was lost.
    expect(held.length).toBeGreaterThan(0);
    expect(again.out).toContain(`the replaced HSM ${oldSerial} keeps ${held.join(',')}, which can still protect`);
    expect(again.out).toContain(`if it was lost: sekey admin forget-hsm ${oldSerial} --lost`);
    expect((await run('user', 'U2', 'sync')).code).toBe(1); // the old PIN is not the new HSM's
    expect((await run('user', 'U2', 'sync', '--pin', 'new-user-pin')).out).toMatch(/^applied #\d+/);
    expect((await run('user', 'U2', 'keys', '--pin', 'new-user-pin')).out).toBe(before);
    expect((await run('user', 'U2', 'decrypt', 'after.skm', 'after-out.txt', '--pin', 'new-user-pin')).code).toBe(0);
  });

  test("a user's folder holding another HSM is refused before any PIN reaches it, not run as that user", async () => {
    const u1 = join(home, 'users', 'U1');
    const config = join(home, 'installation.json');
    const recorded = readFileSync(config, 'utf8');
    const hsms = (JSON.parse(recorded) as { userHsms: Record<string, string> }).userHsms;
    renameSync(u1, `${u1}.own`);
    mkdirSync(u1, { mode: 0o755 });
    const holding = async (from: string): Promise<Buffer> => {
      for (const image of ['flash.img', 'sd.img']) copyFileSync(join(from, image), join(u1, image));
      return readFileSync(join(u1, 'flash.img'));
    };
    const refusal = async (pin: string): Promise<string> => {
      const wrong = await run('user', 'U1', 'keys', '--pin', pin);
      expect(wrong.code).toBe(1);
      // The error, and what to do about it.
      return wrong.err.split('\n').slice(0, 2).join('\n');
    };
    try {
      // U2's HSM: installation.json records U1's serial, so it is refused before login, and a wrong PIN
      // (U1's own) spends none of U2's tries: its flash, where a try is counted first, is untouched.
      const flash = await holding(join(home, 'users', 'U2'));
      expect(await refusal('1234')).toBe(
        `sekey user U1 keys: BadInstallation: ${u1} holds U2's HSM (${hsms['U2']}), not U1's HSM ${hsms['U1']}; ` +
          `no PIN was tried on it\n  what to do: Put U1's HSM back in ${u1} (or restore the folder from a backup), ` +
          `and U2's in ${join(home, 'users', 'U2')} if it is not there.`,
      );
      expect(readFileSync(join(u1, 'flash.img')).equals(flash)).toBe(true);
      // An HSM this home records for nobody (U2's, as if replaced since).
      const { U2: _, ...others } = hsms;
      writeFileSync(config, JSON.stringify({ ...JSON.parse(recorded), userHsms: others }));
      expect(await refusal('1234')).toContain(
        `${u1} holds HSM ${hsms['U2']}, which is no user's here (one replaced since, another installation's, or ` +
          `one whose provisioning was cut short), not U1's HSM ${hsms['U1']}; no PIN was tried on it\n  what to do: ` +
          `Put U1's HSM back in ${u1} (or restore the folder from a backup). If installation.json was restored ` +
          "from a backup older than U1's HSM, an admin command (sekey admin users) records the HSM the admin pairs " +
          'with U1; a provisioning cut short is run again (sekey admin provision U1 … --yes).',
      );
      // Without a record of U1's (an installation.json from before it), the HSM's own database says
      // whose it is, once it opens with its PIN.
      const { U1: __, ...noU1 } = hsms;
      writeFileSync(config, JSON.stringify({ ...JSON.parse(recorded), userHsms: noU1 }));
      expect(await refusal('new-user-pin')).toBe(
        `sekey user U1 keys: BadInstallation: ${u1} holds U2's HSM, not U1's\n  what to do: Put it back in ` +
          `${join(home, 'users', 'U2')}, and U1's own in ${u1} (or restore ${u1} from a backup).`,
      );
      // The admin HSM, with the record back.
      writeFileSync(config, recorded);
      await holding(join(home, 'admin'));
      expect(await refusal('1234')).toContain(
        `${u1} holds the admin HSM (${JSON.parse(recorded).adminSerial}), not U1's HSM ${hsms['U1']}; `,
      );
    } finally {
      writeFileSync(config, recorded);
      rmSync(u1, { recursive: true, force: true });
      renameSync(`${u1}.own`, u1);
    }
    expect((await run('user', 'U1', 'keys')).code).toBe(0);
  });

  test("a user command records the user's HSM where installation.json does not yet (written before it)", async () => {
    const config = join(home, 'installation.json');
    const { userHsms, ...before } = JSON.parse(readFileSync(config, 'utf8')) as { userHsms: Record<string, string> };
    writeFileSync(config, JSON.stringify(before));
    expect((await run('user', 'U1', 'keys')).code).toBe(0);
    const after = JSON.parse(readFileSync(config, 'utf8')) as { userHsms: Record<string, string> };
    expect(after.userHsms).toEqual({ U1: userHsms['U1'] });
    writeFileSync(config, JSON.stringify({ ...after, userHsms }));
  });

  test('an old installation.json naming a replaced HSM: an admin command records the HSM in service', async () => {
    const config = join(home, 'installation.json');
    const recorded = readFileSync(config, 'utf8');
    const { userHsms, ...rest } = JSON.parse(recorded) as { userHsms: Record<string, string> };
    // As a backup taken before U1's HSM was provisioned again: it names the one replaced since.
    const replaced = 'R'.repeat(32);
    writeFileSync(config, JSON.stringify({ ...rest, userHsms: { ...userHsms, U1: replaced } }));
    try {
      const refused = await run('user', 'U1', 'keys');
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(`not U1's HSM ${replaced}; no PIN was tried on it`);
      expect(refused.err).toContain('an admin command (sekey admin users) records the HSM the admin pairs with U1');
      // Any admin command, read-only too, writes the admin database's pairing; U1 then runs as before.
      expect((await run('admin', 'users')).code).toBe(0);
      expect((JSON.parse(readFileSync(config, 'utf8')) as { userHsms: unknown }).userHsms).toEqual(userHsms);
      expect((await run('user', 'U1', 'keys')).code).toBe(0);
      // So too for one written before userHsms: the admin's pairing of every user with an HSM in service
      // (not U3, deleted above: its HSM is retired).
      writeFileSync(config, JSON.stringify(rest));
      expect((await run('admin', 'users')).code).toBe(0);
      expect((JSON.parse(readFileSync(config, 'utf8')) as { userHsms: unknown }).userHsms).toEqual({
        U1: userHsms['U1'],
        U2: userHsms['U2'],
      });
    } finally {
      const now = JSON.parse(readFileSync(config, 'utf8')) as { lastTime: number };
      writeFileSync(config, JSON.stringify({ ...JSON.parse(recorded), lastTime: now.lastTime }));
    }
  });

  test('the lock keeps two commands off one installation', async () => {
    // A live process (this one's parent), not this one: a lock naming this process's own ID that it
    // does not hold is an earlier process's with the same ID (homeLock.ts).
    writeFileSync(join(home, '.lock'), String(process.ppid));
    const busy = await run('admin', 'users');
    expect(busy.code).toBe(1);
    expect(busy.err).toContain('Busy');
    // A dead process's lock without its record (.lock.who), as an earlier sekey leaves it: taken over
    // once older than 5 s (younger, its owner may not have written the record yet).
    writeFileSync(join(home, '.lock'), '999999999');
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(home, '.lock'), old, old);
    expect((await run('admin', 'users')).code).toBe(0);
    expect(existsSync(join(home, '.lock'))).toBe(false);
  });

  test('read-only admin commands commit nothing and audit nothing, even with a key due to expire', async () => {
    // K2001 (30 days from day 1) is due by March: reads show it expired, without committing it.
    const sd = () => readFileSync(join(home, 'admin', 'sd.img'));
    const auditBefore = (await run('admin', 'audit', '--json', ...at('2026-03-01T00:00Z'))).out;
    const card = sd();
    const reads = [
      ['status'],
      ['stale'],
      ['user-info', 'U1'],
      ['users'],
      ['groups'],
      ['keys'],
      ['key-info', 'K2001'],
      ['group-info', 'G1'],
      ['audit'],
      ['audit', '--verify'],
      ['status', '--json'],
      ['keys', '--json'],
    ];
    // `stale` exits 1 when someone is stale (everyone is, by March); every other read exits 0.
    for (const argv of reads)
      expect((await run('admin', ...argv)).code, argv.join(' ')).toBe(argv[0] === 'stale' ? 1 : 0);
    expect((await run('admin', 'key-info', 'K2001')).out).toMatch(/state: +deactivated/);
    expect(sd().equals(card)).toBe(true);
    expect((await run('admin', 'audit', '--json')).out).toBe(auditBefore);
    // A mutating command commits the expiry, and says so first.
    const sweep = await run('admin', 'sweep', '--no-publish');
    expect(sweep.out).toBe('K2001: cryptoperiod ended 2026-02-05 09:00Z → deactivated');
    expect(sd().equals(card)).toBe(false);
    expect((JSON.parse((await run('admin', 'audit', '--json')).out) as Array<{ action: string }>).at(-1)?.action).toBe(
      'expireKeys',
    );
  });
});

describe('sekey with the system clock', () => {
  test('refuses to run when the host clock is behind the last recorded time', async () => {
    const home = join(tempDir(), 'home');
    let now = Date.UTC(2026, 5, 1);
    const clock = { now: () => now };
    const factory = join(tempDir(), 'factory');
    expect((await sekey(['factory', 'init', '--dir', factory])).code).toBe(0);
    const world = {
      env: { SEKEY_HOME: home, SEKEY_FACTORY: factory, SEKEY_ADMIN_PIN: ADMIN_PIN },
      cwd: tempDir(),
      clock,
    };
    const share = join(tempDir(), 'synced-folder');
    mkdirSync(share);
    const init = await sekey(
      ['admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN, '--share', share],
      world,
    );
    expect(init.out).toContain('clock     system');
    expect(JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8'))).toMatchObject({ share, clock: 'system' });
    now += 60_000;
    expect((await sekey(['admin', 'add-user', 'U1', 'alice'], world)).code).toBe(0);
    now -= 120_000;
    const back = await sekey(['admin', 'users'], world);
    expect(back.code).toBe(1);
    expect(back.err).toContain('ClockWentBack: the system clock');
    now += 120_000;
    expect((await sekey(['admin', 'users'], world)).out).toContain('alice');
  });
});

describe('sekey admin provision and device attestation', () => {
  test('an HSM certified by another manufacturer is refused by the admin HSM; nothing is stored', async () => {
    const home = join(tempDir(), 'home');
    const [factory, otherFactory] = [join(tempDir(), 'factory'), join(tempDir(), 'other-factory')];
    for (const dir of [factory, otherFactory]) expect((await sekey(['factory', 'init', '--dir', dir])).code).toBe(0);
    const env = { SEKEY_HOME: home, SEKEY_FACTORY: factory, SEKEY_ADMIN_PIN: ADMIN_PIN, SEKEY_USER_PIN: USER_PIN };
    const run = (...argv: string[]) => sekey(argv, { env });
    expect(
      (await run('admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN, '--at', '2026-01-05T09:00Z')).code,
    ).toBe(0);
    expect((await run('admin', 'add-user', 'U9', 'mallory', '--no-publish')).code).toBe(0);
    // Another factory: the new HSM is certified by a manufacturer the admin HSM does not trust.
    const refused = await run(
      'admin',
      'provision',
      'U9',
      '--user-pin',
      USER_PIN,
      '--device-admin-pin',
      DEVICE_ADMIN_PIN,
      '--no-publish',
      '--factory',
      otherFactory,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('UntrustedPeer');
    expect(existsSync(join(home, 'users', 'U9', 'flash.img'))).toBe(false);
    const users = JSON.parse((await run('admin', 'users', '--json')).out) as Array<{
      id: string;
      serial: string | null;
    }>;
    expect(users).toMatchObject([{ id: 'U9', serial: null }]);
  });
});

describe("sekey factory: the manufacturer's key stays outside the installation", () => {
  test(
    'factory init makes an owner-only folder once; init and provision refuse a missing factory or one inside the ' +
      'home',
    async () => {
      const factory = join(tempDir(), 'factory');
      const made = await sekey(['factory', 'init', '--dir', factory]);
      expect(made.code).toBe(0);
      expect(made.out).toMatch(/manufacturer's public key [0-9a-f]{64}/);
      if (process.platform !== 'win32') expect(statSync(join(factory, 'manufacturer.json')).mode & 0o777).toBe(0o600);
      expect((await sekey(['factory', 'init'], { env: { SEKEY_FACTORY: factory } })).err).toContain(
        'AlreadyInitialized',
      );
      const noDir = await sekey(['factory', 'init']);
      expect(noDir.code).toBe(2);
      // It names the option this command takes (`--dir`), not `provision`'s `--factory`.
      expect(noDir.err).toContain('factory init needs the factory that certifies new HSMs: pass --dir DIR or set');
      expect((await sekey(['factory', 'frob'])).code).toBe(2);
      expect((await sekey(['factory'])).code).toBe(2);
      expect((await sekey(['factory', '--help'])).out).toMatch(/^usage: sekey factory init/);

      const home = join(tempDir(), 'home');
      const env = { SEKEY_HOME: home, SEKEY_ADMIN_PIN: ADMIN_PIN, SEKEY_USER_PIN: USER_PIN };
      const run = (...argv: string[]) => sekey(argv, { env });
      const noFactory = await run('admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN);
      expect(noFactory.code).toBe(2);
      expect(noFactory.err).toContain(
        'needs the factory that certifies new HSMs: pass --factory DIR or set SEKEY_FACTORY',
      );
      expect(existsSync(join(home, 'installation.json'))).toBe(false);
      const inside = await run(
        'admin',
        'init',
        '--admin-pin',
        ADMIN_PIN,
        '--user-pin',
        USER_PIN,
        '--factory',
        join(home, 'factory'),
      );
      expect(inside.code).toBe(1);
      expect(inside.err).toContain('UnsafeFactory');
      const empty = await run(
        'admin',
        'init',
        '--admin-pin',
        ADMIN_PIN,
        '--user-pin',
        USER_PIN,
        '--factory',
        tempDir(),
      );
      expect(empty.err).toMatch(/manufacturer\.json: missing: not a factory folder/);
      expect(
        (
          await run(
            'admin',
            'init',
            '--admin-pin',
            ADMIN_PIN,
            '--user-pin',
            USER_PIN,
            '--factory',
            factory,
            '--at',
            '2026-01-05T09:00Z',
          )
        ).code,
      ).toBe(0);
      expect((await run('admin', 'add-user', 'U1', 'alice', '--no-publish')).code).toBe(0);

      const provision = (...extra: string[]) =>
        run(
          'admin',
          'provision',
          'U1',
          '--user-pin',
          USER_PIN,
          '--device-admin-pin',
          DEVICE_ADMIN_PIN,
          '--no-publish',
          ...extra,
        );
      const refused = await provision();
      expect(refused.code).toBe(2);
      expect(refused.err).toContain('provision needs the factory that certifies new HSMs');
      expect((await provision('--factory', home)).err).toContain('UnsafeFactory');
      expect(existsSync(join(home, 'users', 'U1'))).toBe(false);
      expect((await provision('--factory', factory)).code).toBe(0);

      // No file of the installation holds the manufacturer's private key, in any encoding.
      const seedHex = (JSON.parse(readFileSync(join(factory, 'manufacturer.json'), 'utf8')) as { seed: string }).seed;
      const needles = [
        Buffer.from(seedHex, 'hex'),
        Buffer.from(seedHex),
        Buffer.from(seedHex.toUpperCase()),
        Buffer.from(Buffer.from(seedHex, 'hex').toString('base64')),
      ];
      const files = readdirSync(home, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
      expect(files.length).toBeGreaterThanOrEqual(5);
      for (const file of files) {
        const content = readFileSync(file);
        for (const needle of needles) expect(content.includes(needle), file).toBe(false);
      }
    },
  );

  test('an empty SEKEY_HOME or SEKEY_FACTORY is unset: ./.sekey, not the working folder; no factory', async () => {
    const factory = join(tempDir(), 'factory');
    expect((await sekey(['factory', 'init', '--dir', factory])).code).toBe(0);
    const desk = tempDir();
    const pins = ['--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN];
    const noFactory = await sekey(['admin', 'init', ...pins], {
      env: { SEKEY_HOME: '', SEKEY_FACTORY: '' },
      cwd: desk,
    });
    expect([noFactory.code, noFactory.err]).toEqual([2, expect.stringContaining('pass --factory DIR or set')]);
    const made = await sekey(['admin', 'init', ...pins], {
      env: { SEKEY_HOME: '', SEKEY_FACTORY: factory },
      cwd: desk,
    });
    expect([made.code, made.err]).toEqual([0, '']);
    expect(existsSync(join(desk, '.sekey', 'installation.json'))).toBe(true);
    expect(existsSync(join(desk, 'installation.json'))).toBe(false);
    const users = await sekey(['admin', 'users', '--pin', ADMIN_PIN], { env: { SEKEY_HOME: '' }, cwd: desk });
    expect(users.code).toBe(0);
  });
});

describe('sekey on a hostile share', () => {
  let home: string;
  let env: Record<string, string>;
  const run = (...argv: string[]) => sekey(argv, { env, cwd: tempDir() });
  const streamDir = (stream: string) => join(home, 'share', ...stream.split('/'));

  beforeAll(async () => {
    home = join(tempDir(), 'home');
    const factory = join(tempDir(), 'factory');
    expect((await sekey(['factory', 'init', '--dir', factory])).code).toBe(0);
    env = { SEKEY_HOME: home, SEKEY_FACTORY: factory, SEKEY_ADMIN_PIN: ADMIN_PIN, SEKEY_USER_PIN: USER_PIN };
    const ok = async (...argv: string[]) => expect((await run(...argv)).code, argv.join(' ')).toBe(0);
    await ok('admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN, '--at', '2026-01-05T09:00Z');
    for (const [id, name] of [
      ['U1', 'alice'],
      ['U2', 'bob'],
    ] as const)
      await ok('admin', 'add-user', id, name, '--no-publish');
    await ok('admin', 'add-group', 'G1', 'team', '--max-keys', '3', '--cryptoperiod', '30d', '--no-publish');
    for (const u of ['U1', 'U2']) await ok('admin', 'add-member', 'G1', u, '--no-publish');
    await ok('admin', 'add-key', 'G1', 'k', '--no-publish');
    await ok('admin', 'activate-key', 'K2000', '--no-publish');
    for (const u of ['U1', 'U2'])
      await ok('admin', 'provision', u, '--user-pin', USER_PIN, '--device-admin-pin', DEVICE_ADMIN_PIN, '--no-publish');
    await ok('admin', 'publish');
    for (const u of ['U1', 'U2']) await ok('user', u, 'sync');
    await ok('admin', 'collect-acks');
  });
  afterEach(() => killSafetyNets());

  test(
    'FIFOs, directories, links, odd names and oversize files in update and ack streams: sync, status and stale ' +
      'finish and report them; authentic updates still apply',
    async () => {
      const updates = plantHostileEntries(
        streamDir(updateStream('U2')),
        updateFileName(2, 'incremental'),
        join(tempDir(), 'big'),
      );
      const acks = plantHostileEntries(streamDir(ackStream('U2')), ackFileName(2), join(tempDir(), 'big'));
      // Five junk files with the names of the next update files: more than the refusal limit.
      for (let s = 3; s <= 7; s++)
        writeFileSync(join(streamDir(updateStream('U2')), updateFileName(s, 'incremental')), `junk ${s}`);
      const expectReported = (err: string, stream: string, names: HostileEntries['names']) => {
        for (const { name, reason } of names)
          expect(err).toContain(`warning: skipped share entry ${stream}/${JSON.stringify(name)}: ${reason}`);
      };

      const sync = await run('user', 'U2', 'sync');
      expect(sync.out).toBe('nothing new (at update #1)');
      expectReported(sync.err, updateStream('U2'), updates.names);
      expect(sync.err).toContain('refused 000000000007.update: corrupt');
      expect(sync.err).not.toContain('blocked');
      expect((await run('user', 'U2', 'status')).out).not.toContain('BLOCKED');

      for (const command of ['status', 'stale']) {
        const r = await run('admin', command);
        expect(r.code, command).toBe(0);
        expectReported(r.err, ackStream('U2'), acks.names);
      }

      // A rekey: bob's next file takes the FIFO's name, and applies although five junk files were refused.
      const leave = await run('admin', 'remove-member', 'G1', 'U1', '--at', '+1d');
      expect(leave.out).toMatch(/K2001: new key of G1 .*held by U2/);
      expect(leave.out).toMatch(/published: .*U2 #2/);
      const applied = await run('user', 'U2', 'sync');
      expect(applied.out).toBe('applied #2; now at update #2');
      expect((await run('user', 'U2', 'keys')).out).toContain('K2001');
      expect((await run('user', 'U1', 'sync')).code).toBe(0);
      expect((await run('admin', 'collect-acks')).out).toContain('U2 #2');

      // A withheld update is still noticed, with junk among the acknowledgements.
      await run('admin', 'rename-group', 'G1', 'renamed');
      for (const name of readdirSync(streamDir(updateStream('U2'))))
        if (name === updateFileName(3, 'incremental')) rmSync(join(streamDir(updateStream('U2')), name));
      await run('user', 'U2', 'sync');
      const stale = await run('admin', 'stale', '--at', '+8d');
      expect(stale.code).toBe(1);
      expect(stale.out).toMatch(/^stale \(an update unacknowledged for 7d\): U2 —/);
      // (bob's authentic acknowledgement #2 replaced the FIFO of its name, and was collected.)
      expectReported(stale.err, ackStream('U2'), acks.names.slice(1));
    },
  );

  /** U1 resynced and synced, its acknowledgement on the share with the seal's last byte flipped. */
  async function spoilAcknowledgement() {
    expect((await run('admin', 'resync', 'U1')).code).toBe(0);
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
    const acks = streamDir(ackStream('U1'));
    // The resync's: the device acknowledged its last file before it, again (User.sync), which is a leftover.
    const name = readdirSync(acks).sort().at(-1);
    const path = join(acks, name as string);
    const spoiled = readFileSync(path);
    spoiled[spoiled.length - 1] = (spoiled[spoiled.length - 1] as number) ^ 1;
    writeFileSync(path, spoiled);
    return { name: name as string, path, spoiled };
  }

  test('collect-acks sets a spoiled acknowledgement aside and says where; the next sync sends it again', async () => {
    const { name, path, spoiled } = await spoilAcknowledgement();
    const collect = await run('admin', 'collect-acks');
    expect(collect.code).toBe(0);
    expect(collect.out).toBe(
      'no new acknowledgement\n' +
        'set aside, their seal broken (each device sends its acknowledgement again at its next sync): ' +
        `refused-acks/U1/${name}`,
    );
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(join(streamDir(refusedAckStream('U1')), name as string))).toEqual(spoiled);
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
    const again = JSON.parse((await run('admin', 'collect-acks', '--json')).out) as {
      accepted: Array<{ userId: string }>;
      setAside: unknown[];
    };
    expect(again.accepted.map((a) => a.userId)).toEqual(['U1']);
    expect(again.setAside).toEqual([]);
  });

  test('a share refusing the copy of a spoiled acknowledgement: ShareNotWritten names it, the rest done', async () => {
    const { name, path } = await spoilAcknowledgement();
    // A regular file where the refused streams' folder goes.
    const refused = dirname(streamDir(refusedAckStream('U1')));
    rmSync(refused, { recursive: true, force: true });
    writeFileSync(refused, 'in the way');
    await run('admin', 'rename-group', 'G1', 'once more', '--no-publish');
    const publish = await run('admin', 'publish');
    expect(publish.code).toBe(4);
    expect(publish.out).toMatch(/\npublished: U2 #\d+/);
    expect(publish.err).toContain(`write ${refusedAckStream('U1')}/${name}`);
    expect(existsSync(path)).toBe(false);
    rmSync(refused);
    // U1's acknowledgement comes again: U1 is not held back.
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
    expect((await run('admin', 'collect-acks')).out).toMatch(/U1 #/);
  });

  test('a garbled or truncated device image is Tampered: one line, exit 1, no stack', async () => {
    const garble = (path: string, how: 'truncate' | 'flip') => {
      const bytes = readFileSync(path);
      if (how === 'truncate') writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
      else {
        bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff;
        writeFileSync(path, bytes);
      }
      return bytes;
    };
    for (const [who, argv] of [
      ['users/U1', ['user', 'U1', 'keys']],
      ['admin', ['admin', 'users']],
    ] as const) {
      for (const [file, how] of [
        ['sd.img', 'truncate'],
        ['sd.img', 'flip'],
        ['flash.img', 'flip'],
      ] as const) {
        const path = join(home, who, file);
        const original = readFileSync(path);
        garble(path, how);
        const r = await run(...argv);
        expect(r.code, `${who}/${file} ${how}`).toBe(1);
        expect(r.err, `${who}/${file} ${how}`).toMatch(
          new RegExp(
            `^sekey ${argv.slice(0, argv[0] === 'user' ? 3 : 2).join(' ')}: Tampered: .*${file} is not an intact ` +
              `device image`,
          ),
        );
        // The error and what to do, and no stack.
        expect(r.err.split('\n'), `${who}/${file} ${how}`).toHaveLength(2);
        expect(r.err.split('\n')[1]).toMatch(/^ {2}what to do: /);
        writeFileSync(path, original);
      }
      // One image gone: Tampered too, naming it (it was a raw ENOENT).
      for (const file of ['sd.img', 'flash.img']) {
        const path = join(home, who, file);
        renameSync(path, `${path}.away`);
        const r = await run(...argv);
        renameSync(`${path}.away`, path);
        expect([r.code, r.err.split('\n')[0]], `${who}/${file} missing`).toEqual([
          1,
          `sekey ${argv.slice(0, argv[0] === 'user' ? 3 : 2).join(' ')}: Tampered: ${path} is missing: an HSM's ` +
            'folder holds both its images (flash.img and sd.img)',
        ]);
      }
      expect((await run(...argv)).code).toBe(0);
    }
  });
});

describe('freshness: heartbeats and NotFresh on a persistent installation', () => {
  test(
    'init takes --heartbeat and --freshness; publish sends heartbeats; a user who misses them may not encrypt ' +
      'until it syncs',
    async () => {
      const home = join(tempDir(), 'home');
      const desk = tempDir();
      const factory = join(tempDir(), 'factory');
      expect((await sekey(['factory', 'init', '--dir', factory])).code).toBe(0);
      const env = { SEKEY_HOME: home, SEKEY_FACTORY: factory, SEKEY_ADMIN_PIN: ADMIN_PIN, SEKEY_USER_PIN: USER_PIN };
      const run = (...argv: string[]) => sekey(argv, { env, cwd: desk });
      const init = (...extra: string[]) =>
        run('admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN, '--at', '2026-01-05T09:00Z', ...extra);
      const tooShort = await init('--freshness', '12h');
      expect(tooShort.code).toBe(2);
      expect(tooShort.err).toContain('--freshness (12h) must be longer than the heartbeat interval (1d)');
      const made = await init('--heartbeat', '12h', '--freshness', '2d');
      expect(made.code).toBe(0);
      expect(made.out).toContain(
        'heartbeat every 12h (run `sekey admin publish` from cron); users encrypt for 2d after the latest one ' +
          'they applied',
      );
      const config = JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')) as Record<string, unknown>;
      expect(config).toMatchObject({ heartbeatIntervalMs: 12 * 3_600_000, freshnessWindowMs: 2 * 86_400_000 });
      expect((await run('admin', 'publish', '--help')).out).toContain('from cron');

      for (const [id, name] of [
        ['U1', 'alice'],
        ['U2', 'bob'],
      ] as const)
        await run('admin', 'add-user', id, name, '--no-publish');
      await run('admin', 'add-group', 'G1', 'pair', '--max-keys', '2', '--cryptoperiod', '30d', '--no-publish');
      for (const u of ['U1', 'U2']) {
        await run('admin', 'add-member', 'G1', u, '--no-publish');
        expect(
          (
            await run(
              'admin',
              'provision',
              u,
              '--user-pin',
              USER_PIN,
              '--device-admin-pin',
              DEVICE_ADMIN_PIN,
              '--no-publish',
            )
          ).code,
        ).toBe(0);
      }
      await run(
        'admin',
        'activate-key',
        (/K\d+/.exec((await run('admin', 'add-key', 'G1', 'k', '--no-publish')).out) as RegExpExecArray)[0],
      );
      for (const u of ['U1', 'U2']) expect((await run('user', u, 'sync')).code).toBe(0);
      writeFileSync(join(desk, 'note.txt'), 'hello');
      expect((await run('user', 'U1', 'encrypt', '--to', 'U2', 'note.txt', 'note.skm')).code).toBe(0);

      // The publisher collects the acknowledgements waiting first (so `stale` counts from this run).
      expect((await run('admin', 'publish', '--at', '+11h')).out).toBe(
        "acknowledged: U1 #1, U2 #1\npublished: nothing (no provisioned user's view changed)",
      );
      expect((await run('admin', 'publish', '--at', '+1h')).out).toMatch(
        /^published: U1 #2 heartbeat \(\d+ B\), U2 #2 heartbeat \(\d+ B\)$/,
      );
      await run('user', 'U2', 'sync');
      // Alice misses that heartbeat: two days and a minute after her last update, she may not encrypt.
      const late = await run('user', 'U1', 'encrypt', '--to', 'U2', 'note.txt', 'late.skm', '--at', '+2161m');
      expect(late.code).toBe(1);
      expect(late.err.split('\n')[0]).toBe(
        'sekey user U1 encrypt: NotFresh: the last authentic update from the administrator was issued ' +
          '2026-01-05T09:00Z, 2 days ago; ' +
          'this installation allows encrypting for 2 days after it: sync (`sekey user U1 sync`) to get the ' +
          "administrator's latest updates; " +
          'if that brings nothing, the share may be withholding them: ask the administrator',
      );
      expect(existsSync(join(desk, 'late.skm'))).toBe(false);
      // Freshness is judged before the stale view chooses a key: a recipient it does not know (added
      // since, say) gets the same NotFresh, not UnknownUser and its remedy.
      const unknownRecipient = await run(
        'user',
        'U1',
        'encrypt',
        '--to',
        'U3',
        'note.txt',
        'late.skm',
        '--at',
        '+2161m',
      );
      expect(unknownRecipient.err.split('\n')[0]).toMatch(/^sekey user U1 encrypt: NotFresh: /);
      // The refusal recorded no time (sessionTime.test.ts): the status moves the clock there itself.
      expect((await run('user', 'U1', 'status', '--at', '+2161m')).out).toContain(
        'NOT FRESH: latest update issued 2026-01-05 09:00Z, window 2d; encryption is refused until a sync brings a ' +
          'newer one',
      );
      const status = JSON.parse((await run('user', 'U1', 'status', '--json')).out) as { freshness: unknown };
      expect(status.freshness).toEqual({
        statement: { issuedAt: Date.UTC(2026, 0, 5, 9), windowMs: 2 * 86_400_000, appliedAt: Date.UTC(2026, 0, 5, 9) },
        staleness: {
          reason: 'expired',
          issuedAt: Date.UTC(2026, 0, 5, 9),
          since: Date.UTC(2026, 0, 5, 9),
          windowMs: 2 * 86_400_000,
          ageMs: 2 * 86_400_000 + 60_000,
        },
      });
      expect((await run('user', 'U1', 'decrypt', 'note.skm', 'note-out.txt')).code).toBe(0);
      // Bob synced the heartbeat: still fresh.
      expect((await run('user', 'U2', 'encrypt', '--to', 'U1', 'note.txt', 'bob.skm')).code).toBe(0);
      // Alice syncs; the heartbeat she missed is there: fresh again.
      expect((await run('user', 'U1', 'sync')).out).toBe('applied #2; now at update #2');
      expect((await run('user', 'U1', 'status')).out).not.toContain('NOT FRESH');
      expect((await run('user', 'U1', 'encrypt', '--to', 'U2', 'note.txt', 'late.skm')).code).toBe(0);
    },
  );
});
