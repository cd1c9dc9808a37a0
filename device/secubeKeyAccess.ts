/**
 * DEVICE-INTERNAL. How the SEcube's operations reach keys: by numeric ID, each key with one purpose
 * checked on every use (NIST SP 800-57 Part 1 §5.2; the table is in `keyPurpose.ts`), key bytes
 * read into a buffer that is wiped as soon as the operation is done, and writes that honour W5 (a
 * user session may create keys, never replace one).
 * @module
 */
import type { PinLevel } from '../model/pinSession.ts';
import { DeviceError } from './deviceError.ts';
import { readKeyMaterialForDevice } from './keyStore.ts';
import type { KeyStore } from './keyStore.ts';
import { KeyStoreFullError } from './keyStoreErrors.ts';
import { KEY_PURPOSES, MAX_KEY_ID, encodeStoreId } from './keyPurpose.ts';
import type { KeyPurpose } from './keyPurpose.ts';

/**
 * Purposes that may seal (NIST SP 800-57 Part 1 §5.2; table in `keyPurpose.ts`). Not `ack`: the
 * user→admin key seals acknowledgements only, through {@link ACKERS}.
 */
export const SEALERS: readonly KeyPurpose[] = Object.freeze(['data', 'seal', 'local']);
/** Purposes that may seal an acknowledgement (`secubeAcknowledge.ts`): the `ack` key alone. */
export const ACKERS: readonly KeyPurpose[] = Object.freeze(['ack']);
/** Purposes that may open. */
export const OPENERS: readonly KeyPurpose[] = Object.freeze(['data', 'open', 'local']);
/** Only data keys: encryption, decryption, re-encryption, export. */
export const DATA_ONLY: readonly KeyPurpose[] = Object.freeze(['data']);

/** @throws DeviceError `BadArgument` unless `id` is an integer in 1..{@link MAX_KEY_ID}. */
export function checkKeyId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_KEY_ID)
    throw new DeviceError('BadArgument', `key IDs are integers in 1..${MAX_KEY_ID}, got ${String(id)}`);
}

/** Overwrites secrets in RAM with zeros. */
export function wipe(...buffers: Uint8Array[]): void {
  for (const b of buffers) b.fill(0);
}

/** The purpose of key `id`, or undefined when there is no such key. */
export function locateKey(store: KeyStore, id: number): KeyPurpose | undefined {
  checkKeyId(id);
  return KEY_PURPOSES.find((purpose) => store.has(encodeStoreId(id, purpose)));
}

/** The purpose of key `id`. @throws DeviceError `UnknownKey`. */
export function requireKey(store: KeyStore, id: number): KeyPurpose {
  const purpose = locateKey(store, id);
  if (purpose === undefined) throw new DeviceError('UnknownKey', `no key with ID ${id}`);
  return purpose;
}

/**
 * The purpose of key `id`, which must be one of `allowed` (NIST SP 800-57 Part 1 §5.2).
 * @throws DeviceError `UnknownKey`, `WrongKeyPurpose`
 */
export function usableKey(store: KeyStore, id: number, allowed: readonly KeyPurpose[], use: string): KeyPurpose {
  const purpose = requireKey(store, id);
  if (!allowed.includes(purpose))
    throw new DeviceError(
      'WrongKeyPurpose',
      `key ${id} is a ${purpose} key; it cannot ${use} (needs ${allowed.join(' or ')})`,
    );
  return purpose;
}

/** Runs `use` on a copy of the bytes of key `id`, wiped afterwards whatever happens. */
export function withKey<T>(store: KeyStore, id: number, purpose: KeyPurpose, use: (key: Uint8Array) => T): T {
  const key = readKeyMaterialForDevice(store, encodeStoreId(id, purpose));
  try {
    return use(key);
  } finally {
    wipe(key);
  }
}

/**
 * Refuses what {@link putKey} would refuse, without writing anything, honouring W5: a user session
 * may only create, an admin may replace (atomically, with `replace`). An ID names one key whatever
 * its purpose, and a replacement keeps the purpose: changing it would take two flash commits (a new
 * record under the new store ID, then a delete of the old one), and a cut between them would leave
 * two keys under one ID.
 * @throws DeviceError `AccessDenied`, `KeyExists`, `BadArgument`
 */
export function checkPut(store: KeyStore, level: PinLevel, id: number, purpose: KeyPurpose, replace: boolean): void {
  const existing = locateKey(store, id);
  if (existing === undefined) return;
  if (level !== 'admin') throw new DeviceError('AccessDenied', `a user session cannot replace key ${id}`);
  if (!replace) throw new DeviceError('KeyExists', `key ${id} exists (pass replace to overwrite it)`);
  if (existing !== purpose)
    throw new DeviceError(
      'BadArgument',
      `key ${id} is a ${existing} key; delete it before reusing its ID for a ${purpose} key`,
    );
}

/**
 * Stores `key` under `id` with `purpose`: one key-store record, so key and purpose commit together.
 * @throws DeviceError as {@link checkPut}, and `StoreFull`.
 */
export function putKey(
  store: KeyStore,
  level: PinLevel,
  id: number,
  key: Uint8Array,
  purpose: KeyPurpose,
  replace: boolean,
): void {
  checkPut(store, level, id, purpose, replace);
  try {
    store.put(encodeStoreId(id, purpose), key);
  } catch (e) {
    if (e instanceof KeyStoreFullError) throw new DeviceError('StoreFull', e.message);
    throw e;
  }
}
