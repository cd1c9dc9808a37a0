import { describe, expect, test } from 'vitest';
import { Args, UsageError } from './args.ts';

describe('Args (node:util parseArgs)', () => {
  test('options as --x y and --x=y, flags, positionals in order, -- ends the options', () => {
    const args = new Args(['G1', '--cryptoperiod=30d', 'team', '--share-history', '--max-keys', '4', '--', '-h']);
    expect(args.option('--cryptoperiod')).toBe('30d');
    expect(args.option('--max-keys')).toBe('4');
    expect(args.flag('--share-history')).toBe(true);
    expect(args.flag('--absent')).toBe(false);
    expect(args.option('--missing')).toBeUndefined();
    expect(args.rest()).toEqual(['G1', 'team', '-h']);
    args.done();
  });

  test('a value starting with a dash needs --x=-y; after -- a name may start with a dash', () => {
    expect(new Args(['--pin=-secret']).option('--pin')).toBe('-secret');
    // Said when the option is read, as the strict parse says it at the end: alike for every option,
    // whether or not the value that follows looks like an option the command has.
    expect(() => new Args(['--pin', '-secret']).option('--pin')).toThrow(
      /--pin needs a value \(one starting with '-': --pin=-…\)/,
    );
    expect(() => new Args(['--users', '--out', 'x']).option('--users')).toThrow(/--users needs a value/);
    // Empty, inline or separate: an unset variable, refused rather than read as the working directory.
    expect(() => new Args(['--out=']).option('--out')).toThrow("--out needs a value, got ''");
    expect(() => new Args(['--out', '']).option('--out')).toThrow("--out needs a value, got ''");
    // A lone '-' is a value (a file named -), as for the strict parse.
    expect(new Args(['--out', '-']).option('--out')).toBe('-');
    const named = new Args(['U5', '--', '--help']);
    expect([named.positional('ID'), named.positional('name')]).toEqual(['U5', '--help']);
  });

  test('usage errors: unknown option with a suggestion, twice, missing value, value on a flag, leftovers', () => {
    const typo = new Args(['--cryptoperod', '30d']);
    typo.option('--cryptoperiod');
    expect(() => typo.done()).toThrow("unknown option '--cryptoperod' (did you mean '--cryptoperiod'?)");
    // The options of every command are taken out before (commandLine.ts): a mistyped one is left here.
    const installation = { installation: true };
    expect(() => new Args(['--jsn'], installation).done()).toThrow("unknown option '--jsn' (did you mean '--json'?)");
    const home = new Args(['--hom', '/tmp'], installation);
    home.option('--to');
    expect(() => home.done()).toThrow("unknown option '--hom' (did you mean '--home'?)");
    // A command on no installation (simulate, factory, spec) suggests no option of one, which it refuses.
    expect(() => new Args(['--hom', '/tmp']).done()).toThrow(/^unknown option '--hom'$/);
    expect(() => new Args(['--jsn']).done()).toThrow("unknown option '--jsn' (did you mean '--json'?)");
    // A dash-led word that is no option name is likelier a value: that one is told where values go.
    expect(() => new Args(['--frob']).done()).toThrow(/^unknown option '--frob'$/);
    expect(() => new Args(['-notes']).done()).toThrow(
      "unknown option '-n' (a value starting with '-' goes after '--')",
    );
    expect(() => new Args(['--out', 'a', '--out=b']).option('--out')).toThrow('--out given twice');
    const noValue = new Args(['--out']);
    expect(() => {
      noValue.option('--out');
      noValue.done();
    }).toThrow('--out needs a value');
    expect(() => new Args(['--check=yes']).flag('--check')).toThrow('--check takes no value');
    const extra = new Args(['a', 'b']);
    expect(extra.positional('first')).toBe('a');
    expect(() => extra.done()).toThrow("unexpected argument 'b'");
    expect(() => new Args([]).positional('user ID')).toThrow(new UsageError('missing user ID'));
    expect(() => new Args([]).rest('recipient')).toThrow('missing recipient');
    const late = new Args(['x']);
    late.positional('x');
    expect(() => late.option('--x')).toThrow('asked for after the positionals');
  });
});
