/** The merge of suite entries into the properties report: nothing lost, no torn file, no lock left. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { mergeSuiteReport } from './stats.testkit.ts';

const scratchDirs: string[] = [];
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/** A scratch folder, removed after the tests. */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-report-'));
  scratchDirs.push(dir);
  return dir;
}

function report(path: string): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
}

describe('mergeSuiteReport', () => {
  test("keeps other suites' entries, replaces its own, and leaves neither lock nor temporary file", () => {
    const dir = scratch();
    const path = join(dir, 'reports', 'properties.json');
    mergeSuiteReport('kms', { runs: 1 }, path);
    mergeSuiteReport('deployment', { runs: 2 }, path);
    mergeSuiteReport('kms', { runs: 3 }, path);
    expect(report(path)['kms']?.['runs']).toBe(3);
    expect(report(path)['deployment']?.['runs']).toBe(2);
    expect(readdirSync(join(dir, 'reports'))).toEqual(['properties.json']);
  });

  test('a held lock is waited for, not taken over', () => {
    const dir = scratch();
    const path = join(dir, 'properties.json');
    const released = join(dir, 'released');
    writeFileSync(`${path}.lock`, '');
    // Another process holds the lock for a while, notes when it lets go, and lets go.
    const holder = spawn(process.execPath, [
      '-e',
      `setTimeout(() => { const fs = require('node:fs'); fs.writeFileSync(${JSON.stringify(released)}, ` +
        `new Date().toISOString()); fs.rmSync(${JSON.stringify(`${path}.lock`)}); }, 300)`,
    ]);
    mergeSuiteReport('kms', { runs: 1 }, path);
    holder.kill();
    const writtenAt = String(report(path)['kms']?.['writtenAt']);
    expect(writtenAt >= readFileSync(released, 'utf8')).toBe(true);
  });

  test('a lock left by a writer that died is taken over once stale', () => {
    const dir = scratch();
    const path = join(dir, 'properties.json');
    writeFileSync(`${path}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    mergeSuiteReport('kms', { runs: 1 }, path);
    expect(report(path)['kms']?.['runs']).toBe(1);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  test('a report that is not JSON is started again rather than failing the suite', () => {
    const dir = scratch();
    const path = join(dir, 'properties.json');
    writeFileSync(path, '{"kms": {');
    mergeSuiteReport('deployment', { runs: 2 }, path);
    expect(Object.keys(report(path))).toEqual(['deployment']);
  });
});
