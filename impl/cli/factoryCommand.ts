/**
 * `sekey factory init --dir DIR`: creates a simulated HSM factory — the manufacturer's Ed25519
 * signing key (`device/attestation.ts`, `host/manufacturerFile.ts`) in a folder of its own, owner-only.
 * `sekey admin init` and `sekey admin provision` are pointed at it (`--factory DIR` or
 * `$SEKEY_FACTORY`) to certify the HSMs they create. Keep it outside every installation (they refuse
 * a factory inside their home): in a real deployment the manufacturer holds this key and no admin
 * host ever sees it.
 * @module
 */
import { Args, UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import { requireFactory } from './globalOptions.ts';
import { createFactory } from '../host/manufacturerFile.ts';

/** The synopsis of `factory`. */
export const FACTORY_USAGE = 'sekey factory init [--dir DIR]';

/** The help of `factory`. */
export const FACTORY_HELP = [
  'Creates a simulated HSM factory in DIR (new or without a factory): DIR/manufacturer.json holds the',
  "manufacturer's signing key, which certifies the identity of every HSM `admin init` and `admin provision`",
  'create. SIMULATION ONLY: keep DIR outside every installation; a real admin host never holds this key.',
  '  --dir DIR   where (default $SEKEY_FACTORY)',
].join('\n');

/** Runs `sekey factory …` (argv after `factory`); returns the exit code. */
export async function runFactory(argv: readonly string[], io: CliIo): Promise<number> {
  const args = new Args(argv);
  const sub = args.optionalPositional();
  if (sub !== 'init')
    throw new UsageError(
      sub === undefined ? 'missing subcommand: sekey factory init --dir DIR' : `unknown factory command '${sub}'`,
    );
  const dir = requireFactory(args.option('--dir'), io.env, io.cwd, 'factory init');
  args.done();
  const manufacturer = createFactory(dir);
  io.out(`created a simulated HSM factory in ${dir}`);
  io.out(`  manufacturer's public key ${Buffer.from(manufacturer.publicKey).toString('hex')}`);
  io.out('  keep this folder outside every installation; pass it with --factory DIR or $SEKEY_FACTORY');
  return 0;
}
