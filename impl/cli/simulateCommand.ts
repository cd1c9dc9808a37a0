/**
 * `sekey simulate`: a deployment lived over simulated days by the simulation engine
 * (`impl/simulation/runSimulation.ts`), its report written as `DIR/report.json` and
 * `DIR/report.html`. The command reads and checks its options (a wrong one is a usage error, exit
 * 2, before anything runs), shows a progress line (on a terminal; in a log, once a minute), writes
 * both files atomically, and ends with a summary (or, with `--json`, the report's summary as JSON
 * and nothing else on standard output). Exit 0 when no invariant was violated, 1 when some were
 * (the report lists them). The report is validated before it is written
 * (`validateSimulationReport`: a pass over it, nothing beside the simulation): one that fails is a
 * bug of the engine, an internal error (exit 3) naming the problems, and nothing is written, so
 * that a `report.json` on disk is always a valid one.
 *
 * Loaded only when the command runs (`sekeyCommand.ts`): it brings the whole engine with it.
 * @module
 */
import { closeSync, openSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { FilesPartlyReplacedError, writeFilesAtomic } from '../host/atomicFile.ts';
import { count, formatBytes, formatNumber, formatSeconds } from '../simulation/chartScale.ts';
import { renderReportHtml } from '../simulation/reportHtml.ts';
import { protectionsJudgedText } from '../simulation/reportVerdicts.ts';
import { DEFAULT_SIMULATION_CONFIG, runSimulation } from '../simulation/runSimulation.ts';
import { validateSimulationReport } from '../simulation/validateSimulationReport.ts';
import { workloadSummary } from '../simulation/workloadSummary.ts';
import {
  SIMULATION_PROFILES,
  type SimulationConfig,
  type SimulationProfile,
  type SimulationReport,
  type ViolationDetail,
} from '../simulation/simulationReport.ts';
import { Args, UsageError } from './args.ts';
import { CliError } from './cliError.ts';
import type { CliIo } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { didYouMean } from './didYouMean.ts';
import { fields, json, printable } from './format.ts';
import { EXIT } from './reportError.ts';
import { simulationProgressText } from './simulationProgress.ts';
import { fitHelp } from './helpText.ts';
import { makeFolders, notAFolderMessage } from '../host/makeFolders.ts';
import { messageOf } from '../../model/codedError.ts';

/** The command line. */
const SIMULATE_USAGE = [
  'sekey simulate [--users N] [--groups N] [--days N] [--seed S] [--profile P] [--out DIR]',
  // Under the first line's options: the synopsis would pass the 100 columns the help keeps to.
  '                      [--json]',
].join('\n');

/** Where the report goes without `--out`, from the working directory. */
const DEFAULT_REPORT_DIR = 'sekey-report';

/**
 * The bounds of the numeric options. At least two users: a message goes from one user to another
 * (the engine refuses fewer). Above, they catch typing mistakes, not policy: 1,000 users and
 * groups is the realistic installation (bench `db-realistic`), ten years of days several
 * cryptoperiods (NIST SP 800-57 Pt 1 Rev 5 §5.3.6 recommends at most a few years); a seed is 32 bits
 * because the engine's generator uses only its low 32 bits (`device/seededPrng.ts`), so a larger
 * one would give the same run as a smaller one.
 */
export const SIMULATION_BOUNDS = {
  users: { min: 2, max: 1000 },
  groups: { min: 1, max: 1000 },
  days: { min: 1, max: 3650 },
  seed: { min: 0, max: 0xffff_ffff },
} as const;

/** `text` in lines of at most `width` characters, broken between words. */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** The width of `--help`'s lines. */
const HELP_WIDTH = 100;

/** The `--help` text. */
function simulateHelp(): string {
  const d = DEFAULT_SIMULATION_CONFIG;
  const b = SIMULATION_BOUNDS;
  const width = Math.max(...SIMULATION_PROFILES.map((p) => p.length));
  return [
    'Lives an SEkey deployment over simulated days with the real implementation, on a manual clock: an',
    'admin HSM and one HSM per user, encrypted databases, update files through a directory share. Keys',
    'rotate at the end of their cryptoperiods, members join and leave, messages are encrypted and',
    'decrypted, devices are lost and replaced; every invariant is checked at the end of each day (a',
    'violation is recorded, and the run goes on). Writes DIR/report.json and DIR/report.html: open the',
    'page in a browser for the charts (keys by state, update traffic, flash wear, HSM time, refusals,',
    'stale users) and the invariant verdicts. The same options and seed give the same report.',
    `  --users N      users, each with an HSM (default ${d.users}; ${b.users.min} to ${b.users.max})`,
    `  --groups N     groups (default ${d.groups}; ${b.groups.min} to ${b.groups.max})`,
    `  --days N       simulated days from ${d.start.slice(0, 10)} (default ${d.days}; ${b.days.min} to ${b.days.max})`,
    `  --seed S       the seed of the workload (default ${d.seed}; ${b.seed.min} to ${b.seed.max})`,
    `  --profile P    the workload (default ${d.profile}): ${SIMULATION_PROFILES.join(', ')}`,
    `  --out DIR      where the report goes, created if needed (default ./${DEFAULT_REPORT_DIR})`,
    '  --json         print only the summary as JSON on standard output (no progress line), the first',
    `                 ${VIOLATIONS_SHOWN} violations with it (firstViolations)`,
    'Profiles:',
    ...SIMULATION_PROFILES.flatMap((p) =>
      wrapWords(workloadSummary(p), HELP_WIDTH - width - 4).map(
        (line, i) => `  ${(i === 0 ? p : '').padEnd(width)}  ${line}`,
      ),
    ),
    "Rates are means (the day draws its counts from the seed); docs/simulation.md has the day's",
    'timetable and what the simulation simplifies.',
    'A progress line is shown on a terminal. Violations are listed in the report, the first ten on',
    'standard error too. Exit codes: 0 no invariant violated, 1 violations found or the report could',
    'not be written (the error names the cause), 2 wrong command line (an --out folder that cannot be',
    'made included), 3 internal error. Ctrl-C (or SIGTERM) stops the run after the day under way and',
    'writes the report of the days simulated (stoppedEarly in report.json; without the closing',
    'convergence of every device after the last day); the exit code is then 130 (143 for SIGTERM).',
    'Ctrl-C again, a second or more later, stops at once, without a report. Off a terminal (a log),',
    'the progress comes as a line once a minute.',
    '',
    'Example: a hostile half-year for 20 users, then the report in a browser',
    '  sekey simulate --users 20 --groups 6 --days 180 --profile hostile --out ./hostile-report',
    '  xdg-open ./hostile-report/report.html   # macOS: open ./hostile-report/report.html',
  ].join('\n');
}

/** `--name N`: a whole number within its bounds (decimal digits only), or the default. */
function wholeNumber(args: Args, name: keyof typeof SIMULATION_BOUNDS, fallback: number): number {
  const text = args.option(`--${name}`);
  if (text === undefined) return fallback;
  const { min, max } = SIMULATION_BOUNDS[name];
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} takes a whole number from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

/** The profile named by `--profile`, or the default. */
function profileOption(args: Args, fallback: SimulationProfile): SimulationProfile {
  const text = args.option('--profile');
  if (text === undefined) return fallback;
  if ((SIMULATION_PROFILES as readonly string[]).includes(text)) return text as SimulationProfile;
  throw new UsageError(
    `unknown profile '${text}'${didYouMean(text, SIMULATION_PROFILES)}; profiles: ${SIMULATION_PROFILES.join(', ')}`,
  );
}

/** What the command line asks for. */
export interface SimulateRequest {
  readonly config: SimulationConfig;
  /** The report's folder, absolute. */
  readonly out: string;
}

/** Reads the command line; a wrong option is a {@link UsageError}. */
export function parseSimulateArgs(argv: readonly string[], cwd: string): SimulateRequest {
  const d = DEFAULT_SIMULATION_CONFIG;
  const args = new Args(argv);
  const config: SimulationConfig = {
    ...d,
    users: wholeNumber(args, 'users', d.users),
    groups: wholeNumber(args, 'groups', d.groups),
    days: wholeNumber(args, 'days', d.days),
    seed: wholeNumber(args, 'seed', d.seed),
    profile: profileOption(args, d.profile),
  };
  const out = args.option('--out');
  args.done();
  return { config, out: resolve(cwd, out ?? DEFAULT_REPORT_DIR) };
}

/** Where the files went. */
export interface ReportPaths {
  readonly json: string;
  readonly html: string;
}

/** How many violations the closing lines and `--json` name: the report lists every one. */
export const VIOLATIONS_SHOWN = 10;

/**
 * What `--json` prints: the report without its per-day series and wear table, the first
 * {@link VIOLATIONS_SHOWN} violations (`firstViolations`, in the order found; `report.json` has
 * them all), and the paths.
 */
function simulationSummary(report: SimulationReport, paths: ReportPaths): object {
  const { days: _days, flashWear: _wear, violationDetails, ...summary } = report;
  return {
    ...summary,
    days: report.days.length,
    firstViolations: violationDetails.slice(0, VIOLATIONS_SHOWN),
    paths,
  };
}

/** One violation on one line: when, which invariant, after what, and what was wrong (printable). */
export function violationLine(v: ViolationDetail): string {
  return printable(`day ${v.day} (${v.date}), ${v.invariant}, after ${v.operation}: ${v.detail}`);
}

/**
 * What standard error says of a run with violations: their number and the page, then the first
 * {@link VIOLATIONS_SHOWN}, one a line, and how many more the report holds.
 */
export function violationLines(report: SimulationReport, paths: ReportPaths): string[] {
  const n = report.violations;
  const shown = report.violationDetails.slice(0, VIOLATIONS_SHOWN);
  const more = n - shown.length;
  return [
    `sekey simulate: ${count(n, 'invariant violation')}: see ${paths.html}`,
    ...shown.map((v) => `  ${violationLine(v)}`),
    ...(more > 0 ? [`  and ${formatNumber(more)} more in ${paths.json}`] : []),
  ];
}

/** The closing lines without `--json`. */
function summaryLines(report: SimulationReport, paths: ReportPaths): string[] {
  const c = report.config;
  const t = report.totals;
  const u = t.updates;
  const stop = report.stoppedEarly;
  return [
    `Simulated ${count(report.days.length, 'day')}: ${count(c.users, 'user')}, ${count(c.groups, 'group')}, ` +
      `profile ${c.profile}, seed ${c.seed}.`,
    ...(stop === null
      ? []
      : [
          `Stopped early (${stop.by}) after day ${stop.afterDay} of ${c.days}: the report covers the days ` +
            'simulated, without the closing convergence of every device after the last day.',
        ]),
    ...fields([
      ['operations', formatNumber(t.operations)],
      [
        'files published',
        `${formatNumber(u.filesPublished)} (${formatBytes(u.bytesPublished)}), ${formatNumber(u.filesApplied)} applied`,
      ],
      ['HSM time', `${formatSeconds(t.hsmSeconds)} (modelled, all devices)`],
      ['max sector erases', formatNumber(t.maxSectorErases)],
      ['smallest-group', protectionsJudgedText(report.protectionsJudged)],
      [
        'violations',
        report.violations === 0 ? '0: every invariant held' : `${formatNumber(report.violations)}: see the report`,
      ],
      ['wall time', `${formatNumber(report.host.wallSeconds, 1)} s`],
    ]).map((line) => `  ${line}`),
    `Report: ${paths.html}`,
  ];
}

/** How many of an invalid report's problems the error names (the first; the count says how many more). */
const PROBLEMS_SHOWN = 10;

/**
 * The engine returned a report that fails validation: a bug, so it has no `code` (`reportError`
 * makes it an internal error, exit 3). One line, as internal errors are printed.
 */
export class InvalidReport extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const n = problems.length;
    const more = n > PROBLEMS_SHOWN ? `; and ${n - PROBLEMS_SHOWN} more` : '';
    super(
      `the simulation's report fails validation, not written (${count(n, 'problem')}): ` +
        `${problems.slice(0, PROBLEMS_SHOWN).join('; ')}${more}`,
    );
    this.name = 'InvalidReport';
    this.problems = problems;
  }
}

