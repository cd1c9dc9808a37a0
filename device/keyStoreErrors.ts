/**
 * Typed errors of the flash key store. Each has a stable `code`; no message ever contains key bytes.
 * @module
 */

/** Base class of every key-store error. */
export abstract class KeyStoreError extends Error {
  abstract readonly code: string;
}

/** Mount found no formatted key store in the configured sectors. */
export class KeyStoreNotFormattedError extends KeyStoreError {
  readonly code = 'KEYSTORE_NOT_FORMATTED' as const;
  constructor(message = 'no key store found in the configured flash sectors') {
    super(message);
    this.name = 'KeyStoreNotFormattedError';
  }
}

/** The sectors hold a key store written with another layout or another sector list. */
export class KeyStoreConfigError extends KeyStoreError {
  readonly code = 'KEYSTORE_CONFIG_MISMATCH' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreConfigError';
  }
}

/** Inserting a new key would exceed the store's capacity (replacing an existing key never does). */
export class KeyStoreFullError extends KeyStoreError {
  readonly code = 'KEYSTORE_FULL' as const;
  constructor(capacity: number) {
    super(`key store is full (${capacity} keys)`);
    this.name = 'KeyStoreFullError';
  }
}

/** A key ID that is not a u32, or key material that is not 16, 24 or 32 bytes. */
export class KeyStoreInvalidKeyError extends KeyStoreError {
  readonly code = 'KEYSTORE_INVALID_KEY' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreInvalidKeyError';
  }
}

/** The device asked for a key ID the store does not hold. */
export class KeyStoreKeyNotFoundError extends KeyStoreError {
  readonly code = 'KEYSTORE_KEY_NOT_FOUND' as const;
  readonly id: number;
  constructor(id: number) {
    super(`no key with id ${id}`);
    this.name = 'KeyStoreKeyNotFoundError';
    this.id = id;
  }
}

/**
 * An earlier operation failed part-way (power loss, worn-out flash), so the in-memory view may no
 * longer match flash: the store must be mounted again, which repairs the flash.
 */
export class KeyStoreRemountRequiredError extends KeyStoreError {
  readonly code = 'KEYSTORE_REMOUNT_REQUIRED' as const;
  constructor() {
    super('key store must be mounted again after a failed flash operation');
    this.name = 'KeyStoreRemountRequiredError';
  }
}

/** A record that mount had verified no longer verifies (flash corrupted behind the store's back). */
export class KeyStoreCorruptError extends KeyStoreError {
  readonly code = 'KEYSTORE_CORRUPT' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreCorruptError';
  }
}
