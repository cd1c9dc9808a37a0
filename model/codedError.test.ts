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

describe('CodedError', () => {
  test('keeps its code, and a remedy only when one is given', () => {
    const plain = new CodedError('KmsError', 'UnknownUser', 'no user U9');
    expect([plain.name, plain.code, plain.message, plain.remedy]).toEqual([
      'KmsError',
      'UnknownUser',
      'no user U9',
      undefined,
    ]);
    // No remedy, no property: such an error equals (toStrictEqual) one made before remedies existed.
    expect(Object.hasOwn(plain, 'remedy')).toBe(false);
    const withRemedy = new CodedError('KmsError', 'UnknownUser', 'no user U9', 'Check the ID.');
    expect(withRemedy.remedy).toBe('Check the ID.');
    expect(Object.hasOwn(withRemedy, 'remedy')).toBe(true);
  });
});
