import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NO_CHANGES } from '../kms/adminChanges.ts';
import { forgottenLines } from './adminUserCommands.ts';
import { DEVICE_ADMIN_PIN, manualInstallation, provisionedUsers, removeTempDirs, sekey } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe('sekey admin forget-hsm', () => {
  let run: (...argv: string[]) => Promise<Run>;
  /** Runs on a terminal that answers `answer` to the question. */
  let answering: (answer: string, ...argv: string[]) => Promise<Run>;

  beforeAll(async () => {
    const installation = await manualInstallation();
    run = installation.run;
    const { env, desk } = installation;
    answering = (answer, ...argv) => sekey(argv, { env, cwd: desk, answers: [answer] });
    await provisionedUsers(run, [
      ['U1', 'alice'],
      ['U2', 'bob'],
      ['U3', 'carol'],
    ]);
    // Provisioned, nothing published to them yet: not "up to date", which an empty HSM is not.
    const before = await run('admin', 'status');
    for (const u of ['U1', 'U2', 'U3'])
      expect(before.out).toMatch(new RegExp(`^${u} +upToDate: nothing published yet +#0 +#0$`, 'm'));
    for (const argv of [
      ['add-group', 'G1', 'team', '--max-keys', '4', '--cryptoperiod', '30d', '--no-publish'],
      ...['U1', 'U2', 'U3'].map((u) => ['add-member', 'G1', u, '--no-publish']),
      ['add-key', 'G1', 'k', '--no-publish'],
      ['activate-key', 'K2000'],
    ])
      expect((await run('admin', ...argv)).code, argv.join(' ')).toBe(0);
    for (const u of ['U1', 'U2', 'U3']) expect((await run('user', u, 'sync')).code).toBe(0);
  });

  test("a deleted user's HSM that never syncs keeps it stale; forgotten as lost, its keys compromised", async () => {
    const carol = /HSM: +(\w+)/.exec((await run('admin', 'user-info', 'U3')).out)?.[1] as string;
    expect((await run('admin', 'delete-user', 'U3', '--yes')).out).toMatch(/published: .*U3 #\d+/);
    // Carol's HSM is lost before it syncs; the others acknowledge.
    for (const u of ['U1', 'U2']) await run('user', u, 'sync');
    await run('admin', 'publish');
    // Deleted, carol will never sync: stale says to forget her HSM, not only to resync.
    const stale = await run('admin', 'stale', '--at', '+8d');
    expect([stale.code, stale.out]).toEqual([
      1,
      'stale (an update unacknowledged for 7d): U3 — deleted, their retired HSM never acknowledged its last file ' +
        '(the order to erase its keys); one that never will (destroyed, lost): `sekey admin forget-hsm U ' +
        '--destroyed|--lost`, else `sekey admin resync U`',
    ]);
    // A wrong command line (exit 2), an HSM in service and an unconfirmed one (exit 1) change nothing.
    const both = await run('admin', 'forget-hsm', 'U3', '--destroyed', '--lost', '--yes');
    expect([both.code, both.err]).toEqual([2, expect.stringContaining('--destroyed or --lost (one of them)')]);
    const neither = await run('admin', 'forget-hsm', 'U3', '--yes');
    expect(neither.code).toBe(2);
    const unconfirmed = await run('admin', 'forget-hsm', 'U3', '--lost');
    expect([unconfirmed.code, unconfirmed.err]).toEqual([
      2,
      expect.stringContaining('forget HSM U3 as lost: every key it may hold is marked compromised'),
    ]);
    // On a terminal, the question names the HSM by its serial, and whom it served.
    const no = await answering('n', 'admin', 'forget-hsm', 'U3', '--lost');
    expect([no.code, no.err]).toEqual([
      1,
      expect.stringContaining(`forget HSM ${carol} (served U3) as lost: every key it may hold is marked compromised?`),
    ]);
    expect(no.err).toContain('NotConfirmed');
    // What to do after a no is about the question asked: no word of PINs typed twice.
    expect(no.err).toContain(
      '  what to do: Nothing to undo. To go ahead, run the command again and answer yes (or pass --yes).',
    );
    const inService = await run('admin', 'forget-hsm', 'U1', '--destroyed', '--yes');
    expect([inService.code, inService.err]).toEqual([1, expect.stringMatching(/HsmInService: U1 has no retired HSM/)]);
    expect((await run('admin', 'stale')).code).toBe(1);

    const forgotten = await run('admin', 'forget-hsm', 'U3', '--lost', '--yes');
    expect(forgotten.code, forgotten.err).toBe(0);
    expect(forgotten.out.split('\n')).toEqual([
      `forgot HSM ${carol} (served U3) as lost: nothing is published to it any more`,
      '  compromised, as a lost HSM may hold them: K2000',
      'K2000: deactivated → compromised',
      expect.stringMatching(/^published: U1 #\d+ .*, U2 #\d+ /),
    ]);
    expect((await run('admin', 'stale')).out).toBe('no stale user');
    expect((await run('admin', 'status')).out).not.toContain('U3');
    const audit = (await run('admin', 'audit', '--last', '3')).out;
    expect(audit).toMatch(
      /forgetHsm +\{"hsm":"\w+","users":\["U3"\],"fate":"lost","previously":null,"compromised":\["K2000"\]/,
    );
    // Each entry ends with what it did to keys: the step here, the rekey and the retirement on deletion.
    const step = '{"key":"K2000","from":"deactivated","to":"compromised","cause":"event"}';
    expect(audit).toContain(`key:COMPROMISE  {"keyId":"K2000","hsm":"${carol}","transitions":[${step}]}`);
    expect((await run('admin', 'audit')).out).toMatch(
      /deleteUser +\{"userId":"U3","created":\[\{"key":"K2001","group":"G1","state":"active","cause":"rekey"\}\],/,
    );
    // Run again (a power cut after the first run was saved, say): refused as done, by ID or serial.
    const again = await run('admin', 'forget-hsm', carol, '--lost', '--yes', '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.out)).toMatchObject({ error: { code: 'AlreadyForgotten', exit: 1 } });
  });

  test('a replaced HSM, by its serial, forgotten as destroyed (--json says what was done), then as lost', async () => {
    const pins = ['--user-pin', 'new-user-pin', '--device-admin-pin', DEVICE_ADMIN_PIN];
    const replaced = await run('admin', 'provision', 'U2', ...pins, '--yes');
    const old = /the replaced HSM (\w+) keeps/.exec(replaced.out)?.[1] as string;
    expect(replaced.out).toContain(`if it was lost: sekey admin forget-hsm ${old} --lost`);
    const forgotten = await run('admin', 'forget-hsm', old, '--destroyed', '--yes', '--json');
    expect(forgotten.code, forgotten.err).toBe(0);
    expect(JSON.parse(forgotten.out)).toMatchObject({
      command: 'admin forget-hsm',
      forgotten: { serial: old, users: ['U2'], fate: 'destroyed', compromised: [], skipped: [], keysUnknown: false },
      keys: { created: [], transitions: [] },
    });
    const again = await run('admin', 'forget-hsm', old, '--destroyed', '--yes');
    expect([again.code, again.err]).toEqual([1, expect.stringContaining(`AlreadyForgotten: HSM ${old} was forgotten`)]);
    // Bob's ID names his HSM in service now, not the one forgotten.
    const byId = await run('admin', 'forget-hsm', 'U2', '--lost', '--yes');
    expect([byId.code, byId.err]).toEqual([
      1,
      expect.stringMatching(`HsmInService: U2 has no retired HSM: .*; its earlier HSM ${old}, forgotten as destroyed`),
    ]);
    // It turns up for sale: lost after all, the key it kept (K2000's replacement) is compromised.
    const lost = await run('admin', 'forget-hsm', old, '--lost', '--yes', '--no-publish');
    expect([lost.code, lost.err]).toEqual([0, '']);
    expect(lost.out.split('\n').slice(0, 2)).toEqual([
      `HSM ${old} (served U2), forgotten as destroyed, is recorded as lost after all`,
      '  compromised, as a lost HSM may hold them: K2001',
    ]);
  });

  test('an HSM whose acknowledgement waits on the share: collected first, its erased keys left', async () => {
    await provisionedUsers(run, [['U4', 'dave']]);
    expect((await run('admin', 'add-member', 'G1', 'U4')).code).toBe(0);
    expect((await run('user', 'U4', 'sync')).code).toBe(0);
    expect((await run('user', 'U4', 'keys')).out).toMatch(/ active /);
    // Dave is deleted; his HSM applies the erase order and acknowledges, then is lost before the
    // admin collects.
    expect((await run('admin', 'delete-user', 'U4', '--yes')).code).toBe(0);
    expect((await run('user', 'U4', 'sync')).code).toBe(0);
    // Forgotten as destroyed first: collected all the same, so that the keys kept with it (for a
    // later --lost) are those it may hold, not those it acknowledged erasing. --json says both.
    const destroyed = await run('admin', 'forget-hsm', 'U4', '--destroyed', '--yes', '--json');
    expect(destroyed.code, destroyed.err).toBe(0);
    expect(JSON.parse(destroyed.out)).toMatchObject({
      forgotten: { users: ['U4'], fate: 'destroyed' },
      acknowledged: expect.arrayContaining([expect.objectContaining({ userId: 'U4' })]),
      setAside: [],
    });
    // It turns up, lost after all: nothing it acknowledged erasing is compromised.
    const forgotten = await run('admin', 'forget-hsm', 'U4', '--lost', '--yes', '--no-publish');
    expect(forgotten.code, forgotten.err).toBe(0);
    expect(forgotten.out.split('\n')).toEqual([
      expect.stringMatching(/^HSM \w+ \(served U4\), forgotten as destroyed, is recorded as lost after all$/),
      '  it holds no key the admin knows of: nothing to compromise',
    ]);
  });

  // From a CLI review: provisioning a new HSM for a deleted user's ID left the old HSM's erase
  // acknowledgement on the share uncollected, and a later --lost compromised the keys it had erased.
  test("provisioning a deleted user's ID again collects the acknowledgements first", async () => {
    await provisionedUsers(run, [['U5', 'erin']]);
    expect((await run('admin', 'add-member', 'G1', 'U5')).code).toBe(0);
    expect((await run('user', 'U5', 'sync')).code).toBe(0);
    const old = /HSM: +(\w+)/.exec((await run('admin', 'user-info', 'U5')).out)?.[1] as string;
    expect((await run('admin', 'delete-user', 'U5', '--yes')).code).toBe(0);
    expect((await run('user', 'U5', 'sync')).code).toBe(0);
    expect((await run('admin', 'add-user', 'U5', 'erin again', '--no-publish')).code).toBe(0);
    const pins = ['--user-pin', 'erin-pin-5', '--device-admin-pin', DEVICE_ADMIN_PIN];
    const provisioned = await run('admin', 'provision', 'U5', ...pins, '--yes', '--json');
    expect(provisioned.code, provisioned.err).toBe(0);
    expect(JSON.parse(provisioned.out)).toMatchObject({
      acknowledged: expect.arrayContaining([expect.objectContaining({ userId: 'U5' })]),
      setAside: [],
    });
    const lost = await run('admin', 'forget-hsm', old, '--lost', '--yes', '--no-publish');
    expect(lost.code, lost.err).toBe(0);
    expect(lost.out).toContain('it holds no key the admin knows of: nothing to compromise');
  });

  test('what it says of a lost HSM: keys compromised and left, none known, or not recorded', () => {
    const lost = {
      serial: 'S1',
      users: ['U2'],
      fate: 'lost',
      previously: null,
      compromised: [],
      skipped: [],
      keysUnknown: false,
      changes: NO_CHANGES,
    } as const;
    const first = 'forgot HSM S1 (served U2) as lost: nothing is published to it any more';
    expect(forgottenLines(lost)).toEqual([first, '  it holds no key the admin knows of: nothing to compromise']);
    expect(forgottenLines({ ...lost, keysUnknown: true })).toEqual([
      first,
      '  its keys were not recorded when it was replaced (before this version): compromise those it held by hand ' +
        '(sekey admin compromise-key K)',
    ]);
    const skipped = [
      { keyId: 'K2001', state: 'compromised' },
      { keyId: 'K2002', state: 'destroyedCompromised' },
    ] as const;
    expect(forgottenLines({ ...lost, compromised: ['K2003'], skipped })).toEqual([
      first,
      '  compromised, as a lost HSM may hold them: K2003',
      '  left as they were, compromised already: K2001 (compromised), K2002 (destroyedCompromised)',
    ]);
  });
});
