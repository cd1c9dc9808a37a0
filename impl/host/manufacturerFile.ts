/**
 * `manufacturer.json`: the simulated factory's Ed25519 signing key (`device/attestation.ts`), which
 * certifies the identity key of every HSM this installation factory-initialises.
 *
 * SIMULATION ONLY. In a real deployment the factory holds this key (in its own HSM) and the admin
 * host never sees it: HSMs arrive already initialised, with the manufacturer's public key burned in
 * and a certificate of their identity key. Here `sekey admin init` plays the factory, so the key has
 * to live somewhere; whoever can read this file can certify host-made identity keys, so it is
 * written owner-only, and it is the one file of the home that a real admin host would not have.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANUFACTURER_SEED_BYTES, Manufacturer } from '../../device/attestation.ts';
import { writeFileAtomic } from './atomicFile.ts';
import { InstallationError } from './installationError.ts';

/** The file's name in the home directory. */
export const MANUFACTURER_FILE = 'manufacturer.json';

/** The format version of `manufacturer.json`. */
export const MANUFACTURER_FILE_FORMAT = 1;

const COMMENT =
  'SIMULATION ONLY: the simulated factory\'s Ed25519 signing seed (RFC 8032). In a real deployment the ' +
  'HSM manufacturer holds it and the admin host never sees it; here `sekey admin init` plays the factory.';

function invalid(home: string, why: string): never {
  throw new InstallationError('BadInstallation', `${join(home, MANUFACTURER_FILE)}: ${why}`);
}

/** Creates a random simulated factory and writes it to `home/manufacturer.json` (owner-only, atomically). */
export function createManufacturerFile(home: string): Manufacturer {
  const seed = randomBytes(MANUFACTURER_SEED_BYTES);
  const manufacturer = Manufacturer.generate(new Uint8Array(seed));
  const body = {
    format: MANUFACTURER_FILE_FORMAT,
    comment: COMMENT,
    seed: seed.toString('hex'),
    publicKey: Buffer.from(manufacturer.publicKey).toString('hex'),
  };
  seed.fill(0);
  writeFileAtomic(join(home, MANUFACTURER_FILE), `${JSON.stringify(body, null, 2)}\n`, 0o600);
  return manufacturer;
}

/**
 * Reads the simulated factory of the installation in `home`.
 * @throws InstallationError `BadInstallation` when the file is missing, malformed, or its seed does
 *   not give its recorded public key.
 */
export function readManufacturerFile(home: string): Manufacturer {
  let text: string;
  try {
    text = readFileSync(join(home, MANUFACTURER_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return invalid(home, 'missing: this installation predates device attestation and cannot provision new HSMs (create a new one with `sekey admin init`)');
    }
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid(home, 'not JSON');
  }
  if (typeof value !== 'object' || value === null) return invalid(home, 'not an object');
  const v = value as Record<string, unknown>;
  if (v['format'] !== MANUFACTURER_FILE_FORMAT) return invalid(home, `format ${String(v['format'])} is not supported`);
  const hex = (k: string, bytes: number): Uint8Array => {
    const s = v[k];
    if (typeof s !== 'string' || !new RegExp(`^[0-9a-f]{${2 * bytes}}$`).test(s)) return invalid(home, `'${k}' must be ${bytes} bytes in lowercase hex`);
    return new Uint8Array(Buffer.from(s, 'hex'));
  };
  const seed = hex('seed', MANUFACTURER_SEED_BYTES);
  const publicKey = hex('publicKey', 32);
  const manufacturer = Manufacturer.generate(seed);
  seed.fill(0);
  if (!Buffer.from(manufacturer.publicKey).equals(publicKey)) return invalid(home, 'the seed does not give the recorded public key');
  return manufacturer;
}
