import { describe, expect, test } from 'vitest';
import { CodedError, messageOf } from './codedError.ts';

describe('messageOf', () => {
  test("an Error's message, without its name", () => {
    expect(messageOf(new CodedError('KmsError', 'UnknownUser', 'no user U9'))).toBe('no user U9');
    expect(messageOf(new TypeError('not a function'))).toBe('not a function');
  });

  test('anything else thrown, as text', () => {
    expect(messageOf('card removed')).toBe('card removed');
    expect(messageOf(42)).toBe('42');
    expect(messageOf(undefined)).toBe('undefined');
  });
});
