/**
 * A factory folder and its `manufacturer.json`: the simulated HSM manufacturer's Ed25519 signing key
 * (`device/attestation.ts`), which certifies the identity key of every HSM the factory initialises.
 *
 * SIMULATION ONLY. In a real deployment the factory holds this key (in its own HSM) and the admin
 * host never sees it: HSMs arrive already initialised, with the manufacturer's public key burned in
 * and a certificate of their identity key. Whoever holds the key can certify a key pair made on a
 * host as a "genuine" user HSM, which would then receive wrapped keys, defeating attestation. So the
 * simulation keeps it in its own folder (`sekey factory init --dir FACTORY`), outside every
 * installation home — `admin init` and `admin provision` are handed the folder (`--factory` or
 * `$SEKEY_FACTORY`) only to play the factory for the HSMs they create, and refuse a folder inside
 * the home. The installation keeps only the manufacturer's public key, burned into its HSMs.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MANUFACTURER_SEED_BYTES, Manufacturer } from '../../device/attestation.ts';
import { createFileAtomic } from './atomicFile.ts';
import { formatProblem } from './formatVersion.ts';
import { InstallationError } from './installationError.ts';
import { pathInside } from './pathInside.ts';
import { makeFolders } from './makeFolders.ts';
import { installationAround } from './otherInstallations.ts';
import { notPrivate } from './privateFolder.ts';

/** The file's name in the factory folder. */
export const MANUFACTURER_FILE = 'manufacturer.json';

/** The format version of `manufacturer.json`. */
const MANUFACTURER_FILE_FORMAT = 1;

const COMMENT =
  "SIMULATION ONLY: the simulated factory's Ed25519 signing seed (RFC 8032). In a real deployment the " +
  'HSM manufacturer holds it and the admin host never sees it; keep this folder outside every installation.';

/**
 * `BadInstallation` for the factory `dir`'s file, `why` in words; the way out is another factory
 * folder, or the file from a backup (or, `remedy`, what fits better).
 */
function invalid(dir: string, why: string, remedy?: string): never {
  const file = join(dir, MANUFACTURER_FILE);
  throw new InstallationError('BadInstallation', `${file}: ${why}`, remedy ?? restoreFactory(dir));
}

/** The way out of a damaged `manufacturer.json` in `dir`, after `lead`. */
function restoreFactory(dir: string, lead = 'Restore'): string {
  return (
    `${lead} ${join(dir, MANUFACTURER_FILE)} from a backup, or point \`--factory\` at another factory folder ` +
    '(`sekey factory init --dir DIR` makes one).'
  );
}

/**
 * Creates a random simulated manufacturer and writes it to `dir/manufacturer.json` (owner-only,
 * atomically), only if the folder holds none: of concurrent creators exactly one wins, so no
 * public key is announced that another one then replaced.
 * @throws InstallationError `AlreadyInitialized` when `dir` already holds a manufacturer
 */
