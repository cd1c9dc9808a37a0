import { describe, expect, test } from 'vitest';
import { displayWidth, padDisplay } from './displayWidth.ts';
import { fields, json, printable, quoted, table, terminalSafe } from './format.ts';
import { reportError } from './reportError.ts';
import type { CliIo } from './cliIo.ts';

describe('output safety', () => {
  test('control characters, separators and bidi controls in names are escaped', () => {
    expect(printable('alice')).toBe('alice');
    expect(printable('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(printable('\u001b[31mred\u001b[0m')).toBe('\\u{1b}[31mred\\u{1b}[0m');
    expect(printable('\u009b2J')).toBe('\\u{9b}2J');
    expect(printable('abc\u202egnp.exe')).toBe('abc\\u{202e}gnp.exe');
    expect(printable('x\u2028y')).toBe('x\\u{2028}y');
    expect(printable(printable('a\nb'))).toBe('a\\nb');
    expect(quoted('eve\nU1  admin')).toBe("'eve\\nU1  admin'");
    expect(fields([['user', 'U1 \u001b]0;pwned\u0007']])).toEqual(['user: U1 \\u{1b}]0;pwned\\u{7}']);
    expect(terminalSafe('line one\nline two\t\u001b[2J')).toBe('line one\nline two\t\\u{1b}[2J');
  });

  test('--json output with DEL and C1 controls in a value is valid JSON and terminal-safe', () => {
    // JSON.stringify leaves U+007F-U+009F raw; the terminal guard then wrote them as \u{…}, not JSON.
    const value = { name: 'a\u007fb\u0080c\u009b2J', key: new Uint8Array([1, 255]) };
    const text = json(value);
    expect(text).toContain('"a\\u007fb\\u0080c\\u009b2J"');
    expect(terminalSafe(text)).toBe(text);
    expect(JSON.parse(terminalSafe(text))).toEqual({ name: value.name, key: '01ff' });
    // The error object of a refusal goes the same way.
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => undefined } as unknown as CliIo;
    const refusal = Object.assign(new Error('no user \u009b31m'), { code: 'UnknownUser' });
    expect(reportError('sekey user', refusal, io, { json: true })).toBe(1);
    const printed = terminalSafe(out.join('\n'));
    // An error of no catalogued class takes the code's remedy when one class alone has that code.
    expect(JSON.parse(printed)).toEqual({
      error: {
        code: 'UnknownUser',
        message: 'no user \u009b31m',
        exit: 1,
        remedy: expect.stringMatching(/^Check the ID/),
      },
    });
  });

  test('display width: CJK and emoji take two columns, combining marks none', () => {
    expect(displayWidth('alice')).toBe(5);
    expect(displayWidth('山田太郎')).toBe(8);
    expect(displayWidth('김민준')).toBe(6);
    expect(displayWidth('ｆｕｌｌ')).toBe(8);
    expect(displayWidth('🔑')).toBe(2);
    expect(displayWidth('👩‍💻')).toBe(2);
    expect(displayWidth('🇮🇹')).toBe(2);
    expect(displayWidth('❤️')).toBe(2);
    expect(displayWidth('José')).toBe(4);
    expect(displayWidth('Jose\u0301')).toBe(4);
    expect(displayWidth('\u0301')).toBe(0);
    expect(padDisplay('山', 4)).toBe('山  ');
    expect(padDisplay('toolong', 3)).toBe('toolong');
  });

  test('tables line up by display width, whatever the names', () => {
    const lines = table(
      ['ID', 'NAME', 'GROUPS'],
      [
        ['U1', '山田太郎', 'G1'],
        ['U2', 'bob 🔑', 'G1'],
        ['U3', 'eve\nU9', '-'],
      ],
    );
    expect(lines).toEqual(['ID  NAME      GROUPS', 'U1  山田太郎  G1', 'U2  bob 🔑    G1', 'U3  eve\\nU9   -']);
    const column = lines.map((l) => displayWidth(l.slice(0, l.lastIndexOf(' ') + 1)));
    expect(new Set(column).size).toBe(1);
  });
});
