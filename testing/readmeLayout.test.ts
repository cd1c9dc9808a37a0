/**
 * The README's picture of the tree must match the tree: every folder it names exists, and every
 * folder that holds source files is named, so the picture cannot silently go stale after a move.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** Folders named in the README's `What is here` picture, with their parents spelled out. */
function pictured(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## What is here'));
  const block = /```text\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const out: string[] = [];
  let parent = '';
  for (const line of block.split('\n')) {
    const m = /^( *)([a-z][\w/]*\/)\s/.exec(line);
    if (!m) continue;
    const name = (m[2] as string).slice(0, -1);
    if ((m[1] as string).length === 0) parent = name;
    out.push((m[1] as string).length === 0 ? name : `${parent}/${name}`);
  }
  return out;
}

test("the README's layout picture names exactly the folders that hold tracked files", () => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  const folders = new Set(
    tracked
      .filter((f) => f.includes('/') && !f.startsWith('.') && !f.startsWith('bench/results/') && !f.startsWith('docs/'))
      .map((f) => dirname(f)),
  );
  for (const f of [...folders]) for (let d = dirname(f); d !== '.'; d = dirname(d)) folders.add(d);
  folders.add('docs');
  const picture = pictured();
  expect(picture.length).toBeGreaterThan(8);
  // Each folder once: two descriptions of one folder would drift apart.
  expect(picture.filter((folder, i) => picture.indexOf(folder) !== i)).toEqual([]);
  expect([...folders].sort()).toEqual([...new Set(picture)].sort());
});