export function createManufacturerFile(dir: string): Manufacturer {
  const seed = randomBytes(MANUFACTURER_SEED_BYTES);
  const manufacturer = Manufacturer.generate(new Uint8Array(seed));
  const body = {
    format: MANUFACTURER_FILE_FORMAT,
    comment: COMMENT,
    seed: seed.toString('hex'),
    publicKey: Buffer.from(manufacturer.publicKey).toString('hex'),
  };
  seed.fill(0);
  try {
    createFileAtomic(join(dir, MANUFACTURER_FILE), `${JSON.stringify(body, null, 2)}\n`, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new InstallationError('AlreadyInitialized', `${resolve(dir)} already holds a factory`);
    throw error;
  }
  return manufacturer;
}

/**
 * Reads the simulated manufacturer of the factory folder `dir`.
 * @throws InstallationError `BadInstallation` when the file is missing, malformed, or its seed does
 *   not give its recorded public key.
 */
export function readManufacturerFile(dir: string): Manufacturer {
  let text: string;
  try {
    text = readFileSync(join(dir, MANUFACTURER_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const pointAtFactory =
      'Point `--factory` (or SEKEY_FACTORY) at a factory folder; `sekey factory init --dir DIR` makes one.';
    if (code === 'ENOENT') return invalid(dir, 'missing: not a factory folder', pointAtFactory);
    // A file named as the factory folder: said in words, not as open's ENOTDIR on a path through it.
    if (code === 'ENOTDIR')
      throw new InstallationError('BadInstallation', `${resolve(dir)} is a file, not a factory folder`, pointAtFactory);
    if (code === 'EISDIR') return invalid(dir, 'a folder, not a file');
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid(dir, 'not JSON');
  }
  if (typeof value !== 'object' || value === null) return invalid(dir, 'not an object');
  const v = value as Record<string, unknown>;
  if (v['format'] !== MANUFACTURER_FILE_FORMAT) {
    const { why, newer } = formatProblem(v['format'], MANUFACTURER_FILE_FORMAT);
    return invalid(
      dir,
      why,
      newer ? `Upgrade SEkey if a newer one wrote it; ${restoreFactory(dir, 'if not, restore')}` : undefined,
    );
  }
  const hex = (k: string, bytes: number): Uint8Array => {
    const s = v[k];
    if (typeof s !== 'string' || !new RegExp(`^[0-9a-f]{${2 * bytes}}$`).test(s))
      return invalid(dir, `'${k}' must be ${bytes} bytes in lowercase hex`);
    return new Uint8Array(Buffer.from(s, 'hex'));
  };
  const seed = hex('seed', MANUFACTURER_SEED_BYTES);
  const publicKey = hex('publicKey', 32);
  const manufacturer = Manufacturer.generate(seed);
  seed.fill(0);
  if (!Buffer.from(manufacturer.publicKey).equals(publicKey))
    return invalid(dir, 'the seed does not give the recorded public key');
  return manufacturer;
}

/** The environment variable naming the factory folder when `--factory` is not given. */
export const FACTORY_ENV = 'SEKEY_FACTORY';

/**
 * Refuses a factory folder that someone else may change (its owner is another user, or its group or
 * others may write to it), as OpenSSH's `StrictModes` refuses such a `~/.ssh` (sshd_config(5)):
 * whoever may rename entries in it can put a `manufacturer.json` of theirs in place of the one
 * made there, and an admin HSM made from it trusts every certificate they sign (RFC 8032 keys: the
 * public key they choose is burned in), so a key pair on their host passes as a user HSM and receives
 * wrapped keys.
 * @throws InstallationError `UnsafeFactory`
 */
function requirePrivateFactory(path: string): void {
  // The folder (a file put in its place) and the file itself (rewritten in place: a factory copied
  // or restored with a file others may write keeps that mode in a folder closed to them).
  const folder = notPrivate(path, true);
  const file = folder === null ? notPrivate(join(path, MANUFACTURER_FILE), false, 'file') : null;
  const why = folder ?? (file === null ? null : `holds ${MANUFACTURER_FILE}, which ${file}`);
  if (why === null) return;
  throw new InstallationError(
    'UnsafeFactory',
    `the factory ${path} ${why}: whoever may change it could put a manufacturer of theirs in it, and the HSMs ` +
      'made from it would take their certificates as genuine',
    (folder ?? file ?? '').startsWith('belongs to')
      ? 'Use a factory folder of your own (`sekey factory init --dir DIR`), under a folder only you can change.'
      : `Close it to others (\`chmod go-w ${folder === null ? join(path, MANUFACTURER_FILE) : path}\`); if someone ` +
          'else could have changed it, make a new factory under a folder only you can change (`sekey factory init ' +
          '--dir DIR`).',
  );
}

/**
 * Creates a factory folder `dir` (owner-only) with a new random manufacturer.
 * @throws InstallationError `AlreadyInitialized` when `dir` already holds a factory; `UnsafeFactory`
 *   when `dir` exists and someone else may change it, or when it is or lies in an installation's
 *   home or share (see {@link installationAround}), before anything is made.
 */
export function createFactory(dir: string): Manufacturer {
  const path = resolve(dir);
  const around = installationAround(path);
  if (around !== null)
    throw new InstallationError(
      'UnsafeFactory',
      `the factory ${path} would be in the ${around.kind === 'home' ? 'SEkey installation' : 'share'} ` +
        `${around.at}: keep the manufacturer's key outside every installation`,
    );
  // No check for the file first: another process could create it between the check and the write.
  // The file is created exclusively instead (createManufacturerFile).
  makeFolders(path, 0o700);
  // A folder that was there already keeps its mode: one others may change is no place for the key.
  requirePrivateFactory(path);
  return createManufacturerFile(path);
}

/**
 * The manufacturer of factory folder `dir`, for work on the installation in `home` whose share is
 * `share`.
 * @throws InstallationError `UnsafeFactory` when `dir` is `home` or inside it (the manufacturer's
 *   signing key must never be part of an installation), when it and the share overlap (the share
 *   is the untrusted folder every user and the network can read), or when someone else may change
 *   it; `BadInstallation` when it holds no valid factory.
 */
export function openFactory(dir: string, home: string, share?: string): Manufacturer {
  const path = resolve(dir);
  if (pathInside(path, home)) {
    throw new InstallationError(
      'UnsafeFactory',
      `the factory ${path} is inside the installation ${resolve(home)}: keep the manufacturer's key outside it`,
    );
  }
  if (share !== undefined && (pathInside(path, share) || pathInside(share, path))) {
    throw new InstallationError(
      'UnsafeFactory',
      `the factory ${path} and the share ${resolve(share)} overlap: the manufacturer's key would be on the share`,
    );
  }
  requirePrivateFactory(path);
  return readManufacturerFile(path);
}
