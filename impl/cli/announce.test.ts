import { describe, expect, test } from 'vitest';
import { announceAfterSaving } from './announce.ts';
import type { CliIo } from './cliIo.ts';

function recordingIo(): { io: CliIo; printed: string[] } {
  const printed: string[] = [];
  return {
    printed,
    io: {
      out: (l) => printed.push(l),
      err: (l) => printed.push(`err: ${l}`),
      env: {},
      cwd: '/',
    },
  };
}

describe('announce after saving', () => {
  test('lines are held while the session runs and printed once it has saved', async () => {
    const { io, printed } = recordingIo();
    const result = await announceAfterSaving(
      io,
      async (inner: (s: string) => Promise<number>) => {
        const r = await inner('session');
        printed.push('(saved)');
        return r;
      },
      async (session, held) => {
        held.out(`did something in ${session}`);
        held.err('a warning goes out at once');
        return 7;
      },
    );
    expect(result).toBe(7);
    expect(printed).toEqual(['err: a warning goes out at once', '(saved)', 'did something in session']);
  });

  test('a failing work still announces what it did (it was saved); a failing save announces nothing', async () => {
    const work = recordingIo();
    const refusal = new Error('refused');
    await expect(
      announceAfterSaving(
        work.io,
        async (inner: (s: null) => Promise<void>) => inner(null),
        async (_s, held) => {
          held.out('K2001: new key');
          throw refusal;
        },
      ),
    ).rejects.toBe(refusal);
    expect(work.printed).toEqual(['K2001: new key']);
    const save = recordingIo();
    await expect(
      announceAfterSaving(
        save.io,
        async (inner: (s: null) => Promise<void>) => {
          await inner(null);
          throw new Error('disk full');
        },
        async (_s, held) => held.out('K2001: new key'),
      ),
    ).rejects.toThrow('disk full');
    expect(save.printed).toEqual([]);
  });

  test('with --json, a change that stands (exit 4) says why in its object; an array keeps its shape', async () => {
    const notWritten = Object.assign(new Error('the change is saved, but the share did not take all of its files'), {
      code: 'ShareNotWritten',
    });
    const printed = async (line: string, json: boolean): Promise<string[]> => {
      const { io, printed } = recordingIo();
      await expect(
        announceAfterSaving(
          io,
          async (inner: (s: null) => Promise<void>) => {
            await inner(null);
            throw notWritten;
          },
          async (_s, held) => held.out(line),
          { json },
        ),
      ).rejects.toBe(notWritten);
      return printed;
    };
    const object = JSON.stringify({ command: 'admin add-key', keys: [] }, null, 2);
    const [out] = await printed(object, true);
    expect(JSON.parse(out ?? '')).toEqual({
      command: 'admin add-key',
      keys: [],
      warning: { code: 'ShareNotWritten', message: notWritten.message },
    });
    expect(await printed('[\n  1\n]', true)).toEqual(['[\n  1\n]']);
    // In text, the reason is on standard error (reportError) and the lines are as the command said them.
    expect(await printed(object, false)).toEqual([object]);
  });

  test('a line for the share is said as the share took the files: all, all but those refused, or none', async () => {
    const said = async (ending: Error | null): Promise<string[]> => {
      const { io, printed } = recordingIo();
      const run = announceAfterSaving(
        io,
        async (inner: (s: null) => Promise<void>) => {
          await inner(null);
          if (ending !== null) throw ending;
        },
        async (_s, held, afterShare) => {
          held.out('K2001: new key');
          afterShare((share) => ['write updates/U1/a', 'write updates/U2/b'].filter((op) => share.took(op)).join(', '));
        },
      );
      if (ending === null) await run;
      else await expect(run).rejects.toBe(ending);
      return printed;
    };
    const coded = (code: string, fields: object = {}): Error => Object.assign(new Error(code), { code }, fields);
    expect(await said(null)).toEqual(['K2001: new key', 'write updates/U1/a, write updates/U2/b']);
    const refused = coded('ShareNotWritten', { notWritten: ['write updates/U1/a'] });
    expect(await said(refused)).toEqual(['K2001: new key', 'write updates/U2/b']);
    // The share missing, or a save that failed before the share's turn: none of them went.
    expect(await said(coded('ShareNotWritten'))).toEqual(['K2001: new key', '']);
    expect(await said(coded('ImagesNotSaved'))).toEqual(['K2001: new key', '']);
  });
});
