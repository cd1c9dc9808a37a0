/**
 * `sekey spec` and `sekey errors`: documents of a clone generated from its sources (the machines,
 * the error code lists), written under `docs/`, or with `--check` compared with what is there.
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Args } from './args.ts';
import { CliError } from './cliError.ts';
import type { CliIo } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { json } from './format.ts';
import { count } from '../simulation/chartScale.ts';
import { makeFolders, notAFolderMessage } from '../host/makeFolders.ts';

/** Whether `dir` is the root of a clone of SEkey-TS (its package and its sources). */
function inClone(dir: string): boolean {
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
  /**
   * Every file of the document: the document itself at `out`, and companion files beside it (the
   * spec's machines/*.json), each as [path, text].
   */
  readonly render: (cwd: string, out: string) => ReadonlyArray<readonly [string, string]>;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Writes a generated document and its companion files, or with `--check` fails (exit 1) when any
 * file differs from what would be written.
 * @throws CliError `NotInRepository` when run outside a clone and the document needs it.
 */
export async function runGeneratedDocument(
  argv: readonly string[],
  io: CliIo,
  flags: GlobalFlags,
  doc: GeneratedDocument,
): Promise<number> {
  const args = new Args(argv);
  const check = args.flag('--check');
  const outOption = args.option('--out');
  args.done();
  // The document is of a clone's sources: its default place, and for errors its input, is the clone.
  if ((outOption === undefined || doc.readsSources) && !inClone(io.cwd)) {
    throw new CliError(
      'NotInRepository',
      `${io.cwd} is not the root of an SEkey-TS clone: \`sekey ${doc.script}${check ? ' --check' : ''}\` ` +
        // With --check nothing is written: it compares the clone's docs/ with what it would write.
        `${doc.readsSources ? 'reads its sources' : `${check ? 'compares' : 'writes'} its docs/ (or give --out FILE)`}`,
    );
  }
  const out = resolve(io.cwd, outOption ?? doc.defaultOut);
  const files = doc.render(io.cwd, out);
  if (check) {
    const states = files.map(([path, text]) => {
      const current = readOrNull(path);
      return { path, state: current === text ? 'current' : current === null ? 'missing' : 'stale' };
    });
    const bad = states.filter((s) => s.state !== 'current');
    const state = bad.length === 0 ? 'current' : (bad[0]?.state ?? 'stale');
    if (flags.json) io.out(json({ command: doc.script, out, state, files: states }));
    else if (bad.length === 0)
      io.out(`${out} is current${files.length > 1 ? `, with ${count(files.length - 1, 'companion file')}` : ''}.`);
    else for (const b of bad) io.err(`${b.path} is ${b.state}: run \`npm run ${doc.script}\` and commit it.`);
    return bad.length === 0 ? 0 : 1;
  }
  await io.beginChanges?.();
  for (const [path, text] of files) {
    try {
      makeFolders(dirname(path));
      writeFileSync(path, text);
    } catch (error) {
      throw cannotWrite(path, error);
    }
  }
  const written = files.map(([path]) => path);
  io.out(
    flags.json
      ? json({ command: doc.script, wrote: out, files: written })
      : written.map((p) => `wrote ${p}`).join('\n'),
  );
  return 0;
}

/**
 * The file-system refusals of writing `path` as the user's mistake they are (`--out` naming a folder,
 * or a path through a file), in words; anything else as it was.
 */
function cannotWrite(path: string, error: unknown): unknown {
  const why: Record<string, string> = {
    EISDIR: 'it is a folder (name a file in it)',
    ENOENT: 'its folder cannot be made there',
    ENOTDIR: 'a folder on its path is a file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
  };
  // makeFolders names the file (or link to nothing) in the way to the folder.
  const reason = notAFolderMessage(error) ?? why[(error as NodeJS.ErrnoException).code ?? ''];
  if (reason === undefined) return error;
  return new CliError(
    'CannotWrite',
    `cannot write ${path}: ${reason}`,
    'Make its folder a folder you may write in, or give `--out` another file (not a folder).',
  );
}
