/**
 * The flash figures the README quotes are in the committed results, like for like, and meet what
 * issue 11 asks of them: a whole device that lasts at least 20 years under the mixed workload, and
 * on the original's own budget (2 sectors, 1,810 live keys) a key store that lasts at least 8 times
 * as long as the original's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { defaultResultsPath, repositoryRoot } from './results.ts';

type Json = { readonly [key: string]: unknown };
const flash = (JSON.parse(readFileSync(defaultResultsPath(), 'utf8')) as Json)['flash'] as Json;

function at(path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Json | undefined)?.[key], flash);
}
const num = (path: string): number => {
  const value = at(path);
  expect(typeof value, path).toBe('number');
  return value as number;
};

describe('flash results', () => {
  test('hold every acceptance figure, for ours and the original', () => {
    for (const who of ['ours', 'original']) {
      num(`deviceLifetimeYears.mixed.${who}`);
      num(`equalBudget.sectors2.keys1810.writeAmplification.${who}`);
      num(`equalBudget.sectors2.keys1810.lifetimeYears.${who}`);
      num(`usableKeysPerSector.${who}`);
    }
    num('rotationLatencyMs.full90.ours.p999');
    num('rotationLatencyMs.full90.ours.max');
    num('compactionsPerRotation.full90.ours');
    num('mixedWorkload.commitsPerRotation');
  });

  test('report a lifetime for every sector of the device', () => {
    for (const who of ['ours', 'original']) {
      const sectors = at(`sectorLifetimeYears.mixed.${who}`) as readonly Json[];
      expect(sectors.map((s) => s['sector'])).toEqual([...Array(24).keys()]);
    }
  });

  test('meet the bounds: 20 years for the whole device, 8 times the original on its own budget', () => {
    expect(num('deviceLifetimeYears.mixed.ours')).toBeGreaterThanOrEqual(20);
    const ours = num('equalBudget.sectors2.keys1810.lifetimeYears.ours');
    expect(ours).toBeGreaterThanOrEqual(8 * num('equalBudget.sectors2.keys1810.lifetimeYears.original'));
  });

  test('measure the whole device in steady state: its key store wears as the key-store bench says', () => {
    // A fresh-eyes audit: a window on a fresh device saw ours' key store before its first compactions
    // (1,095 years against the key-store bench's 657 for the same 1,810 live keys on 7 sectors).
    const ours = (at('sectorLifetimeYears.mixed.ours') as readonly Json[]).filter((s) =>
      String(s['role']).startsWith('key store'),
    );
    const steady = num('equalBudget.sectors7.keys1810.lifetimeYears.ours');
    const worst = Math.min(...ours.map((s) => s['lifetimeYears'] as number));
    expect(Math.abs(worst - steady) / steady).toBeLessThan(0.1);
    // Tens of erases in the window, not one or two: the years are not the noise of a short window.
    for (const s of ours) expect(s['erases'] as number, `sector ${s['sector']}`).toBeGreaterThanOrEqual(10);
    expect(num('mixedWorkload.warmupDays')).toBeGreaterThan(0);
  });

  test('keep no figure that compares unequal budgets', () => {
    for (const stale of ['keysPerSector', 'capacityKeys', 'writeAmplification', 'lifetimeYears'])
      expect(flash[stale], stale).toBeUndefined();
  });
});

const readme = readFileSync(join(repositoryRoot(), 'README.md'), 'utf8');
const readmeRow = (start: string): string => readme.split('\n').find((l) => l.startsWith(start)) ?? '';

describe("the README's key-store rows on the original's budget", () => {
  const budget = 'equalBudget.sectors2.keys1810';

  test('quote both write amplifications, into erased flash and with in-place overwrites, unrounded to the year', () => {
    const wa = readmeRow("| key store on the original's budget");
    for (const who of ['ours', 'original']) {
      expect(wa, who).toContain(num(`${budget}.writeAmplification.${who}`).toFixed(2));
      expect(wa, who).toContain(num(`${budget}.writeAmplificationWithOverwrites.${who}`).toFixed(2));
    }
    expect(wa).toContain('only bytes written into erased flash');
    const life = readmeRow('| same budget: key-store lifetime');
    for (const who of ['ours', 'original'])
      expect(life, who).toContain(`${num(`${budget}.lifetimeYears.${who}`)} years`);
  });
});

describe("the README's whole-device row", () => {
  const row = readmeRow('| whole admin HSM, first sector to wear out');
  const written = (who: string): number =>
    (at(`sectorLifetimeYears.mixed.${who}`) as readonly Json[]).filter((s) => (s['erases'] as number) > 0).length;

  test('says how many sectors each design wears', () => {
    expect(row).toContain(`ours writes ${written('ours')} sectors`);
    expect(row).toContain(`the original ${written('original')},`);
  });

  test('quotes the lifetimes of the committed results, the CLI rate first', () => {
    const years = (path: string): string => `${num(path).toFixed(1)} years`;
    const ours = row.indexOf(years('deviceLifetimeYears.mixed.ours'));
    expect(ours, 'admin, CLI').toBeGreaterThan(0);
    expect(row.indexOf(years('deviceLifetimeYears.mixedLibrarySession.ours')), 'library session').toBeGreaterThan(ours);
    expect(row, 'member').toContain(years('deviceLifetimeYears.mixedMember.ours'));
  });

  test('counts as many logins a rotation as the results', () => {
    expect(row).toContain(`${num('mixedWorkload.loginsPerRotation.admin')} logins each`);
    expect(at('mixedWorkload.loginsPerDay'), 'the rate an earlier version assumed').toBeUndefined();
  });
});
