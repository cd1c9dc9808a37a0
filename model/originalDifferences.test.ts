import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ORIGINAL_DIFFERENCES } from './originalDifferences.ts';
import { headingAnchors, renderSpec } from './specDocument.ts';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('differences from the original', () => {
  test('every B and W item of the original is listed once, in order', () => {
    const ids = [
      ...Array.from({ length: 12 }, (_, i) => `B${i + 1}`),
      ...Array.from({ length: 12 }, (_, i) => `W${i + 1}`),
    ];
    expect(ORIGINAL_DIFFERENCES.map((d) => d.id)).toEqual(ids);
  });

  test('every pinning test exists under the name given', () => {
    for (const d of ORIGINAL_DIFFERENCES) {
      for (const t of d.tests) {
        expect(existsSync(new URL(t.file, root)), `${d.id}: ${t.file}`).toBe(true);
        expect(t.file, `${d.id}: ${t.file} is not a test file`).toMatch(/\.test\.ts$/);
        // Test names may be split over lines with `' +`: compare with those joins removed.
        const text = read(t.file).replace(/' \+\s+'/g, '');
        expect(text.includes(t.name), `${d.id}: no test named "${t.name}" in ${t.file}`).toBe(true);
      }
    }
  });

  test('only an item SEkey-TS leaves unchanged has no test', () => {
    for (const d of ORIGINAL_DIFFERENCES) expect(d.tests.length === 0, d.id).toBe(d.unchanged === true);
  });

  test('every rule link leads to a heading of the specification or to a file', () => {
    const anchors = new Set(headingAnchors(renderSpec()).map((h) => h.anchor));
    for (const d of ORIGINAL_DIFFERENCES) {
      const { link } = d.rule;
      if (link.startsWith('#')) expect(anchors.has(link.slice(1)), `${d.id}: ${link}`).toBe(true);
      else expect(existsSync(new URL(link, root)), `${d.id}: ${link}`).toBe(true);
    }
  });
});
