import { describe, expect, test } from 'vitest';
import { displayWidth } from './displayWidth.ts';
import { parseDuration } from './durations.ts';
import { HELP_WIDTH, fitHelp } from './helpText.ts';
import { sekey } from './sekeyRun.testkit.ts';

describe('help fitted to its width', () => {
  test('lines that fit are left exactly as written, spacing included', () => {
    const text = ['usage: sekey x', '', '  --a N     one', '    indented   prose  kept', ''].join('\n');
    expect(fitHelp(text, 40)).toBe(text);
  });

  test('an option or command line continues under its description', () => {
    expect(fitHelp('  --wait SECONDS  wait this long for another process (default: refuse)', 40)).toBe(
      [
        '  --wait SECONDS  wait this long for',
        '                  another process',
        '                  (default: refuse)',
      ].join('\n'),
    );
  });

  test('a usage line continues under its first argument, and an optional part is never split', () => {
    expect(fitHelp('usage: sekey admin init --admin-pin PIN [--clock system|manual] [--share DIR]', 50)).toBe(
      [
        'usage: sekey admin init --admin-pin PIN',
        '                        [--clock system|manual]',
        '                        [--share DIR]',
      ].join('\n'),
    );
  });

  test('prose continues at its own indent; a code span stays whole', () => {
    expect(fitHelp('  run `sekey admin publish --pin PIN` from cron', 30)).toBe(
      ['  run', '  `sekey admin publish --pin PIN`', '  from cron'].join('\n'),
    );
  });

  test('wide characters count two columns; a usage line without arguments; spaces are not kept at a break', () => {
    // The description starts at column 12 (four CJK characters take eight): its continuation too.
    expect(fitHelp('  名前名前  説明 説明 説明 説明', 22).split('\n')).toEqual([
      '  名前名前  説明 説明',
      '            説明 説明',
    ]);
    expect(fitHelp('usage: sekey some-very-long-command-name another-long-word', 40)).toBe(
      'usage: sekey some-very-long-command-name\n       another-long-word',
    );
    expect(fitHelp('  --opt  aaaa bbbb  cccc dddd     ', 20).split('\n')).toEqual([
      '  --opt  aaaa bbbb',
      '         cccc dddd',
    ]);
  });

  test(`every help sekey prints keeps to ${HELP_WIDTH} columns, no word stranded on a line`, async () => {
    const top = await sekey(['--help']);
    const commands = [...top.out.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1] as string);
    expect(commands).toEqual(expect.arrayContaining(['admin', 'user', 'simulate', 'factory', 'demo']));
    const admin = await sekey(['admin', '--help']);
    const user = await sekey(['user', '--help']);
    const sub = (out: string) =>
      [...out.slice(out.indexOf('commands')).matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1] as string);
    const helps = [
      top,
      admin,
      user,
      ...(await Promise.all(commands.map((c) => sekey([c, '--help'])))),
      ...(await Promise.all(sub(admin.out).map((c) => sekey(['admin', c, '--help'])))),
      ...(await Promise.all(sub(user.out).map((c) => sekey(['user', 'U1', c, '--help'])))),
    ];
    expect(helps.length).toBeGreaterThan(50);
    for (const help of helps) {
      expect(help.code, help.out.split('\n')[0] + help.err).toBe(0);
      const long = help.out.split('\n').filter((line) => displayWidth(line) > HELP_WIDTH);
      expect(long, help.out.split('\n')[0]).toEqual([]);
      // A hand-broken line that grew past the width is broken again by the printer, which leaves its
      // last word alone on a line of its own, the paragraph going on below (demo's "PINs", admin init's
      // "HOME/share."): written as one line instead, the printer fills each line.
      const lines = help.out.split('\n');
      const stranded = lines.filter((line, i) => {
        const indent = /^( +)\S+$/.exec(line)?.[1];
        const next = lines[i + 1];
        return (
          indent !== undefined && next !== undefined && /^\S/.test(next.slice(indent.length)) && next.startsWith(indent)
        );
      });
      expect(stranded, help.out.split('\n')[0]).toEqual([]);
    }
  });
});

// add-group's help gave "30d, 12h, 15m, 90s, ms" as examples of a DURATION: a bare "ms" is refused.
test('the durations a help gives as examples are durations sekey takes', async () => {
  for (const command of ['add-group', 'add-key']) {
    const help = (await sekey(['admin', command, '--help'])).out;
    const line = help.split('\n').find((l) => l.startsWith('  --cryptoperiod DURATION')) as string;
    const examples = line.slice(line.lastIndexOf(': ') + 2).split(', ');
    expect(examples.length, line).toBeGreaterThan(2);
    for (const example of examples) expect(parseDuration(example), `${command}: ${example}`).not.toBeNull();
  }
});
