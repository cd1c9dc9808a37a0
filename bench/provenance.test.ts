import { describe, expect, test } from 'vitest';
import { provenance, spread } from './provenance.ts';
import { repositoryRoot } from './results.ts';

describe('bench provenance', () => {
  test('names the commit, the machine and the run', () => {
    const p = provenance(repositoryRoot(), true);
    expect(p.commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(p.cores).toBeGreaterThan(0);
    expect(Date.parse(p.date)).not.toBeNaN();
    expect(p.quick).toBe(true);
  });

  test('outside a git checkout the commit is unknown and the figure belongs to no commit', () => {
    const p = provenance('/', false);
    expect(p.commit).toBe('unknown');
    expect(p.dirty).toBe(true);
  });

  test('spread: min, median, max and the number of repetitions', () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3, repetitions: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ min: 1, median: 2.5, max: 4, repetitions: 4 });
    expect(() => spread([])).toThrow(RangeError);
  });
});
