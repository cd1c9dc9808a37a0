/**
 * The mutation score of one StrykerJS JSON report (the mutation-testing-elements report schema,
 * https://github.com/stryker-mutator/mutation-testing-elements/tree/master/packages/report-schema):
 * killed and timed-out mutants over every valid mutant that was tested or had no test reaching it,
 * as Stryker's own `mutationScore` ("Detected / Valid",
 * https://stryker-mutator.io/docs/mutation-testing-elements/mutant-states-and-metrics/).
 * Compile and runtime errors are not valid mutants; ignored ones (here: static mutants, see
 * stryker.config.mjs) are counted apart, never in the score.
 * @module
 */

/** Every status a mutant can have in the report schema. */
export const MUTANT_STATUSES = [
  'Killed',
  'Survived',
  'NoCoverage',
  'Timeout',
  'CompileError',
  'RuntimeError',
  'Ignored',
  'Pending',
] as const;
export type MutantStatus = (typeof MUTANT_STATUSES)[number];

/** The part of a report mutant this module reads. */
export interface ReportMutant {
  readonly id: string;
  readonly mutatorName: string;
  readonly status: MutantStatus;
  readonly location: { readonly start: { readonly line: number; readonly column: number } };
  readonly replacement?: string;
  readonly static?: boolean;
}

/** The part of a StrykerJS JSON report this module reads. */
export interface MutationReport {
  readonly files: Readonly<Record<string, { readonly mutants: readonly ReportMutant[] }>>;
}

/** A scope's score and the counts it comes from. */
export interface MutationScore {
  /** Killed and timed out over killed, timed out, survived and not covered, in percent (two decimals). */
  readonly percent: number;
  readonly killed: number;
  readonly survived: number;
  readonly noCoverage: number;
  readonly timeout: number;
  readonly compileError: number;
  readonly runtimeError: number;
  /** Left out of the score: static mutants under `ignoreStatic`. */
  readonly ignored: number;
  /** Every mutant of the report, whatever its status. */
  readonly mutants: number;
  readonly files: number;
}

/** A mutant that no test detected: survived or not covered. */
export interface Survivor {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly mutator: string;
  readonly replacement: string;
  readonly status: 'Survived' | 'NoCoverage';
}

function isStatus(value: unknown): value is MutantStatus {
  return typeof value === 'string' && (MUTANT_STATUSES as readonly string[]).includes(value);
}

/**
 * Checks that `value` is a report this module can read.
 * @throws TypeError when it is not: a score must not be computed from a file that is not a report.
 */
export function asMutationReport(value: unknown): MutationReport {
  const files = (value as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null) throw new TypeError('not a mutation report: no files');
  for (const [name, file] of Object.entries(files)) {
    const mutants = (file as { mutants?: unknown }).mutants;
    if (!Array.isArray(mutants)) throw new TypeError(`not a mutation report: ${name} has no mutants`);
    for (const m of mutants) {
      if (!isStatus((m as { status?: unknown }).status)) throw new TypeError(`${name}: mutant with an unknown status`);
    }
  }
  return value as MutationReport;
}

/**
 * The score of `report`.
 * @throws RangeError when it has no valid mutant: a score of nothing is not a figure.
 */
export function mutationScore(report: MutationReport): MutationScore {
  const count = Object.fromEntries(MUTANT_STATUSES.map((s) => [s, 0])) as Record<MutantStatus, number>;
  const files = Object.values(report.files);
  for (const file of files) for (const m of file.mutants) count[m.status] += 1;
  if (count.Pending > 0) throw new RangeError(`${count.Pending} mutants were never run: the report is incomplete`);
  const detected = count.Killed + count.Timeout;
  const valid = detected + count.Survived + count.NoCoverage;
  if (valid === 0) throw new RangeError('no valid mutant in the report');
  return {
    percent: Math.round((detected / valid) * 10_000) / 100,
    killed: count.Killed,
    survived: count.Survived,
    noCoverage: count.NoCoverage,
    timeout: count.Timeout,
    compileError: count.CompileError,
    runtimeError: count.RuntimeError,
    ignored: count.Ignored,
    mutants: files.reduce((n, f) => n + f.mutants.length, 0),
    files: files.length,
  };
}

/** The mutants no test detected, by file and position. */
export function survivors(report: MutationReport): Survivor[] {
  const out: Survivor[] = [];
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const m of mutants) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
      const { line, column } = m.location.start;
      out.push({ file, line, column, mutator: m.mutatorName, replacement: m.replacement ?? '', status: m.status });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
