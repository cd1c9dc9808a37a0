/**
 * Which key-store sector a compaction recycles, and which free sector receives its records. Pure
 * functions of the per-sector counts; `KeyStore` calls them when only the reserve sector is free.
 *
 * Greedy garbage collection (fewest live records first) minimises the records copied per reclaimed
 * slot, as in log-structured file systems and SSD flash translation layers. Alone it would leave
 * sectors of cold (never rewritten) keys untouched while the others wear out, so when erase counts
 * drift more than a threshold apart, the least-worn used sector is recycled instead (static wear
 * levelling), within the 10,000-cycle endurance of the STM32F429's flash (DS9405 "Flash memory endurance": N_END 10
 * kcycles).
 * @module
 */
import { KeyStoreCorruptError } from './keyStoreErrors.ts';

/** What victim selection needs to know of one store sector. */
export interface VictimCandidate {
  /** Whether the sector holds a header (is part of the log); free sectors are never victims. */
  readonly used: boolean;
  /** Live records in the sector. */
  readonly live: number;
  /** The sector's sequence number (lower = older). */
  readonly seq: number;
}

/** Inputs of {@link chooseCompactionVictim}. */
export interface VictimInput {
  /** Every store sector, by position. */
  readonly sectors: readonly VictimCandidate[];
  /** Erase count per position. */
  readonly wear: readonly number[];
  /** Erase-count spread (max − least-worn used) beyond which the static move is taken. */
  readonly wearLevelThreshold: number;
  readonly slotsPerSector: number;
  /** False after a static move in the same append: the next round must reclaim space greedily. */
  readonly staticAllowed: boolean;
}

/** The least-worn of `positions` (the first one on ties), or undefined when there is none. */
export function leastWorn(wear: readonly number[], positions: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const pos of positions) if (best === undefined || (wear[pos] ?? 0) < (wear[best] ?? 0)) best = pos;
  return best;
}

/**
 * The sector to compact: the least-worn used sector when the static move is allowed and erase counts
 * have drifted more than the threshold apart; otherwise the used sector with the fewest live records,
 * ties going to the less worn and then to the older one.
 * @throws KeyStoreCorruptError when the greedy choice has no slot to reclaim (every used sector full)
 */
export function chooseCompactionVictim(input: VictimInput): number {
  const { sectors, wear } = input;
  if (input.staticAllowed) {
    const used = sectors.flatMap((st, pos) => (st.used ? [pos] : []));
    const maxWear = Math.max(...wear);
    const coldest = leastWorn(wear, used);
    if (coldest !== undefined && maxWear - (wear[coldest] ?? 0) > input.wearLevelThreshold) return coldest;
  }
  let best: { readonly pos: number; readonly st: VictimCandidate } | undefined;
  for (const [pos, st] of sectors.entries()) {
    if (!st.used) continue;
    if (best === undefined || greedyBefore(pos, st, best.pos, best.st, wear)) best = { pos, st };
  }
  if (best === undefined || best.st.live >= input.slotsPerSector)
    throw new KeyStoreCorruptError('no sector has reclaimable slots');
  return best.pos;
}

/** Greedy order: fewer live records, then fewer erases, then older. */
function greedyBefore(
  pa: number,
  a: VictimCandidate,
  pb: number,
  b: VictimCandidate,
  wear: readonly number[],
): boolean {
  const wa = wear[pa] ?? 0;
  const wb = wear[pb] ?? 0;
  return a.live < b.live || (a.live === b.live && (wa < wb || (wa === wb && a.seq < b.seq)));
}