/**
 * Removes `folder` and its parents up to `top` (the first one this command made), each only if empty:
 * what an abandoned run made and never used.
 */
function removeEmptyFolders(folder: string, top: string): void {
  try {
    for (let f = resolve(folder); ; f = dirname(f)) {
      if (readdirSync(f).length > 0) return;
      rmdirSync(f);
      if (f === resolve(top)) return;
    }
  } catch {
    // Best effort, on the way out: a folder already gone or not ours to remove stays as it is.
  }
}

/** @throws CliError `CannotWrite` when a report file's path is a folder. */
function refuseFolders(paths: ReportPaths): void {
  for (const path of [paths.json, paths.html]) {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory() === true)
      throw new CliError(
        'CannotWrite',
        `cannot write ${path}: it is a folder`,
        'Move that folder away, or give another `--out`; then run it again (the same seed gives the same report).',
      );
  }
}

/** The way out of a report that could not be written (a full disk, a file-size limit). */
const REPORT_REMEDY =
  'Free space or lift the file-size limit (`ulimit -f`), or give another `--out`; then run it again (the same ' +
  'seed gives the same report).';

/**
 * What `simulate` says when its report could not be written: both files named (the system's message
 * names none: `EFBIG: file too large, write`), and what stands, the old pair whole or, when a rename
 * failed after another succeeded, which file is this run's and which the last run's.
 */
