import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { SecretTap } from './secretTap.ts';

describe('SecretTap', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
  const tap = new SecretTap();
  tap.add('K2000', key);

  test('finds a key raw, as hex, and as base64 or base64url text, also inside other text', () => {
    // Windows of 8 start every 4 bytes of a key: key[8..16] here, at offset 2 + 3.
    expect(tap.findInBytes(Uint8Array.of(9, 9, ...key.subarray(5, 20)))).toBe('K2000 (raw bytes at offset 5)');
    expect(tap.findInText(`id=${Buffer.from(key).toString('hex').toUpperCase()}`)).toBe('K2000 (as hex text)');
    for (const encoding of ['base64', 'base64url'] as const) {
      const text = Buffer.from(key.subarray(3)).toString(encoding);
      // Glued to characters of the same alphabet: the run starts before the encoding does.
      for (const prefix of ['', 'a', 'ab', 'abc', 'note: ']) {
        expect(tap.findInText(`${prefix}${text}`), `${encoding} after '${prefix}'`).toBe('K2000 (as base64 text)');
        expect(tap.findInBytes(Buffer.from(`${prefix}${text}`, 'latin1'))).toBe('K2000 (as base64 text)');
      }
    }
  });

  test('finds a key as latin1 text, and every window of many keys, whatever their first bytes', () => {
    expect(tap.findInText(`x${Buffer.from(key.subarray(12, 24)).toString('latin1')}`)).toBe(
      'K2000 (as latin1 text at 1)',
    );
    // Keys whose windows start with every pair of first bytes the scan's prefilter distinguishes.
    const many = new SecretTap();
    const keys = Array.from({ length: 64 }, (_, n) => new Uint8Array(createHash('sha256').update(`key ${n}`).digest()));
    keys.forEach((k, n) => many.add(`K${n}`, k));
    keys.forEach((k, n) => {
      for (let start = 0; start + 8 <= 32; start += 4) {
        const window = k.subarray(start, start + 8);
        expect(many.findInBytes(Uint8Array.of(1, ...window, 2)), `K${n} at ${start}`).toBe(
          `K${n} (raw bytes at offset 1)`,
        );
        expect(many.findInText(` ${Buffer.from(window).toString('latin1')}`), `K${n} at ${start}`).toBe(
          `K${n} (as latin1 text at 1)`,
        );
      }
    });
  });

  test('finds nothing in text or bytes that hold fewer than 8 bytes of a key', () => {
    expect(tap.findInText(Buffer.from(key.subarray(0, 7)).toString('base64'))).toBeNull();
    expect(tap.findInText(Buffer.from(key.subarray(0, 7)).toString('hex'))).toBeNull();
    expect(tap.findInBytes(key.subarray(0, 7))).toBeNull();
    expect(tap.findInText('an ordinary line of output, K2000 of G1')).toBeNull();
  });
});

describe('SecretTap.findInImageChanges', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 0xff);
  const tap = new SecretTap();
  tap.add('K2001', key);

  test('scans every page the first time, then only changed pages, across page boundaries too', () => {
    const clean = new Uint8Array(3 * 4096).fill(0x20);
    expect(tap.findInImageChanges(clean, undefined)).toBeNull();
    // A key across the boundary of pages 2 and 3: found in the changed page, with its neighbours.
    const leaked = clean.slice();
    leaked.set(key, 2 * 4096 - 10);
    expect(tap.findInImageChanges(leaked, clean)).toMatch(/^K2001 \(raw bytes at offset \d+\) in page [23]$/);
    expect(tap.findInImageChanges(leaked, undefined)).toMatch(/in page 2$/);
    // Unchanged pages are not scanned again: the leak is said once, where it appeared.
    expect(tap.findInImageChanges(leaked, leaked.slice())).toBeNull();
    // A longer image: the new page is scanned.
    const grown = new Uint8Array(4 * 4096).fill(0x20);
    grown.set(key, 3 * 4096 + 100);
    expect(tap.findInImageChanges(grown, clean)).toMatch(/in page 4$/);
  });
});
