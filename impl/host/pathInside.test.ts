import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { pathInside } from './pathInside.ts';

const base = mkdtempSync(join(tmpdir(), 'sekey-inside-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('pathInside', () => {
  test('by whole components: the folder itself and what lies in it, not a sibling that starts alike', () => {
    const home = join(base, 'home');
    mkdirSync(join(home, '..factory'), { recursive: true });
    expect(pathInside(home, home)).toBe(true);
    expect(pathInside(join(home, 'a', 'b'), home)).toBe(true);
    expect(pathInside(join(home, '..factory'), home)).toBe(true);
    expect(pathInside(join(base, 'home-factory'), home)).toBe(false);
    expect(pathInside(base, home)).toBe(false);
  });

  test('through links, also those to a folder not made yet (init makes it), and a cycle of links ends', () => {
    const future = join(base, 'future-home');
    symlinkSync(future, join(base, 'to-future'), 'dir');
    symlinkSync(join(future, 'admin'), join(base, 'to-future-admin'), 'dir');
    expect(pathInside(join(base, 'to-future'), future)).toBe(true);
    expect(pathInside(join(base, 'to-future', 'share'), future)).toBe(true);
    expect(pathInside(join(base, 'to-future-admin', 'x'), join(future, 'admin'))).toBe(true);
    // A relative target is read from where the link really lies, reached here through another link.
    mkdirSync(join(base, 'deep', 'sub'), { recursive: true });
    symlinkSync(join(base, 'deep', 'sub'), join(base, 'to-sub'), 'dir');
    symlinkSync(join('..', '..', 'future-home'), join(base, 'deep', 'sub', 'up'), 'dir');
    expect(pathInside(join(base, 'to-sub', 'up'), future)).toBe(true);
    expect(pathInside(join(base, 'to-sub', 'up'), join(base, 'deep'))).toBe(false);
    symlinkSync(join(base, 'loop-b'), join(base, 'loop-a'));
    symlinkSync(join(base, 'loop-a'), join(base, 'loop-b'));
    expect(pathInside(join(base, 'loop-a'), future)).toBe(false);
  });
});
