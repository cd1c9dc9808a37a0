import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aliceWithActiveKey, removeTempDirs } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

// A destructive key event asks its question only about a step the key can take: an administrator
// who answers yes to "destroy key K2000?" and is then told the key is active was asked for nothing.
describe('sekey admin destroy-key on a terminal', () => {
  let run: (...argv: string[]) => Promise<Run>;
  /** Runs on a terminal that answers `answers`, in order (the prompt's question goes to standard error). */
  let answering: (answers: readonly string[], ...argv: string[]) => Promise<Run>;

  beforeAll(async () => {
    ({ run, answering } = await aliceWithActiveKey());
  });

  test('an active key is refused before the question, an unknown one too', async () => {
    const active = await answering(['yes'], 'admin', 'destroy-key', 'K2000', '--no-publish');
    expect(active.code).toBe(1);
    expect(active.err).not.toContain('destroy key K2000:');
    expect(active.err).toContain('IllegalTransition');
    expect(active.err).toContain('key K2000 is active: it cannot be destroyed');
    expect(active.err).toContain('deactivate it first');
    const unknown = await answering(['yes'], 'admin', 'destroy-key', 'K2999', '--no-publish');
    expect(unknown.code).toBe(1);
    expect(unknown.err).not.toContain('destroy key K2999:');
    expect(unknown.err).toContain('K2999');
    expect((await run('admin', 'key-info', 'K2000')).out).toMatch(/^state: +active$/m);
  });

  test('a deactivated key is asked about; no keeps it, yes destroys it', async () => {
    expect((await run('admin', 'deactivate-key', 'K2000', '--no-publish')).code).toBe(0);
    const declined = await answering(['n'], 'admin', 'destroy-key', 'K2000', '--no-publish');
    expect(declined.err).toContain('destroy key K2000: every HSM erases it');
    expect(declined.code).toBe(1);
    expect((await run('admin', 'key-info', 'K2000')).out).toMatch(/^state: +deactivated$/m);
    const confirmed = await answering(['yes'], 'admin', 'destroy-key', 'K2000', '--no-publish');
    expect(confirmed.err).toContain('destroy key K2000: every HSM erases it');
    expect([confirmed.code, confirmed.out]).toEqual([0, 'K2000: deactivated → destroyed; holders -U1']);
  });
});
