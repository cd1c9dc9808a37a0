/**
 * The key store power-cut suite's workloads and findings in words, for counterexamples a person
 * reads: `2. put 0 (32 bytes)` with the IDs the store saw (drawn IDs taken modulo the pool), rather
 * than `{"pool":6,"steps":[{"kind":"put","id":42,…}],"faultSeed":0,"doubleFault":false}`, and what
 * a mount repaired rather than `expected { erasedSectors: [], …(4) }`. Display only: a counterexample
 * is replayed by its seed and path, never parsed from this text. Test support only.
 * @module
 */
import type { MountReport } from '../device/keyStore.ts';
import { count } from '../impl/simulation/chartScale.ts';

/** One step of a workload, its ID as drawn. */
export type Step =
  | { readonly kind: 'put'; readonly id: number; readonly length: 16 | 24 | 32 }
  | { readonly kind: 'delete'; readonly id: number };

/** A workload of the suite. */
export interface Workload {
  /** IDs are drawn from [0, pool): small pools churn, large ones run the store near capacity. */
  readonly pool: number;
  /** Keys inserted without faults first, to start inside compaction territory. */
  readonly prefill: number;
  readonly steps: readonly Step[];
  readonly faultSeed: number;
  /** Also cut power during the mount that follows each cut. */
  readonly doubleFault: boolean;
}

/** One step as the store sees it: `put 3 (16 bytes)`, `delete 5`. */
export function stepText(step: Step, pool: number): string {
  const id = step.id % pool;
  return step.kind === 'put' ? `put ${id} (${step.length} bytes)` : `delete ${id}`;
}

/** A workload: its IDs, prefill and cuts in one line, then its steps numbered from 1. */
export function workloadText(w: Workload): string {
  const prefilled = Math.min(w.prefill, w.pool);
  const cuts = w.doubleFault
    ? `a cut at every flash operation of every step, and another while the mount after it recovers ` +
      `(where: drawn from fault seed ${w.faultSeed})`
    : 'a cut at every flash operation of every step';
  const stored = prefilled === 0 ? 'no key' : `keys 0 to ${prefilled - 1}`;
  const head = `IDs 0 to ${w.pool - 1}, ${stored} stored first; ${cuts}:`;
  const width = String(w.steps.length).length;
  const steps = w.steps.map((s, i) => `  ${String(i + 1).padStart(width)}. ${stepText(s, w.pool)}`);
  return [head, ...(steps.length === 0 ? ['  (no step)'] : steps)].join('\n');
}

/** What a mount repaired, one phrase a repair; empty when it found nothing to repair. */
export function repairsText(report: MountReport | undefined): string[] {
  if (report === undefined) return ['no mount report'];
  // Every field of the report, by type: a repair a later mount reports cannot go unsaid here.
  const said = Object.entries(REPAIRS) as Array<[keyof MountReport, (report: MountReport) => string | null]>;
  return said.flatMap(([, text]) => text(report) ?? []);
}

/** What each field of a mount's report says it repaired, or null when it repaired nothing. */
const REPAIRS: { readonly [K in keyof MountReport]-?: (report: MountReport) => string | null } = {
  erasedSectors: (r) => (r.erasedSectors.length > 0 ? `erased sector(s) ${r.erasedSectors.join(', ')}` : null),
  rolledBackCompaction: (r) => (r.rolledBackCompaction ? 'rolled a compaction back' : null),
  completedCompaction: (r) => (r.completedCompaction ? 'completed a compaction' : null),
  scrubbedSlots: (r) => (r.scrubbedSlots > 0 ? `scrubbed ${count(r.scrubbedSlots, 'torn slot')}` : null),
  duplicatesResolved: (r) =>
    r.duplicatesResolved > 0 ? `resolved ${count(r.duplicatesResolved, 'duplicate ID')}` : null,
};

/** The IDs of a store's contents: `{0,3,5}`. */
export function idsText(state: ReadonlyMap<number, string>): string {
  return `{${[...state.keys()].sort((x, y) => x - y).join(',')}}`;
}

/**
 * A recovered state that is neither `before` nor `after`: their IDs, and the keys whose value is
 * neither theirs before nor after (a torn or stale value: the IDs alone may all match).
 */
export function recoveredText(
  state: ReadonlyMap<number, string>,
  before: ReadonlyMap<number, string>,
  after: ReadonlyMap<number, string>,
): string {
  const text = `recovered ${idsText(state)}, expected before ${idsText(before)} or after ${idsText(after)}`;
  const known = [...state.keys()].filter((id) => before.has(id) || after.has(id));
  const wrong = known.filter((id) => state.get(id) !== before.get(id) && state.get(id) !== after.get(id));
  if (wrong.length === 0) return text;
  const keys = wrong.sort((x, y) => x - y).join(', ');
  const whose = wrong.length === 1 ? `key ${keys} holds a value it` : `keys ${keys} hold values they`;
  return `${text}; ${whose} held neither before nor after`;
}
