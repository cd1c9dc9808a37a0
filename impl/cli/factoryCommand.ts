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
import type { GlobalFlags } from './commandLine.ts';
import { didYouMean } from './didYouMean.ts';
import { json } from './format.ts';
import { requireFactory } from './globalOptions.ts';
import { createFactory } from '../host/manufacturerFile.ts';

/** Runs `sekey factory …` (argv after `factory`); returns the exit code. */
export async function runFactory(argv: readonly string[], io: CliIo, flags: GlobalFlags): Promise<number> {
  const args = new Args(argv);
  const dirOption = args.option('--dir');
  const sub = args.optionalPositional();
  if (sub !== 'init')
    throw new UsageError(
      sub === undefined
        ? 'missing subcommand: sekey factory init --dir DIR'
        : `unknown factory command '${sub}'${didYouMean(sub, ['init'])}`,
      { usage: 'sekey factory' },
    );
  const dir = requireFactory(dirOption, io.env, io, 'factory init', '--dir');
  args.done();
  await io.beginChanges?.();
  const manufacturer = createFactory(dir);
  if (flags.json) {
    io.out(json({ command: 'factory init', dir, publicKey: Buffer.from(manufacturer.publicKey).toString('hex') }));
    return 0;
  }
  io.out(`created a simulated HSM factory in ${dir}`);
  io.out(`  manufacturer's public key ${Buffer.from(manufacturer.publicKey).toString('hex')}`);
  io.out('  keep this folder outside every installation; pass it with --factory DIR or $SEKEY_FACTORY');
  return 0;
}
