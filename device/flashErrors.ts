/**
 * Typed errors of the flash model. Each has a stable `code`; messages never contain memory contents.
 * @module
 */

/** Base class: every flash fault carries a stable machine-readable code. */
export abstract class FlashError extends Error {
  abstract readonly code: string;
}

/**
 * A program whose address or length is not a multiple of the program size (PSIZE). The hardware does
 * not perform it and sets PGAERR or PGPERR (RM0090 §3.5.4).
 * @remedy A bug in the caller (the key store or the device model): report it.
 */
export class FlashAlignmentError extends FlashError {
  readonly code = 'FlashAlignment' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FlashAlignmentError';
  }
}

/**
 * An address range outside the flash, or spanning two sectors.
 * @remedy A bug in the caller (the key store or the device model): report it.
 */
export class FlashRangeError extends FlashError {
  readonly code = 'FlashRange' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FlashRangeError';
  }
}

/**
 * Strict mode only: a program would have to turn a 0 bit back into 1, which needs an erase
 * (RM0090 §3.5.4). Nothing is written.
 * @remedy A bug in the caller (the key store or the device model): report it.
 */
export class FlashNotErasedError extends FlashError {
  readonly code = 'FlashNotErased' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FlashNotErasedError';
  }
}

/**
 * A program on a sector beyond its rated endurance (DS9405 "Flash memory endurance and data
 * retention": N_END 10 kcycles min) did not take: some targeted bits stayed 1. The hardware does not
 * report this; it is what the driver's read-back verification finds.
 * @remedy The HSM's flash is worn out: replace the HSM (`sekey admin provision U` for a user's).
 */
export class FlashWearOutError extends FlashError {
  readonly code = 'FlashWearOut' as const;
  readonly sector: number;
  constructor(sector: number, eraseCount: number) {
    super(`flash sector ${sector} worn out (${eraseCount} erase cycles): program did not verify`);
    this.name = 'FlashWearOutError';
    this.sector = sector;
  }
}

/**
 * A persisted flash image that is truncated, corrupted or of an unknown version.
 * @remedy Restore the HSM's `flash.img` from a backup, or upgrade SEkey to the version that wrote it.
 */
export class FlashImageError extends FlashError {
  readonly code = 'FlashImageInvalid' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FlashImageError';
  }
}
