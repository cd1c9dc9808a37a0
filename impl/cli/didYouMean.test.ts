import { describe, expect, test } from 'vitest';
import { didYouMean, editDistance } from './didYouMean.ts';

describe('did you mean', () => {
  test('edit distance counts inserts, deletes, substitutions and swaps of neighbours', () => {
    expect(editDistance('add-key', 'add-key')).toBe(0);
    expect(editDistance('add-kye', 'add-key')).toBe(1);
    expect(editDistance('ad-key', 'add-key')).toBe(1);
    expect(editDistance('add-kex', 'add-key')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  test('suggests the closest known word only when it is close', () => {
    expect(didYouMean('add-usr', ['add-user', 'add-key', 'users'])).toBe(" (did you mean 'add-user'?)");
    expect(didYouMean('--jsno', ['--json', '--home'])).toBe(" (did you mean '--json'?)");
    expect(didYouMean('frobnicate', ['admin', 'user', 'demo'])).toBe('');
    expect(didYouMean('x', [])).toBe('');
  });
});
