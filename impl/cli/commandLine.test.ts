import { describe, expect, test } from 'vitest';
import { splitGlobals } from './commandLine.ts';

describe('global options, anywhere on the line', () => {
  test('before, between and after the command words; --x=y; the rest keeps its order', () => {
    const { flags, rest } = splitGlobals([
      '--home',
      'H',
      'admin',
      '--json',
      'add-key',
      'G1',
      '--at=+1d',
      'k',
      '--cryptoperiod',
      '30d',
      '--wait',
      '5',
      '--debug',
      '-h',
    ]);
    expect(flags).toEqual({
      home: 'H',
      at: '+1d',
      wait: '5',
      json: true,
      lastTry: false,
      debug: true,
      help: true,
      version: false,
    });
    expect(rest).toEqual(['admin', 'add-key', 'G1', 'k', '--cryptoperiod', '30d']);
  });

  test('after -- nothing is a global option', () => {
    const { flags, rest } = splitGlobals(['admin', 'add-user', 'U5', '--', '--help', '--home']);
    expect(flags.help).toBe(false);
    expect(rest).toEqual(['admin', 'add-user', 'U5', '--', '--help', '--home']);
  });

  test('refusals: twice, a flag with a value, an option without one', () => {
    expect(() => splitGlobals(['--json', 'admin', '--json'])).toThrow('--json given twice');
    expect(() => splitGlobals(['--json=1'])).toThrow('--json takes no value');
    expect(() => splitGlobals(['admin', 'users', '--home'])).toThrow('--home needs a value');
    expect(() => splitGlobals(['admin', 'users', '--home='])).toThrow("--home needs a value, got ''");
  });
});
