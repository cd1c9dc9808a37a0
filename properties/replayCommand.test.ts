import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { replayCommand } from './progress.testkit.ts';

test('a failure names the command that replays it (this test [1+1] alone, at its seed and path)', () => {
  const [vitest, runner] = replayCommand('kms', 1234, '5:0:1').split('\n');
  expect(vitest).toBe(
    'replay: SEKEY_SEED=1234 SEKEY_PATH="5:0:1" npx vitest run properties/replayCommand.test.ts ' +
      '-t "a failure names the command that replays it \\(this test \\[1\\+1\\] alone, at its seed and path\\)"',
  );
  expect(runner).toBe('    or: npm run properties -- --suite kms --seed 1234 --path "5:0:1"');
  // The shell passes the pattern to vitest as written, and it matches this test's title, and only it.
  const pattern = execFileSync('sh', ['-c', `printf %s ${(vitest as string).split(' -t ')[1]}`], { encoding: 'utf8' });
  expect(new RegExp(pattern).test(expect.getState().currentTestName as string)).toBe(true);
  expect(
    new RegExp(`^${pattern}$`).test(
      'a failure names the command that replays it (this test [11] alone, at its seed and path)',
    ),
  ).toBe(false);
});
