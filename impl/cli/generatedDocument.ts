/**
 * `sekey spec` and `sekey errors`: documents of a clone generated from its sources (the machines,
 * the error code lists), written under `docs/`, or with `--check` compared with what is there.
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Args } from './args.ts';
import { CliError } from './cliError.ts';
import type { CliIo } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { json } from './format.ts';

/** Whether `dir` is the root of a clone of SEkey-TS (its package and its sources). */
export function inClone(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'sekey' && existsSync(join(dir, 'model')) && existsSync(join(dir, 'docs'));
  } catch {
    return false;
  }
}

/** Which document, and how it is made. */
export interface GeneratedDocument {
  /** `spec` or `errors`: the command and the npm script. */
  readonly script: string;
  /** Where it goes by default, from the clone's root. */
  readonly defaultOut: string;
  /** Whether it reads the clone's sources (then it needs the clone even with `--out`). */
  readonly readsSources: boolean;
  readonly render: (cwd: string) => string;
}

/**
 * Writes a generated document, or with `--check` fails (exit 1) when the file differs from it.
 * @throws CliError `NotInRepository` when run outside a clone and the document needs it.
 */
export function runGeneratedDocument(
  argv: readonly string[],
  io: CliIo,
  flags: GlobalFlags,
  doc: GeneratedDocument,
): number {
  const args = new Args(argv);
  const check = args.flag('--check');
  const outOption = args.option('--out');
  args.done();
  // The document is of a clone's sources: its default place, and for errors its input, is the clone.
  if ((outOption === undefined || doc.readsSources) && !inClone(io.cwd)) {
    throw new CliError(
      'NotInRepository',
      `${io.cwd} is not the root of an SEkey-TS clone: \`sekey ${doc.script}\` ` +
        `${doc.readsSources ? 'reads its sources' : 'writes its docs/ (or give --out FILE)'}`,
    );
  }
  const out = resolve(io.cwd, outOption ?? doc.defaultOut);
  const text = doc.render(io.cwd);
  if (check) {
    let current: string | null = null;
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      current = null;
    }
    const state = current === text ? 'current' : current === null ? 'missing' : 'stale';
    if (flags.json) io.out(json({ command: doc.script, out, state }));
    else if (state === 'current') io.out(`${out} is current.`);
    else io.err(`${out} is ${state}: run \`npm run ${doc.script}\` and commit it.`);
    return state === 'current' ? 0 : 1;
  }
  io.beginChanges?.();
  writeFileSync(out, text);
  io.out(flags.json ? json({ command: doc.script, wrote: out }) : `wrote ${out}`);
  return 0;
}
