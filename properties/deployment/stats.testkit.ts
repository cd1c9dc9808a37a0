/**
 * Statistics of the deployment suite: what the runs exercised — edges of every machine (from the
 * xstate tap), KMS error codes, attack kinds, fault points, commands — with runs, commands executed
 * and commands per CPU-second, written to `reports/properties.json` (one entry per suite, merged
 * with what other suites wrote). Test support only.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { keyLifecycleMachine } from '../../model/keyLifecycle.ts';
import { pinSessionMachine } from '../../model/pinSession.ts';
import { publicationMachine } from '../../model/publication.ts';
import { updateProcessingMachine } from '../../model/updateProcessing.ts';
import { declaredTransitions } from '../../model/specDocument.ts';
import { setTapSink } from './xstateTap.testkit.ts';
import type { TapEdge } from './xstateTap.testkit.ts';
import { STATISTICS_FILE_ENV } from '../runner/statistics.ts';

/** The machines whose edges are counted, by statistics category. */
export const MACHINES = {
  keyLifecycleEdges: keyLifecycleMachine,
  updateProcessingEdges: updateProcessingMachine,
  publicationEdges: publicationMachine,
  pinSessionEdges: pinSessionMachine,
} as const satisfies Record<string, AnyStateMachine>;

/** A statistics category. */
export type Category =
  | keyof typeof MACHINES
  | 'errorCodes'
  | 'attackKinds'
  | 'faultPoints'
  | 'commands'
  | 'invariantChecks'
  | 'notes';

/** An edge's name: `source -event[guard]-> target` (`(always)` for an eventless edge). */
export function edgeName(e: { source: string; event: string; target: string; guard: string | null }): string {
  return `${e.source} -${e.event === '' ? '(always)' : e.event}${e.guard ? `[${e.guard}]` : ''}-> ${e.target}`;
}

/** Every declared edge of a machine, by name. */
export function declaredEdges(machine: AnyStateMachine): string[] {
  return [...new Set(declaredTransitions(machine).map((e) => edgeName({ ...e, target: e.target || e.source })))];
}

const CATEGORY_OF_MACHINE: Record<string, keyof typeof MACHINES> = {
  keyLifecycle: 'keyLifecycleEdges',
  updateProcessing: 'updateProcessingEdges',
  publication: 'publicationEdges',
  pinSession: 'pinSessionEdges',
};

/** Counters of one suite. */
export class SuiteStats {
  runs = 0;
  commands = 0;
  cpuMicros = 0;
  readonly counts: Record<Category, Record<string, number>> = {
    keyLifecycleEdges: {},
    updateProcessingEdges: {},
    publicationEdges: {},
    pinSessionEdges: {},
    errorCodes: {},
    attackKinds: {},
    faultPoints: {},
    commands: {},
    invariantChecks: {},
    notes: {},
  };

  /** Counts one occurrence. */
  count(category: Category, name: string, n = 1): void {
    const c = this.counts[category];
    c[name] = (c[name] ?? 0) + n;
  }

  /** Counts an error by its code (or its class name). */
  error(error: unknown): string {
    const code = codeOf(error);
    this.count('errorCodes', code);
    return code;
  }

  /** Starts counting machine edges taken by the implementation and the simulator. */
  listen(): void {
    setTapSink((e: TapEdge) => {
      const category = CATEGORY_OF_MACHINE[e.machine];
      if (category) this.count(category, edgeName(e));
    });
  }

  /** Stops counting edges. */
  stopListening(): void {
    setTapSink(null);
  }

  /** Commands per CPU-second. */
  get commandsPerCpuSecond(): number {
    return this.cpuMicros > 0 ? Math.round((this.commands / (this.cpuMicros / 1e6)) * 10) / 10 : 0;
  }

  /** Declared edges never taken, per machine. */
  missingEdges(): Record<keyof typeof MACHINES, string[]> {
    const out = {} as Record<keyof typeof MACHINES, string[]>;
    for (const [category, machine] of Object.entries(MACHINES) as Array<[keyof typeof MACHINES, AnyStateMachine]>) {
      out[category] = declaredEdges(machine).filter((e) => !(e in this.counts[category]));
    }
    return out;
  }

