/**
 * Typed errors of the flash key store. Each has a stable `code`; no message ever contains key bytes.
 * @module
 */

/** Base class of every key-store error. */
export abstract class KeyStoreError extends Error {
  abstract readonly code: string;
}

/**
 * Mount found no formatted key store in the configured sectors.
 * @remedy Factory-initialise the HSM; if it was initialised, its flash image is damaged: restore it
 * from a backup.
 */
export class KeyStoreNotFormattedError extends KeyStoreError {
  readonly code = 'KeyStoreNotFormatted' as const;
  constructor(message = 'no key store found in the configured flash sectors') {
    super(message);
    this.name = 'KeyStoreNotFormattedError';
  }
}

/**
 * The sectors hold a key store written with another layout or another sector list.
 * @remedy Open the flash image with the SEkey version and key-store configuration that wrote it.
 */
export class KeyStoreConfigError extends KeyStoreError {
  readonly code = 'KeyStoreConfigMismatch' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreConfigError';
  }
}

/**
 * Inserting a new key would exceed the store's capacity (replacing an existing key never does).
 * @remedy Destroy keys that are no longer needed (the HSM reports this as `DeviceError` `StoreFull`).
 */
export class KeyStoreFullError extends KeyStoreError {
  readonly code = 'KeyStoreFull' as const;
  constructor(capacity: number) {
    super(`key store is full (${capacity} keys)`);
    this.name = 'KeyStoreFullError';
  }
}

/**
 * A key ID that is not a u32, or key material that is not 16, 24 or 32 bytes.
 * @remedy A bug in the caller: key IDs are u32, keys 16, 24 or 32 bytes.
 */
export class KeyStoreInvalidKeyError extends KeyStoreError {
  readonly code = 'KeyStoreInvalidKey' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreInvalidKeyError';
  }
}

/**
 * The device asked for a key ID the store does not hold.
 * @remedy A bug in the caller: the HSM checks key IDs before it reaches the store; report it.
 */
export class KeyStoreKeyNotFoundError extends KeyStoreError {
  readonly code = 'KeyStoreKeyNotFound' as const;
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
 * @remedy Retry: the HSM mounts its key store again, which repairs the flash.
 */
export class KeyStoreRemountRequiredError extends KeyStoreError {
  readonly code = 'KeyStoreRemountRequired' as const;
  constructor() {
    super('key store must be mounted again after a failed flash operation');
    this.name = 'KeyStoreRemountRequiredError';
  }
}

/**
 * A record that mount had verified no longer verifies (flash corrupted behind the store's back).
 * @remedy Restore the HSM's flash image from a backup, or replace the HSM.
 */
export class KeyStoreCorruptError extends KeyStoreError {
  readonly code = 'KeyStoreCorrupt' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreCorruptError';
  }
}
