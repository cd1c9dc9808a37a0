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
import { messageOf } from '../../model/codedError.ts';
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
 * What the share took of a session's files, known only once the session ended (its writes wait for
 * its save: `DeferredTransport`). `took` is asked with an operation as `ShareOperationsFailed` names
 * it (`write updates/U1/000000000006.update`).
 */
export interface ShareOutcome {
  readonly took: (operation: string) => boolean;
}

/** Every file reached the share. */
export const SHARE_TOOK_ALL: ShareOutcome = { took: () => true };

/** A line said as the share took the session's files (a `published:` line), rendered once that is known. */
export type AfterShareLine = (share: ShareOutcome) => string;

/** What the share took of the files of a session that ended with `error`. */
function shareOutcome(error: unknown): ShareOutcome {
  const code = errorCode(error);
  const notWritten = (error as { notWritten?: unknown } | null)?.notWritten;
  if (code === 'ShareNotWritten' && Array.isArray(notWritten)) {
    const refused = new Set(notWritten);
    return { took: (operation) => !refused.has(operation) };
  }
  // The share gone, or a save that failed: nothing went to the share (`sessionEnd.ts`).
  if (code === 'ShareNotWritten' || code === 'ImagesNotSaved' || code === 'CheckpointNotSaved')
    return { took: () => false };
  return SHARE_TOOK_ALL;
}

/**
 * Opens a session with `open` and runs `work` in it with an io whose `out` lines are held, then
 * prints them: once the session returned, or when `work` itself failed (what it did before failing
 * was saved by the session), or when the share failed after the session saved the change
 * (`ShareNotWritten`: the change stands), or when the last save failed while a checkpoint already
 * held the change (`ImagesNotSaved`: it stands too), or when a durable point's save failed and stopped
 * the work there (`CheckpointNotSaved`: what it did before stands), but not when another save failure
 * ended the session (its error is then not the work's).
 * A line that names files for the share is held as `afterShare` gives it, and rendered when they
 * went (or not): a `published:` line said a file the share then refused was published.
 * The changes begin (`beginChanges`: from then on an interruption finishes the command) when the
 * session holds the home's lock (`InstallationOptions.onLocked`, set by `installationFor`), not
 * before: an interruption while the command still waits for another one's lock abandons it.
 */
export async function announceAfterSaving<S, T>(
  io: CliIo,
  open: (inner: (session: S) => Promise<T>) => Promise<T>,
  work: (session: S, held: CliIo, afterShare: (line: AfterShareLine) => void) => Promise<T>,
  options: { readonly json?: boolean } = {},
): Promise<T> {
  const lines: Array<string | AfterShareLine> = [];
  const held: CliIo = withOut(io, (line) => void lines.push(line));
  const afterShare = (line: AfterShareLine): void => void lines.push(line);
  const rendered = (share: ShareOutcome): string[] =>
    lines.splice(0).map((line) => (typeof line === 'string' ? line : line(share)));
  let failure: { readonly error: unknown } | null = null;
  try {
    const result = await open(async (session) => {
      try {
        return await work(session, held, afterShare);
      } catch (error) {
        failure = { error };
        throw error;
      }
    });
    for (const line of rendered(SHARE_TOOK_ALL)) io.out(line);
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
    if (standing || (workFailed && options.json !== true)) {
      const warning = standing && options.json === true && code !== null ? { code, message: messageOf(error) } : null;
      for (const line of rendered(shareOutcome(error))) io.out(warning === null ? line : withWarning(line, warning));
    }
    throw error;
  }
}
