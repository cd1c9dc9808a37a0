/**
 * Confirmation of destructive commands (`destroy-key`, `delete-group`, `delete-user`, `forget-hsm`,
 * provisioning a user again): asked on a terminal, `--yes` otherwise — a script must say it means it.
 * @module
 */
import { UsageError } from './args.ts';
import { CliError } from './cliError.ts';
import type { CliIo } from './cliIo.ts';

/** The refusal of a confirmation that no terminal can give and `--yes` did not. */
export function notOnTerminal(question: string): UsageError {
  return new UsageError(`${question.replace(/\?$/, '')}: not on a terminal, so pass --yes to confirm`);
}

/**
 * Passes when `yes`, or when the person at the terminal answers `y` or `yes` to `question`.
 * @throws CliError `NotConfirmed` for any other answer; UsageError without a terminal and `--yes`.
 */
export async function confirmStep(io: CliIo, yes: boolean, question: string): Promise<void> {
  if (yes) return;
  if (io.prompt === undefined) throw notOnTerminal(question);
  const answer = (await io.prompt(`${question} [y/N] `)).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') throw new CliError('NotConfirmed', `not confirmed (${question})`, DECLINED);
}

/**
 * What to do after answering no: this situation's part of `NotConfirmed`'s general remedy, which
 * also tells of new PINs typed twice, a question this command never asked.
 */
const DECLINED = 'Nothing to undo. To go ahead, run the command again and answer yes (or pass --yes).';