  /** A table for people: figures, then per category what was exercised (distinct names, total). */
  table(): string {
    const lines = [
      `runs ${this.runs}, commands ${this.commands}, CPU ${(this.cpuMicros / 1e6).toFixed(1)} s, ` +
        `${this.commandsPerCpuSecond} commands per CPU-second`,
    ];
    for (const [category, counts] of Object.entries(this.counts)) {
      const names = Object.keys(counts);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const machine = MACHINES[category as keyof typeof MACHINES];
      const declared = machine ? `/${declaredEdges(machine).length} declared` : '';
      lines.push(`  ${category.padEnd(22)} ${String(names.length).padStart(3)}${declared} distinct, ${total} total`);
    }
    return lines.join('\n');
  }

  /** The JSON entry of `reports/properties.json`. */
  toJSON(): Record<string, unknown> {
    return {
      runs: this.runs,
      commands: this.commands,
      cpuSeconds: Math.round(this.cpuMicros / 1e4) / 100,
      commandsPerCpuSecond: this.commandsPerCpuSecond,
      exercised: this.counts,
      missingEdges: this.missingEdges(),
    };
  }
}

/** The stable code of an error: `code` if it has one, else its name. */
export function codeOf(error: unknown): string {
  if (error && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string')
    return (error as { code: string }).code;
  return error instanceof Error ? error.name : typeof error;
}

/** Where the statistics go. */
export const PROPERTIES_REPORT = 'reports/properties.json';

/**
 * Where this process writes the statistics: `SEKEY_STATISTICS_FILE` (a campaign's batch, or the
 * runner's replay, which drops them), else `reports/`; nowhere for a replay under plain vitest
 * (`SEKEY_PATH`): the figures of one replayed case would replace those of the last pass.
 */
export function propertiesReport(): string | null {
  const chosen = process.env[STATISTICS_FILE_ENV];
  if (chosen !== undefined && chosen !== '') return chosen;
  const replay = process.env['SEKEY_PATH'];
  return replay !== undefined && replay !== '' ? null : PROPERTIES_REPORT;
}

/** Merges `stats` under `suite` into the statistics report (`reports/properties.json`); null: nowhere. */
export function writeStats(suite: string, stats: SuiteStats, path = propertiesReport()): void {
  mergeSuiteReport(suite, stats.toJSON(), path);
}

/** A lock older than this was left by a writer that died mid-merge (a merge takes milliseconds). */
const STALE_LOCK_MS = 30_000;

/**
 * Runs `fn` holding `<path>.lock` (created exclusively, removed after): suites run in parallel
 * workers (vitest's two, or several `npm run properties` shards on one machine), and each merges into
 * the same report, so two unlocked read-modify-writes could each drop the other's entry.
 */
function withFileLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  // Whose lock it is: released (or taken over) only by its content, so that a slow holder or a second
  // waiter never removes a lock someone else took meanwhile.
  const token = `${process.pid} ${Math.random()}`;
  const holder = (): string | null => {
    try {
      return readFileSync(lock, 'utf8');
    } catch {
      return null;
    }
  };
  const giveUp = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      writeFileSync(lock, token, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let age = 0;
    const stale = holder();
    try {
      age = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // released between our open and stat: try again at once
    }
    if (age > STALE_LOCK_MS) {
      if (holder() === stale) rmSync(lock, { force: true });
    } else if (Date.now() > giveUp) throw new Error(`${lock} is held for too long: remove it if no suite is running`);
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // a short synchronous wait
  }
  try {
    return fn();
  } finally {
    if (holder() === token) rmSync(lock, { force: true });
  }
}

/**
 * Merges one suite's `entry` (with the time it was written) into `reports/properties.json`, keeping
 * what other suites wrote there. Safe when suites finish at once in parallel workers: the merge holds
 * a lock file, and the new report replaces the old by rename, so no reader ever sees half a file.
 */
export function mergeSuiteReport(
  suite: string,
  entry: Record<string, unknown>,
  path: string | null = propertiesReport(),
): void {
  if (path === null) return;
  mkdirSync(dirname(path), { recursive: true });
  withFileLock(path, () => {
    let all: Record<string, unknown> = {};
    if (existsSync(path)) {
      try {
        all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      } catch {
        all = {}; // not JSON (written by hand, or by a version that wrote in place): start again
      }
    }
    all[suite] = { ...entry, writtenAt: new Date().toISOString() };
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
    renameSync(tmp, path);
  });
}
