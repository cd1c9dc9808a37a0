import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXAMPLES_WORLD, SETUP_EXAMPLES } from './commandExamples.ts';
import { ADMIN_COMMANDS, adminCommandHelp } from './runAdmin.ts';
import { userCommandHelp } from './runUser.ts';
import { USER_COMMANDS } from './userCommands.ts';
import { demoInstallation, removeTempDirs, sekey, tempDir } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

/** Every command that shows examples on the demo's installation: `sekey admin NAME` or `sekey user U NAME`. */
const COMMANDS = [
  ...ADMIN_COMMANDS.map((c) => ({ role: 'admin', name: c.name, examples: c.examples, help: adminCommandHelp(c.name) })),
  ...USER_COMMANDS.map((c) => ({ role: 'user', name: c.name, examples: c.examples, help: userCommandHelp(c.name) })),
];

/** Whether `line` is the command `role name` itself (a user command names its user first). */
function isCommand(line: string, role: string, name: string): boolean {
  const words = line.split(' ');
  return words[1] === role && words[role === 'user' ? 3 : 2] === name;
}

/** Runs each line in order in `world`; the first that does not exit 0 fails with what it printed. */
async function runInOrder(lines: readonly string[], env: Record<string, string>, cwd: string): Promise<Run[]> {
  const runs: Run[] = [];
  for (const line of lines) {
    const run = await sekey(line.split(' ').slice(1), { env, cwd });
    expect(run.code, `${line}\n${run.out}\n${run.err}`).toBe(0);
    runs.push(run);
  }
  return runs;
}

afterAll(removeTempDirs);

describe("the examples in every command's help", () => {
  test('every admin and user command has some, and shows itself at work last; plain words, 100 columns', () => {
    for (const { role, name, examples, help } of COMMANDS) {
      expect(examples.length, `${role} ${name}`).toBeGreaterThan(0);
      // Pasted as they are: split at spaces, no quoting to get wrong.
      for (const line of examples)
        expect(line, `${role} ${name}`).toMatch(/^sekey (admin|user U\d+) [\w./+,-]+( [\w./+,-]+)*$/);
      expect(isCommand(examples.at(-1) as string, role, name), `${role} ${name}: ${examples.at(-1)}`).toBe(true);
      expect(help).toContain([EXAMPLES_WORLD, ...examples.map((line) => `  ${line}`)].join('\n'));
      for (const line of [EXAMPLES_WORLD, ...examples]) expect(line.length + 2, line).toBeLessThanOrEqual(100);
    }
  });

  describe('run, each command on a fresh copy of the installation `sekey demo --keep` leaves', () => {
    let demo: Awaited<ReturnType<typeof demoInstallation>>;

    beforeAll(async () => {
      demo = await demoInstallation();
    });

    test.each(COMMANDS.map((c) => [`${c.role} ${c.name}`, c] as const))('%s', async (_, { examples }) => {
      // The demo's own installation stays as it was: each command's examples run on a copy.
      const home = join(tempDir(), 'home');
      cpSync(demo.home, home, { recursive: true });
      expect(demo.env).toMatchObject({ SEKEY_HOME: demo.home, SEKEY_ADMIN_PIN: 'demo-admin-pin' });
      expect(demo.desk).toBe(join(demo.home, 'desk'));
      const runs = await runInOrder(examples, { ...demo.env, SEKEY_HOME: home }, join(home, 'desk'));
      // It did something to show: every example prints (a listing, a change, a publication).
      expect((runs.at(-1) as Run).out).not.toBe('');
    });
  });

  test('the setup examples (factory init, admin init) make an installation in an empty folder', async () => {
    const root = tempDir();
    const cwd = join(root, 'desk');
    mkdirSync(cwd);
    await runInOrder(SETUP_EXAMPLES, {}, cwd);
    const users = await sekey(['admin', 'users', '--home', join(cwd, 'office'), '--pin', '2468-admin'], { cwd });
    expect(users.code, users.err).toBe(0);
  });
});
