import { describe, expect, it } from 'vitest';
import { KeyStoreConfigError, KeyStoreNotFormattedError } from './keyStoreErrors.ts';
import { LAYOUT_VERSION, NO_SOURCE } from './keyStoreLayout.ts';
import type { HeaderReading, SectorHeader } from './keyStoreLayout.ts';
import { planRecovery } from './keyStoreRecovery.ts';
import type { SectorReading } from './keyStoreRecovery.ts';

/** Flash index of store position `pos` in these tests. */
const INDEX = (pos: number): number => 20 + pos;
const WEAR = [5, 6, 7, 8];

function header(
  pos: number,
  seq: number,
  options: { epoch?: number; source?: { pos: number; seq: number } } = {},
): SectorHeader {
  return {
    version: LAYOUT_VERSION,
    position: pos,
    flashIndex: INDEX(pos),
    epoch: options.epoch ?? 3,
    seq,
    sourcePos: options.source?.pos ?? NO_SOURCE,
    sourceSeq: options.source?.seq ?? NO_SOURCE,
    wear: [...WEAR],
  };
}

function valid(h: SectorHeader, options: { done?: boolean; sameLayout?: boolean } = {}): HeaderReading {
  return { kind: 'valid', header: h, done: options.done ?? false, sameLayout: options.sameLayout ?? true };
}

/** Readings at positions 0..n-1; `erased` positions are blank unless listed in `dirty`. */
function readings(byPos: readonly (HeaderReading | 'erased' | 'dirty' | 'invalid')[]): SectorReading[] {
  return byPos.map((r, pos) => {
    if (r === 'erased') return { reading: { kind: 'erased' }, blank: true, flashIndex: INDEX(pos) };
    if (r === 'dirty') return { reading: { kind: 'erased' }, blank: false, flashIndex: INDEX(pos) };
    if (r === 'invalid') return { reading: { kind: 'invalid' }, blank: false, flashIndex: INDEX(pos) };
    return { reading: r, blank: false, flashIndex: INDEX(pos) };
  });
}

describe('planRecovery (key-store boot after a torn operation)', () => {
  it('keeps a clean store as it is: survivors oldest first, nothing erased, wear from the newest header', () => {
    const plan = planRecovery(readings([valid(header(0, 2)), 'erased', valid(header(2, 1)), 'erased']));
    expect(plan).toEqual({
      epoch: 3,
      maxSeq: 2,
      wear: WEAR,
      toErase: [],
      unrecordedErases: [],
      survivors: [
        { pos: 2, header: header(2, 1) },
        { pos: 0, header: header(0, 2) },
      ],
      rolledBackCompaction: false,
      completedCompaction: false,
    });
  });

  it('erases garbage: a torn erase (erased header over a dirty body), a torn header, an older epoch', () => {
    const plan = planRecovery(readings(['dirty', 'invalid', valid(header(2, 9, { epoch: 2 })), valid(header(3, 1))]));
    expect(plan.toErase).toEqual([0, 1, 2]);
    expect(plan.unrecordedErases).toEqual([0, 1, 2]); // no header implies these: mount must record them
    expect(plan.survivors.map((s) => s.pos)).toEqual([3]);
    expect(plan.epoch).toBe(3);
    expect(plan.rolledBackCompaction || plan.completedCompaction).toBe(false);
  });

  it('rolls back a compaction whose done word never landed: the target goes, the victim stays', () => {
    const plan = planRecovery(
      readings([
        valid(header(0, 1)),
        valid(header(1, 2, { source: { pos: 0, seq: 1 } }), { done: false }),
        'erased',
        'erased',
      ]),
    );
    expect(plan.toErase).toEqual([1]);
    expect(plan.unrecordedErases).toEqual([1]);
    expect(plan.survivors.map((s) => s.pos)).toEqual([0]);
    expect(plan.rolledBackCompaction).toBe(true);
    expect(plan.completedCompaction).toBe(false);
    // The victim's erase never happened and will not: no wear is added for it.
    expect(plan.wear).toEqual(WEAR);
    expect(plan.maxSeq).toBe(2);
  });

  it('rolls forward a done compaction whose victim is still there: the victim goes', () => {
    const plan = planRecovery(
      readings([
        valid(header(0, 1)),
        valid(header(1, 2, { source: { pos: 0, seq: 1 } }), { done: true }),
        'erased',
        'erased',
      ]),
    );
    expect(plan.toErase).toEqual([0]);
    expect(plan.unrecordedErases).toEqual([]); // the next mount infers it from the same done header
    expect(plan.survivors.map((s) => s.pos)).toEqual([1]);
    expect(plan.completedCompaction).toBe(true);
    expect(plan.rolledBackCompaction).toBe(false);
    // The erase ordered here counts itself, so the plan's wear adds nothing.
    expect(plan.wear).toEqual(WEAR);
  });

  it("counts the erase of the newest header's victim when it already happened", () => {
    const plan = planRecovery(
      readings(['erased', valid(header(1, 2, { source: { pos: 0, seq: 1 } }), { done: true }), 'erased', 'erased']),
    );
    expect(plan.toErase).toEqual([]);
    expect(plan.wear).toEqual([6, 6, 7, 8]);
    expect(plan.completedCompaction).toBe(false);
  });

  it('counts a victim whose erase was torn, and marks erasing it again as unrecorded', () => {
    const plan = planRecovery(
      readings(['dirty', valid(header(1, 2, { source: { pos: 0, seq: 1 } }), { done: true }), 'erased', 'erased']),
    );
    expect(plan.toErase).toEqual([0]);
    // The torn erase is the one the header implies; the one ordered here counts itself, in memory.
    expect(plan.wear).toEqual([6, 6, 7, 8]);
    expect(plan.unrecordedErases).toEqual([0]);
  });

  it('ignores a victim of the same position but another sequence number (a later use of that sector)', () => {
    const plan = planRecovery(
      readings([
        valid(header(0, 5)),
        valid(header(1, 4, { source: { pos: 0, seq: 1 } }), { done: true }),
        'erased',
        'erased',
      ]),
    );
    expect(plan.toErase).toEqual([]);
    expect(plan.survivors.map((s) => s.pos)).toEqual([1, 0]);
    expect(plan.wear).toEqual(WEAR); // the newest header (seq 5) has no victim
  });

  it('takes missing wear entries as zero and ignores a victim position beyond the store', () => {
    const short: SectorHeader = { ...header(0, 1, { source: { pos: 9, seq: 1 } }), wear: [1] };
    const plan = planRecovery(readings([valid(short, { done: true }), 'erased']));
    expect(plan.wear).toEqual([1, 0]);
    expect(plan.toErase).toEqual([]);
  });

  it('refuses flash without a valid header of the current epoch', () => {
    expect(() => planRecovery(readings(['erased', 'invalid', 'dirty']))).toThrow(KeyStoreNotFormattedError);
    expect(() => planRecovery([])).toThrow(KeyStoreNotFormattedError);
  });

  it('refuses a current header written for another layout, position or flash sector', () => {
    expect(() => planRecovery(readings([valid(header(0, 1), { sameLayout: false }), 'erased']))).toThrow(
      KeyStoreConfigError,
    );
    expect(() => planRecovery(readings([valid(header(1, 1)), 'erased']))).toThrow(KeyStoreConfigError);
    const moved = readings([valid(header(0, 1)), 'erased']).map((r) => ({ ...r, flashIndex: r.flashIndex + 1 }));
    expect(() => planRecovery(moved)).toThrow(/sector 21 holds a key store of another configuration/);
  });
});
