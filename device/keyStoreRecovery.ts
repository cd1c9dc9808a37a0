/**
 * Boot-time recovery planning of the key store: what to do with each store sector after a power cut,
 * decided from the sector headers alone. Pure: no flash access, no state; `KeyStore.mount` reads the
 * headers (`keyStoreLayout.ts`), calls {@link planRecovery}, then carries the plan out (erase, then
 * replay the surviving sectors' records).
 *
 * The rules (see the commit points in `keyStore.ts`):
 * - Only headers of the highest format epoch are current; any other sector — an older store, a
 *   header a cut tore (its CRC fails), or an "erased" header over a body that is not all 0xFF (an
 *   interrupted sector erase, RM0090 §3.5.3, which the simulated flash leaves as garbage) — is to be
 *   erased.
 * - A compaction target whose "done" word never landed is rolled back: the target is erased and its
 *   victim, still intact, stays.
 * - A done target whose victim (same position and sequence number) is still present is rolled
 *   forward: the victim is erased.
 * - The newest header carries the erase counts as they were when it was written, before the erase of
 *   its own victim; when that erase already happened (done, and the victim is not in the plan), it is
 *   counted here. Every erase the plan orders is counted by the erase itself, in memory only: the
 *   next mount reads the same newest header unless a newer one is written, and sees only the erase
 *   of that header's own victim (it infers it). The plan lists the others as
 *   {@link RecoveryPlan.unrecordedErases}, for mount to record in a header.
 * @module
 */
import { KeyStoreConfigError, KeyStoreNotFormattedError } from './keyStoreErrors.ts';
import { NO_SOURCE } from './keyStoreLayout.ts';
import type { HeaderReading, SectorHeader } from './keyStoreLayout.ts';

/** What mount read at one store position. */
export interface SectorReading {
  /** The sector's header, as `readHeader` decodes it. */
  readonly reading: HeaderReading;
  /**
   * Whether the whole sector is 0xFF. Only consulted when the header reads `erased`: an erased
   * header over a dirty body is a torn erase.
   */
  readonly blank: boolean;
  /** RM0090 index of the flash sector at this position (a header names the sector it was written for). */
  readonly flashIndex: number;
}

/** A current sector that survives recovery. */
export interface SurvivingSector {
  readonly pos: number;
  readonly header: SectorHeader;
}

/** What mount must do, and what the store's state is afterwards. */
export interface RecoveryPlan {
  /** Format epoch of the store (the highest one found). */
  readonly epoch: number;
  /** Highest sector sequence number in use: the next opened sector gets the one after. */
  readonly maxSeq: number;
  /** Erase counts per position before the erases of {@link toErase} (each of which adds one). */
  readonly wear: readonly number[];
  /** Positions to erase, ascending: garbage, rolled-back targets, victims of finished compactions. */
  readonly toErase: readonly number[];
  /**
   * Positions of {@link toErase} whose erase the next mount would not count unless a header written
   * after it records it: all but a finished compaction's victim, which the newest header implies.
   */
  readonly unrecordedErases: readonly number[];
  /** Current sectors that stay, oldest (lowest sequence number) first: later records supersede. */
  readonly survivors: readonly SurvivingSector[];
  readonly rolledBackCompaction: boolean;
  readonly completedCompaction: boolean;
}

/**
 * Plans the recovery of a store from the readings of its sectors, indexed by store position.
 * @throws KeyStoreNotFormattedError when no sector holds a valid header
 * @throws KeyStoreConfigError when a current header was written for another sector list or size
 */
export function planRecovery(sectors: readonly SectorReading[]): RecoveryPlan {
  let maxEpoch = -1;
  for (const { reading } of sectors) if (reading.kind === 'valid') maxEpoch = Math.max(maxEpoch, reading.header.epoch);
  if (maxEpoch < 0) throw new KeyStoreNotFormattedError();

  const garbage = new Set<number>();
  const current: { pos: number; header: SectorHeader; done: boolean }[] = [];
  sectors.forEach(({ reading: r, blank, flashIndex }, pos) => {
    if (r.kind === 'erased') {
      if (!blank) garbage.add(pos);
      return;
    }
    if (r.kind === 'invalid' || r.header.epoch !== maxEpoch) {
      garbage.add(pos);
      return;
    }
    if (!r.sameLayout || r.header.position !== pos || r.header.flashIndex !== flashIndex) {
      throw new KeyStoreConfigError(`sector ${flashIndex} holds a key store of another configuration`);
    }
    current.push({ pos, header: r.header, done: r.done });
  });
  current.sort((a, b) => a.header.seq - b.header.seq);
  const newest = current[current.length - 1];
  if (!newest) throw new KeyStoreNotFormattedError();
  const wear = sectors.map((_, i) => newest.header.wear[i] ?? 0);

  const toErase = new Set<number>();
  let rolledBackCompaction = false;
  let completedCompaction = false;
  for (const c of current) {
    if (c.header.sourcePos === NO_SOURCE) continue;
    if (!c.done) {
      toErase.add(c.pos);
      rolledBackCompaction = true;
      continue;
    }
    const victim = current.find((v) => v.pos === c.header.sourcePos && v.header.seq === c.header.sourceSeq);
    if (victim) {
      toErase.add(victim.pos);
      completedCompaction = true;
    }
  }
  const ownVictim = newest.header.sourcePos;
  const ownVictimErased = newest.done && ownVictim < sectors.length && !toErase.has(ownVictim);
  if (ownVictimErased) wear[ownVictim] = (wear[ownVictim] ?? 0) + 1;
  // What the next mount infers from this same header: the erase of its victim, once. Rolled forward
  // here, that erase is the one it infers; a victim whose erase was torn (garbage now) was counted
  // just above, so erasing it again here is one more that nothing records.
  const inferred = newest.done && !ownVictimErased ? ownVictim : undefined;
  for (const pos of garbage) toErase.add(pos);
  const erase = [...toErase].sort((a, b) => a - b);

  return {
    epoch: maxEpoch,
    maxSeq: newest.header.seq,
    wear,
    toErase: erase,
    unrecordedErases: erase.filter((pos) => pos !== inferred),
    survivors: current.filter((c) => !toErase.has(c.pos)).map(({ pos, header }) => ({ pos, header })),
    rolledBackCompaction,
    completedCompaction,
  };
}
