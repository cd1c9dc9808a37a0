import { describe, expect, test } from 'vitest';
import { durationValue, idList, pinValue, timeValue } from './argValues.ts';
import { UsageError } from './args.ts';

describe('idList', () => {
  test('IDs separated by commas, in one argument or several', () => {
    expect(idList(['U2,U3'])).toEqual(['U2', 'U3']);
    expect(idList(['U2', 'U3,U4'])).toEqual(['U2', 'U3', 'U4']);
    expect(idList(['U2,,U3,'])).toEqual(['U2', 'U3']);
    expect(idList(['U3,U2', 'U3'])).toEqual(['U3', 'U2']);
  });

  test('an empty list is a usage error, not a message for the sender alone', () => {
    for (const values of [[''], [','], ['', ',']]) {
      expect(() => idList(values)).toThrow(UsageError);
      expect(() => idList(values)).toThrow(/no user ID/);
    }
  });

  test('what is not a user ID is said as such; a group ID points at find-key --group', () => {
    // Looked up as users, they read "U1 shares no group with G2".
    expect(() => idList(['U2,G2'])).toThrow(
      "'G2' is not a user ID (U followed by a number from 1, no leading zero): G2 is a group, recipients",
    );
    expect(() => idList(['foo'])).toThrow(
      /^'foo' is not a user ID \(U followed by a number from 1, no leading zero\)$/,
    );
    expect(() => idList(['U0'])).toThrow("'U0' is not a user ID (U followed by a number from 1, no leading zero)");
    expect(() => idList(['u2'])).toThrow(UsageError);
  });
});

describe('pinValue', () => {
  test('4 to 64 bytes of UTF-8, counted in bytes; a refusal names the source, not the length', () => {
    expect(pinValue('abcd', '--pin')).toBe('abcd');
    expect(pinValue('é'.repeat(32), '--pin')).toBe('é'.repeat(32)); // 64 bytes
    for (const pin of ['', 'abc', 'é'.repeat(33), 'a'.repeat(65)]) {
      expect(() => pinValue(pin, '$SEKEY_USER_PIN')).toThrow(UsageError);
      expect(() => pinValue(pin, '$SEKEY_USER_PIN')).toThrow(
        /^\$SEKEY_USER_PIN: a PIN must be 4 to 64 bytes long \(UTF-8\)$/,
      );
    }
  });
});

describe('durationValue', () => {
  test('a duration with its unit; a bare number is refused with the units it could mean', () => {
    expect(durationValue('30d', '--cryptoperiod')).toBe(30 * 86_400_000);
    expect(() => durationValue('30', '--cryptoperiod')).toThrow(UsageError);
    expect(() => durationValue('30', '--cryptoperiod')).toThrow(
      '--cryptoperiod must be a positive duration like 30d, 12h, 15m, 90s or 500ms, of at most 100 years (36525d), ' +
        "got '30' " +
        '(a unit is needed: 30d for days, 30ms for milliseconds)',
    );
    expect(() => durationValue('3w', '--cryptoperiod')).toThrow(/got '3w'$/);
    expect(() => durationValue('0d', '--cryptoperiod')).toThrow(/must be a positive duration .* got '0d'$/);
  });
});

describe('timeValue', () => {
  test('a relative time out of range is refused as a duration, not as a date', () => {
    expect(timeValue('+7d')).toEqual({ kind: 'relative', ms: 7 * 86_400_000 });
    for (const text of ['+0d', '+200000d', '+7'])
      expect(() => timeValue(text)).toThrow(
        `--at +DURATION must be a positive duration like +7d, +12h, +15m or +90s, of at most 100 years (+36525d), ` +
          `got '${text}'`,
      );
    // '+7' lacks a unit, which "positive" does not say: the units are named, as for a duration option.
    expect(() => timeValue('+7')).toThrow(/got '\+7' \(a unit is needed: \+7d for days, \+7ms for milliseconds\)$/);
    expect(() => timeValue('+0d')).toThrow(/got '\+0d'$/);
    expect(() => timeValue('yesterday')).toThrow(/^--at must be a real ISO 8601 date/);
  });
});