export function reportNotWritten(paths: ReportPaths, error: unknown): CliError {
  const files = `${paths.json}, ${paths.html}`;
  if (error instanceof FilesPartlyReplacedError) {
    const why = messageOf(error.cause);
    return new CliError(
      'CannotWrite',
      `cannot write the report (${files}): ${why}; ${error.replaced.join(', ')} is this run's, ` +
        `${error.kept.join(', ')} an earlier run's`,
      REPORT_REMEDY,
    );
  }
  const why = messageOf(error);
  return new CliError(
    'CannotWrite',
    `cannot write the report (${files}): ${why}; the report files there before, if any, are unchanged`,
    REPORT_REMEDY,
  );
}

/**
 * Whether a file can be made in `folder`: one is made and removed. Asked before the run, so that an
 * `--out` that exists but may not be written (read-only, another user's) fails at once, not when the
 * report is written after a run of hours; null when it can, else the system's code.
 */
function cannotWriteIn(folder: string): string | null {
  const probe = join(folder, `.tmp-probe-${randomBytes(6).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
    return null;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : String(error);
  }
}

/** Runs `sekey simulate argv`; `version` labels the report. */
export async function runSimulate(
  argv: readonly string[],
  io: CliIo,
  flags: GlobalFlags,
  version: string,
): Promise<number> {
  if (flags.help) {
    io.out(fitHelp(`usage: ${SIMULATE_USAGE}\n\n${simulateHelp()}`));
    return EXIT.ok;
  }
  const { config, out } = parseSimulateArgs(argv, io.cwd);
  // Made before the run, so that a folder that cannot be made fails now, not after the simulation.
  // A folder that cannot be made is a wrong `--out` (exit 2), never confused with exit 1 (violations).
  let made: string | undefined;
  try {
    made = makeFolders(out);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // makeFolders names the file (or link to nothing) in the way, at `out` itself or on its path.
    const inTheWay = notAFolderMessage(error);
    const reason =
      inTheWay !== null
        ? `${inTheWay}: name a folder, or one to make`
        : `cannot make the folder (${typeof code === 'string' ? code : String(error)})`;
    throw new UsageError(`--out ${out}: ${reason}`);
  }
  const unwritable = cannotWriteIn(out);
  if (unwritable !== null) {
    if (made !== undefined) removeEmptyFolders(out, made);
    throw new UsageError(`--out ${out}: cannot write in the folder (${unwritable}): name a folder you may write in`);
  }
  // Ctrl-C before the report is written, or a failure, leaves no folder this command made, empty,
  // behind. Given up only once the changes begin: a signal that came while the report was rendered
  // (synchronous work) is handled there, and must still find the clean-up.
  const dropOut = () => {
    if (made !== undefined) removeEmptyFolders(out, made);
  };
  const forgetOut = made === undefined ? undefined : io.onAbandon?.(dropOut);
  const status = flags.json ? undefined : io.status;
  const started = Date.now();
  const paths: ReportPaths = { json: join(out, 'report.json'), html: join(out, 'report.html') };
  // Ctrl-C (or SIGTERM: a batch system's time limit) ends the run after the day under way and
  // writes the report of the days done; a second one abandons it. An hour of simulation is not
  // thrown away for want of waiting for its end, nor for a Ctrl-C while its report is checked and
  // rendered (the request stands until the changes begin).
  let stopBy: string | null = null;
  // Where the run stands, from its progress: the days done, and whether one is under way. The engine
  // reports a day's end, then gives the event loop a turn (where a signal is handled), then asks
  // whether to stop: a signal then stops it after that day, one handled within a day after the next.
  let daysDone = 0;
  let midDay = true;
  const forgetStop = io.onStopRequest?.((signal) => {
    stopBy = signal;
    const day = midDay ? daysDone + 1 : daysDone;
    const again = '(Ctrl-C again: stop at once, no report)';
    // The last day under way, or done: the run ends whole, and nothing is left out.
    io.err(
      !midDay && daysDone >= config.days
        ? `sekey: ${signal} received: the run has ended; writing its whole report ${again}`
        : day >= config.days
          ? `sekey: ${signal} received: finishing the last day (${config.days}), then writing the whole report ${again}`
          : `sekey: ${signal} received: stopping after day ${day} of ${config.days}, then writing the report of ` +
            `the days simulated ${again}`,
    );
  });

  let report: SimulationReport;
  let html: string;
  try {
    // Before the run too: a report path taken by a folder is known now, not after an hour of simulation.
    refuseFolders(paths);
    try {
      report = await runSimulation(config, {
        version,
        onDay: (p) => {
          daysDone = p.day;
          midDay = p.during !== undefined;
          status?.(simulationProgressText(p, Date.now() - started));
        },
        stopRequested: () => stopBy,
        ...(io.onAbandon === undefined ? {} : { onAbandon: io.onAbandon }),
      });
    } finally {
      status?.(null);
    }
    const problems = validateSimulationReport(report);
    if (problems.length > 0) throw new InvalidReport(problems);
    // Both made, and both paths checked again (a folder may have appeared during the run), before
    // either is written: a failure leaves the old pair.
    html = renderReportHtml(report);
    refuseFolders(paths);
    await io.beginChanges?.();
  } catch (error) {
    forgetStop?.();
    forgetOut?.();
    dropOut();
    throw error;
  }
  forgetStop?.();
  forgetOut?.();
  // Together: a full disk leaves the old pair, never this run's data beside the last run's page.
  try {
    writeFilesAtomic([
      [paths.json, `${JSON.stringify(report, null, 2)}\n`],
      [paths.html, html],
    ]);
  } catch (error) {
    throw reportNotWritten(paths, error);
  }
  if (flags.json) io.out(json(simulationSummary(report, paths)));
  else for (const line of summaryLines(report, paths)) io.out(line);
  if (report.violations === 0) return EXIT.ok;
  for (const line of violationLines(report, paths)) io.err(line);
  return EXIT.refused;
}
