/**
 * Nothing is announced before it is durable. A command on an installation prints nothing while its
 * session runs: its lines are held and printed only once the session has saved the device images
 * and carried out its writes to the share (`Installation` does both before it returns). A command
 * killed before then has announced nothing, so no key ID, user or file is ever announced and then
 * lost — or handed out again by the next command.
 * @module
 */
import type { CliIo } from './cliIo.ts';
import { withOut } from './cliIo.ts';
import { json } from './format.ts';
import { errorCode } from './reportError.ts';

/**
 * With `--json`, the object a command printed, with a `warning` saying why it exits 4 (`code`, and
 * `message` as standard error words it): the change stands, but a later step failed. Its fields are
 * kept as they were; an array (`admin stale --json`, `admin keys --json`), which a script indexes,
 * keeps its shape and takes no warning (the exit code and standard error still say it).
 */
function withWarning(line: string, warning: { readonly code: string; readonly message: string }): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return line;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return line;
  return json({ ...value, warning });
}

/**
 * Opens a session with `open` and runs `work` in it with an io whose `out` lines are held, then
 * prints them: once the session returned, or when `work` itself failed (what it did before failing
 * was saved by the session), or when the share failed after the session saved the change
 * (`ShareNotWritten`: the change stands), or when the last save failed while a checkpoint already
 * held the change (`ImagesNotSaved`: it stands too), or when a durable point's save failed and stopped
 * the work there (`CheckpointNotSaved`: what it did before stands), but not when another save failure
 * ended the session (its error is then not the work's).
 * The changes begin (`beginChanges`: from then on an interruption finishes the command) when the
 * session holds the home's lock (`InstallationOptions.onLocked`, set by `installationFor`), not
 * before: an interruption while the command still waits for another one's lock abandons it.
 */
export async function announceAfterSaving<S, T>(
  io: CliIo,
  open: (inner: (session: S) => Promise<T>) => Promise<T>,
  work: (session: S, held: CliIo) => Promise<T>,
  options: { readonly json?: boolean } = {},
): Promise<T> {
  const lines: string[] = [];
  const held: CliIo = withOut(io, (line) => void lines.push(line));
  const flush = (): void => {
    for (const line of lines.splice(0)) io.out(line);
  };
  let failure: { readonly error: unknown } | null = null;
  try {
    const result = await open(async (session) => {
      try {
        return await work(session, held);
      } catch (error) {
        failure = { error };
        throw error;
      }
    });
    flush();
    return result;
  } catch (error) {
    // The share's failure after a saved change: said as done (exit 4, `reportError`). The work's own
    // failure: what it did before failing was saved, so said too, but with --json the error object is
    // the one document standard output holds.
    const code = errorCode(error);
    // A durable point that could not be saved stopped the work: like its own failure, what it did
    // before (each step with its checkpoint saved) stands.
    const workFailed =
      (failure as { readonly error: unknown } | null)?.error === error || code === 'CheckpointNotSaved';
    const standing = code === 'ShareNotWritten' || code === 'ImagesNotSaved';
    if (standing && options.json === true && code !== null) {
      const warning = { code, message: (error as Error).message };
      lines.splice(0, lines.length, ...lines.map((line) => withWarning(line, warning)));
    }
    if (standing || (workFailed && options.json !== true)) flush();
    throw error;
  }
}
