import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aliceWithActiveKey, removeTempDirs } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

// The spec's "Expiry first": every operation first expires the keys whose cryptoperiod has ended,
// and a refused operation changes nothing, that sweep included. The command line once committed the
// sweep on its own before the command ran, so a refused command (or a question answered no) at a
// later time left expiries in the audit log and the installation's time moved forward, printed
// only as an error (exit 1, "refused"), and published by no one until the next command.
describe('a refused admin command changes nothing, not even the expiries its time has reached', () => {
  let run: (...argv: string[]) => Promise<Run>;
  let answering: (answers: readonly string[], ...argv: string[]) => Promise<Run>;
  let home: string;
  const auditEntries = async (): Promise<number> =>
    (JSON.parse((await run('admin', 'audit', '--json')).out) as unknown[]).length;
  const lastTime = (): number =>
    (JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')) as { lastTime: number }).lastTime;

  beforeAll(async () => {
    ({ run, home, answering } = await aliceWithActiveKey());
    for (const argv of [
      ['add-key', 'G1', 'old', '--no-publish'],
      ['activate-key', 'K2001', '--no-publish'],
      ['deactivate-key', 'K2001', '--no-publish'],
    ])
      expect((await run('admin', ...argv)).code, argv.join(' ')).toBe(0);
  });

  test('refused at a time past a cryptoperiod: no entry, no time moved; the expiry is the next change', async () => {
    const [entries, time] = [await auditEntries(), lastTime()];
    // K2000 is active (refused as such at any time), and its 30 days end before +40d.
    const refused = await run('admin', 'activate-key', 'K2000', '--at', '+40d', '--json');
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.out) as { error: { code: string } }).error.code).toBe('IllegalTransition');
    expect(await auditEntries()).toBe(entries);
    expect(lastTime()).toBe(time);
    // A question answered no, at that time: nothing either.
    const declined = await answering(['n'], 'admin', 'destroy-key', 'K2001', '--at', '+40d', '--no-publish');
    expect(declined.code).toBe(1);
    expect(declined.err).toContain('NotConfirmed');
    expect(declined.out).toBe('');
    expect(await auditEntries()).toBe(entries);
    expect(lastTime()).toBe(time);
    // The expiry is still due, and the next change commits it and says so.
    const swept = await run('admin', 'sweep', '--at', '+40d', '--no-publish');
    expect(swept.code).toBe(0);
    expect(swept.out).toMatch(/^K2000: cryptoperiod ended .* → deactivated$/m);
    expect(await auditEntries()).toBe(entries + 1);
    expect(lastTime()).toBeGreaterThan(time);
  });

  test('a change commits the expiries its time reached in its own transaction, and reports them', async () => {
    await run('admin', 'add-key', 'G1', 'next', '--no-publish');
    expect((await run('admin', 'activate-key', 'K2002', '--no-publish')).code).toBe(0);
    const entries = await auditEntries();
    const renamed = await run('admin', 'rename-key', 'K2001', 'older', '--at', '+40d', '--json', '--no-publish');
    expect(renamed.code).toBe(0);
    const { keys } = JSON.parse(renamed.out) as {
      keys: { transitions: Array<{ keyId: string; from: string; to: string }>; renamed: unknown[] };
    };
    expect(keys.transitions.map((t) => [t.keyId, t.from, t.to])).toEqual([['K2002', 'active', 'deactivated']]);
    expect(keys.renamed).toHaveLength(1);
    // The sweep's entry and the operation's, in the one transaction.
    expect(await auditEntries()).toBe(entries + 2);
  });
});
