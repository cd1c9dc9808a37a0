/**
 * The encrypted database under attack and under power loss: random transactions, then bit flips,
 * page swaps, truncation, an older copy restored, and a power cut at every SD write and sync of a
 * commit. Each must be detected, or recovered to the state before or after — never a mix. Of the card
 * images ever taken, those imaged while a commit was interrupted included, none opens to anything
 * but the committed state or the pending commit's while that commit is pending, and none opens at
 * all once the device has committed past it (the commit intent and its attempts: `commitIntent.ts`). On cards
 * a few pages larger than the new database, transactions that grow it past the card are refused (`NoSpace`)
 * and change nothing, in memory, on the card or in the device; deleting rows makes room again, power cuts
 * included. An operation (for `npm run properties`) is a transaction step, or a reopen of a damaged,
 * power-cut or full card.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { PowerLossError } from '../device/powerLossError.ts';
import { SdCard } from '../device/sdcard.ts';
import { bytesEqual } from '../device/binaryCodec.ts';
import { DatabaseError } from '../impl/db/databaseError.ts';
import type { DatabaseDevice } from '../impl/db/databaseDevice.ts';
import { EncryptedDatabase } from '../impl/db/encryptedDatabase.ts';
import { PAGE_SECTORS, PageStore, cardLayout } from '../impl/db/pageStore.ts';
import { SoftDatabaseDevice, readOnlyView } from '../impl/db/softDevice.testkit.ts';
import { openSqlite } from '../impl/db/sqlite.ts';
import type { Database } from '../impl/db/sqlite.ts';
import { secubeDatabaseDevice } from '../impl/db/secubeDatabaseDevice.ts';
import { USER_PIN, makeDevice } from '../device/secube.testkit.ts';
import { replaying } from '../testing/runConfig.ts';
import { PropertyProgress } from './progress.testkit.ts';
import { cutStepText, eventsText, spaceEventsText, spaceStepText, stepsText } from './databaseText.testkit.ts';
import type { CommitEvent, SpaceEvent, SpaceStep, Step } from './databaseText.testkit.ts';

const progress = new PropertyProgress('encryptedDatabase');
const SECTORS = 8192; // 4 MiB card: room for ~220 pages in shadow pairs

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), id: fc.nat(40), size: fc.integer({ min: 1, max: 6000 }) }),
  fc.record({ kind: fc.constant('update' as const), id: fc.nat(40), size: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.nat(40) }),
);

/**
 * The databases the current property run opened. Each holds an SQLite connection in sql.js's
 * WebAssembly memory, which the garbage collector cannot free, so {@link closing} closes them when
 * the run ends: a deep run would otherwise grow by every run's databases.
 */
const opened: EncryptedDatabase[] = [];

function track(db: EncryptedDatabase): EncryptedDatabase {
  opened.push(db);
  return db;
}

function closeOpened(): void {
  for (const db of opened.splice(0)) db.close();
}

/** A property's predicate that closes, when it ends, every database it {@link track}ed. */
function closing<A extends unknown[]>(predicate: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await predicate(...args);
    } finally {
      closeOpened();
    }
  };
}

// The tests that are not properties open a few databases each.
afterEach(closeOpened);

async function fresh(device: DatabaseDevice = new SoftDatabaseDevice(), seed = 7, sectorCount = SECTORS) {
  const sd = new SdCard({ sectorCount, seed });
  const db = track(await EncryptedDatabase.create(device, sd));
  db.transaction((d) => d.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)'));
  return { device, sd, db };
}

/** The SQL of one step, on any connection (the encrypted database's, or a plain one that models it). */
function runStep(d: Database, s: Step, tag: number): void {
  if (s.kind === 'delete') d.run('DELETE FROM t WHERE id = ?', [s.id]);
  else d.run('INSERT OR REPLACE INTO t VALUES (?, ?)', [s.id, new Uint8Array(s.size).fill(tag & 0xff)]);
}

function applyStep(db: EncryptedDatabase, s: Step, tag: number): void {
  db.transaction((d) => runStep(d, s, tag));
}

/** The SQL of one step of the no-space property: many rows in one transaction, or a {@link runStep}. */
function runSpaceStep(d: Database, s: SpaceStep, tag: number): void {
  if (s.kind !== 'fill') runStep(d, s, tag);
  else for (let id = s.id; id < s.id + s.count; id++) runStep(d, { kind: 'insert', id, size: s.size }, tag);
}

function pageCount(d: Database): number {
  return Number(d.exec('PRAGMA page_count')[0]?.values[0]?.[0]);
}

/**
 * The no-space property's transactions: rows of up to four pages, and many rows in one transaction,
 * so that one commit can grow the database past a nearly full card; deletes and shrinking updates
 * make room again.
 */
const spaceStepArb: fc.Arbitrary<SpaceStep> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      id: fc.nat(15),
      size: fc.integer({ min: 1, max: 16_000 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('fill' as const),
      id: fc.nat(15),
      count: fc.integer({ min: 2, max: 12 }),
      size: fc.integer({ min: 1, max: 3000 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      id: fc.nat(26),
      size: fc.integer({ min: 1, max: 8000 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.nat(26) }), weight: 2 },
);

/** A transaction, one in five with the power cut at one of its first SD writes: a cut on a nearly full card. */
const spaceEventArb: fc.Arbitrary<SpaceEvent> = fc.record({
  step: spaceStepArb,
  cutAtWrite: fc.oneof(
    { arbitrary: fc.constant(null), weight: 4 },
    { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 1 },
  ),
});

/** The smallest card that holds `maxPages` pages (`cardLayout`), in sectors. */
function cardOfPages(maxPages: number): number {
  let sectors = maxPages * 2 * PAGE_SECTORS;
  while (cardLayout(sectors).maxPages < maxPages) sectors += 1;
  return sectors;
}

/** Pages of a new database with the suite's table: what {@link fresh} makes. Measured once, on a large card. */
let newDatabasePages: number | undefined;
async function freshPages(): Promise<number> {
  if (newDatabasePages === undefined) {
    const { db } = await fresh();
    newDatabasePages = db.read(pageCount);
  }
  return newDatabasePages;
}

/** How a transaction of the no-space property ended. */
function outcomeOf(fn: () => void): 'committed' | 'NoSpace' | 'power cut' {
  try {
    fn();
    return 'committed';
  } catch (error) {
    if (error instanceof DatabaseError && error.code === 'NoSpace') return 'NoSpace';
    if (error instanceof PowerLossError) return 'power cut';
    throw error;
  }
}

/** A copy of the card, as if its image were copied sector by sector. */
function clone(sd: SdCard, sectorCount = sd.sectorCount): SdCard {
  const copy = new SdCard({ sectorCount });
  for (let s = 0; s < Math.min(sectorCount, sd.sectorCount); s += 64) {
    const n = Math.min(64, sectorCount - s, sd.sectorCount - s);
    copy.write(s, sd.read(s, n));
  }
  copy.sync();
  return copy;
}

/** Writes `bytes` at byte offset `at` of the card, sector-aligned underneath. */
function poke(sd: SdCard, at: number, bytes: Uint8Array): void {
  const first = Math.floor(at / 512);
  const last = Math.floor((at + bytes.length - 1) / 512);
  const buf = sd.read(first, last - first + 1);
  buf.set(bytes, at - first * 512);
  sd.write(first, buf);
  sd.sync();
}

function peek(sd: SdCard, at: number, length: number): Uint8Array {
  const first = Math.floor(at / 512);
  const last = Math.floor((at + length - 1) / 512);
  return sd.read(first, last - first + 1).slice(at - first * 512, at - first * 512 + length);
}

/** The rows of a connection, as one string to compare. */
function rows(d: Database): string {
  return JSON.stringify(d.exec('SELECT id, length(v), hex(substr(v, 1, 4)) FROM t ORDER BY id'));
}

function contents(db: EncryptedDatabase): string {
  return db.read(rows);
}

/** The database on `sd` (tracked: closed when the run ends), or the code it is refused with. */
async function openOrRefusal(device: DatabaseDevice, sd: SdCard): Promise<EncryptedDatabase | string> {
  try {
    return track(await EncryptedDatabase.open(device, sd));
  } catch (error) {
    if (error instanceof DatabaseError) return error.code;
    throw error;
  }
}

async function reopenCode(device: DatabaseDevice, sd: SdCard): Promise<string> {
  const opened = await openOrRefusal(device, sd);
  return typeof opened === 'string' ? opened : 'ok';
}

describe('encrypted database', () => {
  test('random transactions persist exactly: reopening shows the same rows', async () => {
    await progress.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 12 }),
        closing(async (steps) => {
          const { device, sd, db } = await fresh();
          steps.forEach((s, i) => applyStep(db, s, i + 1));
          const again = track(await EncryptedDatabase.open(device, sd));
          expect(contents(again)).toBe(contents(db));
          expect(again.generation).toBe(db.generation);
          progress.ran(steps.length);
        }),
      ),
      progress.params<[Step[]]>(40, ([steps]) => stepsText(steps)),
    );
  });

  test('any flipped bit in the pages or manifests in use is detected', async () => {
    await progress.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.nat(7),
        closing(async (steps, where, bit) => {
          const { device, sd, db } = await fresh();
          steps.forEach((s, i) => applyStep(db, s, i + 1));
          // Flip one bit somewhere in what the committed database reads: its manifest or a page in use.
          const pageCount = db.read((d) => Number(d.exec('PRAGMA page_count')[0]?.values[0]?.[0]));
          const { manifestSectors, pagesStart } = cardLayout(SECTORS);
          const current = db.generation % 2;
          // Each with its name: the counterexample's `where` only picks one, and the label says which.
          const targets: Array<{ at: number; name: string }> = [];
          for (let s = 0; s < manifestSectors; s++) {
            targets.push({ at: (current * manifestSectors + s) * 512, name: `sector ${s} of the manifest in use` });
          }
          const pageSlots = Array.from({ length: pageCount }, (_, p) => p);
          for (const p of pageSlots) {
            for (const slot of [0, 1]) {
              const at = (pagesStart + (2 * p + slot) * PAGE_SECTORS) * 512;
              targets.push({ at, name: `the first sector of page ${p}'s slot ${slot}` });
            }
          }
          const target = targets[where % targets.length] as { at: number; name: string };
          const offset = target.at + ((where >> 4) % 512);
          const card = clone(sd);
          poke(card, offset, Uint8Array.of((peek(card, offset, 1)[0] as number) ^ (1 << bit)));
          const flipped = `bit ${bit} of byte ${offset - target.at} of ${target.name} flipped`;
          const reopened = await openOrRefusal(device, card);
          // A flip in the unused shadow slot is harmless; anywhere else it is caught, never misread.
          if (typeof reopened === 'string') expect(['Tampered', 'RolledBack', 'Corrupt'], flipped).toContain(reopened);
          else expect(contents(reopened), `${flipped}: the rows read back`).toBe(contents(db));
          // The steps, and the reopen of the card with the flipped bit.
          progress.ran(steps.length + 1);
        }),
      ),
      progress.params<[Step[], number, number]>(
        60,
        ([steps]) => `${stepsText(steps)}\nthen one bit flipped in a copy of the card (the error says which)`,
      ),
    );
  });

  test('swapped pages, truncation and an older copy are refused', async () => {
    const { device, sd, db } = await fresh();
    for (let i = 0; i < 6; i++) applyStep(db, { kind: 'insert', id: i, size: 3000 }, i);
    const old = clone(sd);
    applyStep(db, { kind: 'update', id: 2, size: 10 }, 99);
    const { pagesStart } = cardLayout(SECTORS);
    const slotBytes = PAGE_SECTORS * 512;
    // Swap the records of pages 1 and 2 in both slots.
    const swapped = clone(sd);
    for (const slot of [0, 1]) {
      const a = (pagesStart + (2 * 1 + slot) * PAGE_SECTORS) * 512;
      const b = (pagesStart + (2 * 2 + slot) * PAGE_SECTORS) * 512;
      const ra = peek(sd, a, slotBytes);
      const rb = peek(sd, b, slotBytes);
      poke(swapped, a, rb);
      poke(swapped, b, ra);
    }
    expect(await reopenCode(device, swapped)).toBe('Tampered');
    // An old version of a page that the last commit changed, mixed into the current copy.
    const mixed = clone(sd);
    let mixedPages = 0;
    for (let p = 0; p < 64; p++) {
      for (const slot of [0, 1]) {
        const at = (pagesStart + (2 * p + slot) * PAGE_SECTORS) * 512;
        const then = peek(old, at, slotBytes);
        if (then.some((b, i) => b !== peek(sd, at, slotBytes)[i])) {
          poke(mixed, at, then);
          mixedPages += 1;
        }
      }
    }
    expect(mixedPages).toBeGreaterThan(0);
    expect(await reopenCode(device, mixed)).toBe('Tampered');
    const truncated = clone(sd, pagesStart + 3 * PAGE_SECTORS);
    expect(['Corrupt', 'Tampered']).toContain(await reopenCode(device, truncated));
    expect(await reopenCode(device, old)).toBe('RolledBack');
    expect(await reopenCode(device, clone(sd))).toBe('ok');
  });

  test('an older authentic record of a page, in the slot the manifest names, is refused', async () => {
    const { device, sd, db } = await fresh();
    for (let i = 0; i < 4; i++) applyStep(db, { kind: 'insert', id: i, size: 500 }, i);
    const { pagesStart } = cardLayout(SECTORS);
    const slotBytes = PAGE_SECTORS * 512;
    const record = (card: SdCard, page: number, slot: number) =>
      peek(card, (pagesStart + (2 * page + slot) * PAGE_SECTORS) * 512, slotBytes);
    const differs = (a: SdCard, b: SdCard, page: number) =>
      [0, 1].some((slot) => !bytesEqual(record(a, page, slot), record(b, page, slot)));
    // Two commits that both change the page of row 1: a page's slots alternate, so the second writes
    // the slot that held the page's record before the first, which the manifest now names.
    const twoBack = clone(sd);
    applyStep(db, { kind: 'update', id: 1, size: 20 }, 10);
    const oneBack = clone(sd);
    applyStep(db, { kind: 'update', id: 1, size: 30 }, 11);
    const page = Array.from({ length: 64 }, (_, p) => p).find(
      (p) => differs(twoBack, oneBack, p) && differs(oneBack, sd, p),
    );
    expect(page).toBeDefined();
    const mixed = clone(sd);
    for (const slot of [0, 1]) {
      poke(
        mixed,
        (pagesStart + (2 * (page as number) + slot) * PAGE_SECTORS) * 512,
        record(twoBack, page as number, slot),
      );
    }
    // That record is authentic (sealed by this device, under its own page number and generation):
    // only the manifest's digest over every page's generation and tag tells it from the current one.
    expect(await reopenCode(device, mixed)).toBe('Tampered');
    expect(await reopenCode(device, clone(sd))).toBe('ok');
  });

  test('every earlier card image is refused, images of interrupted commits included', async () => {
    // Each event commits a step; an interrupted one loses power after its manifest is on the card and
    // before the counter advanced, the card imaged in that window, and then goes on with that card
    // (the reopen completes the commit) or with the card as it was before the commit (the attempt is
    // abandoned, and the next commit of that generation is another attempt). A plain SQLite database
    // (no pages, no device) says what the rows must be.
    await progress.assert(
      fc.asyncProperty(
        fc.array(fc.record({ step: stepArb, interrupted: fc.boolean(), putBack: fc.boolean() }), {
          minLength: 1,
          maxLength: 8,
        }),
        closing(async (events) => {
          const device = new SoftDatabaseDevice();
          let { sd, db } = await fresh(device);
          const shadow = await openSqlite();
          try {
            shadow.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
            // Images by the simulator's snapshot (`SdCard.clone`), of a synced card: the sectors a copy would give.
            const seen: SdCard[] = [sd.clone()];
            // What each image is, for the messages: its number alone says nothing to a reader.
            const named = ['image 0 (the new database)'];
            let opens = 0;
            for (const [i, event] of events.entries()) {
              const committed = rows(shadow);
              const generation = db.generation;
              shadow.run('BEGIN');
              runStep(shadow, event.step, i + 1);
              const next = rows(shadow);
              shadow.run(event.interrupted && event.putBack ? 'ROLLBACK' : 'COMMIT');
              if (!event.interrupted) {
                applyStep(db, event.step, i + 1);
                expect(contents(db)).toBe(next);
                named.push(`image ${seen.length} (after event ${i + 1})`);
                seen.push(sd.clone());
                continue;
              }
              const card = sd.clone();
              device.cutBeforeNextCounter = true;
              let cut = false;
              try {
                applyStep(db, event.step, i + 1);
              } catch (error) {
                expect(String(error)).toMatch(/power cut/);
                cut = true;
              }
              if (!cut) {
                // A step that changes no page commits nothing (`PageStore.commit`): no manifest, no
                // counter, so no window for the cut; the rows are the committed ones either way.
                device.cutBeforeNextCounter = false;
                expect([next, contents(db), db.generation]).toEqual([committed, committed, generation]);
                continue;
              }
              const window = sd.clone();
              named.push(`image ${seen.length} (imaged during event ${i + 1}'s interrupted commit)`);
              seen.push(window);
              // While the commit is pending, every image opens to the committed rows or to this commit's, or is
              // refused; the window's opens to this commit's (read only: the probe completes nothing).
              for (const [n, image] of seen.entries()) {
                const opened = await openOrRefusal(readOnlyView(device), image);
                opens += 1;
                const label = `while event ${i + 1}'s commit is pending: ${named[n]}`;
                if (image === window) expect(typeof opened === 'string' ? opened : contents(opened), label).toBe(next);
                else if (typeof opened !== 'string') expect([committed, next], label).toContain(contents(opened));
              }
              if (event.putBack) sd = card;
              db = track(await EncryptedDatabase.open(device, sd));
              expect(contents(db), event.putBack ? 'the attempt abandoned' : 'the commit completed').toBe(
                event.putBack ? committed : next,
              );
              expect(db.generation, 'the generation opened').toBe(event.putBack ? generation : generation + 1);
              expect(device.committedGeneration(), "the device's counter, after the open").toBe(db.generation);
            }
            // One more commit: the device is now past every image seen, the window of the last event included.
            applyStep(db, { kind: 'insert', id: 999, size: 3 }, 0);
            for (const [n, image] of seen.entries()) {
              expect(await reopenCode(device, image), `${named[n]}, after one more commit`).toBe('RolledBack');
            }
            expect(contents(track(await EncryptedDatabase.open(device, sd.clone())))).toBe(contents(db));
            progress.ran(events.length + opens + seen.length + 1);
          } finally {
            shadow.close();
          }
        }),
      ),
      progress.params<[CommitEvent[]]>(
        30,
        ([events]) =>
          `events, each a commit:\n${eventsText(events)}\n` +
          'then one more commit: every image taken (image 0 the new database) must be refused RolledBack',
      ),
    );
  });

  test('a card from another device does not open', async () => {
    const a = await fresh();
    const b = new SoftDatabaseDevice();
    b.commitGeneration(a.db.generation);
    expect(await reopenCode(b, clone(a.sd))).toBe('Tampered');
  });

  test('a power cut at every SD write and sync of a commit leaves the state before or after', async () => {
    await progress.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 5 }),
        stepArb,
        fc.integer({ min: 1, max: 2 ** 31 }),
        closing(async (steps, last, seed) => {
          const probe = await fresh();
          steps.forEach((s, i) => applyStep(probe.db, s, i + 1));
          const before = contents(probe.db);
          const writesBefore = probe.sd.stats().writes;
          const generation = probe.db.generation;
          applyStep(probe.db, last, 200);
          const after = contents(probe.db);
          const writes = probe.sd.stats().writes - writesBefore;
          if (probe.db.generation === generation) {
            // A step that changes no page commits nothing (`PageStore.commit`): no write or sync to cut.
            // Checked, then not counted as a run: a third of the draws (a delete of a missing row) would
            // otherwise cut nothing.
            expect([after, writes]).toEqual([before, 0]);
            fc.pre(false);
          }
          // Cut at every write of the commit, and at each of its two syncs.
          const cuts = [
            ...Array.from({ length: writes }, (_, i) => ({ kind: 'write' as const, n: i + 1 })),
            { kind: 'sync' as const, n: 1 },
            { kind: 'sync' as const, n: 2 },
          ];
          for (const cut of cuts) {
            const run = await fresh(new SoftDatabaseDevice(), seed);
            steps.forEach((s, i) => applyStep(run.db, s, i + 1));
            if (cut.kind === 'write') run.sd.cutPowerAfter(cut.n);
            else run.sd.cutPowerAtSync(cut.n);
            expect(() => applyStep(run.db, last, 200)).toThrow();
            expect(() => run.db.read(() => 0), 'a database that lost power must be reopened').toThrow(/reopened/);
            run.sd.powerOn();
            const reopened = track(await EncryptedDatabase.open(run.device, run.sd));
            const seen = contents(reopened);
            expect([before, after], `cut at ${cut.kind} #${cut.n}`).toContain(seen);
            // And the database keeps working from there.
            applyStep(reopened, { kind: 'insert', id: 1000, size: 5 }, 1);
            expect(track(await EncryptedDatabase.open(run.device, run.sd)).generation).toBe(reopened.generation);
          }
          progress.ran(steps.length + 1 + cuts.length);
        }),
      ),
      progress.params<[Step[], Step, number]>(25, ([steps, last, seed]) => {
        const torn = ` (torn writes drawn from card seed ${seed})`;
        return `${stepsText(steps)}\n${cutStepText(steps, last, 'SD write and sync', torn)}`;
      }),
    );
  });

  test('the same holds on the HSM: a power cut at every flash and SD write of a commit', async () => {
    await progress.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 3 }),
        stepArb,
        closing(async (steps, last) => {
          const setup = async (seed: string) => {
            const sd = new SdCard({ sectorCount: SECTORS, seed: 3 });
            const t = makeDevice(seed, { sdcard: sd });
            t.device.login('user', USER_PIN);
            const db = track(await EncryptedDatabase.create(secubeDatabaseDevice(t.device), sd));
            db.transaction((d) => d.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)'));
            steps.forEach((s, i) => applyStep(db, s, i + 1));
            return { ...t, sd, db };
          };
          const probe = await setup('probe');
          const before = contents(probe.db);
          const flashOpsOf = () =>
            probe.flash.stats().programCalls + probe.flash.stats().erases.reduce((a, b) => a + b, 0);
          const flashOps = flashOpsOf();
          const sdWrites = probe.sd.stats().writes;
          applyStep(probe.db, last, 200);
          const after = contents(probe.db);
          const flashCuts = flashOpsOf() - flashOps;
          const sdCuts = probe.sd.stats().writes - sdWrites;
          if (after === before && flashCuts === 0) {
            // A step that changes no page commits nothing (`PageStore.commit`): no write of either kind.
            // Checked, then not counted as a run (as above).
            expect(sdCuts).toBe(0);
            fc.pre(false);
          }
          expect(flashCuts, 'the commit advances the generation counter in flash').toBeGreaterThan(0);
          const cuts = [
            ...Array.from({ length: flashCuts }, (_, i) => ({ where: 'flash' as const, n: i + 1 })),
            ...Array.from({ length: sdCuts }, (_, i) => ({ where: 'sd' as const, n: i + 1 })),
          ];
          for (const cut of cuts) {
            const run = await setup('probe');
            if (cut.where === 'flash') run.flash.cutPowerAfter(cut.n);
            else run.sd.cutPowerAfter(cut.n);
            expect(() => applyStep(run.db, last, 200)).toThrow();
            run.device.cutPower();
            run.device.powerOn();
            run.device.login('user', USER_PIN);
            const reopened = track(await EncryptedDatabase.open(secubeDatabaseDevice(run.device), run.sd));
            expect([before, after], `cut at ${cut.where} op #${cut.n}`).toContain(contents(reopened));
          }
          progress.ran(steps.length + 1 + cuts.length);
        }),
      ),
      progress.params<[Step[], Step]>(
        6,
        ([steps, last]) => `${stepsText(steps)}\n${cutStepText(steps, last, 'flash operation and SD write')}`,
      ),
    );
  });
  test('a card out of space refuses the commit and changes nothing; deleting rows makes room again', async () => {
    const newPages = await freshPages();
    // What the runs covered, checked after them: a property whose cards never fill would pass vacuously.
    const covered = { runs: 0, refused: 0, committedAfterRefusal: 0 };
    await progress.assert(
      fc.asyncProperty(
        fc.nat(10),
        fc.array(spaceEventArb, { minLength: 1, maxLength: 10 }),
        closing(async (slack, events) => {
          const maxPages = newPages + slack;
          const device = new SoftDatabaseDevice();
          const created = await fresh(device, 7, cardOfPages(maxPages));
          const { sd } = created;
          let { db } = created;
          expect(cardLayout(sd.sectorCount).maxPages).toBe(maxPages);
          // The model: the committed image, in a plain SQLite apart from the card. It starts from what
          // the card holds once created, and each event runs on a copy of it: whether the transaction's
          // database fits (its page count against the card's), and what rows it leaves.
          let model = PageStore.open(readOnlyView(device), sd).image;
          let committed = contents(db);
          // The events that committed, in order, with their tags (the bytes their rows are filled with).
          const kept: Array<{ step: SpaceStep; tag: number }> = [];
          let refused = 0;
          let reopens = 0;
          for (const [i, { step, cutAtWrite }] of events.entries()) {
            const tag = i + 1;
            const scratch = await openSqlite(model);
            let needs: number;
            let next: string;
            let nextImage: Uint8Array | null;
            try {
              scratch.run('BEGIN');
              runSpaceStep(scratch, step, tag);
              scratch.run('COMMIT');
              needs = pageCount(scratch);
              next = rows(scratch);
              nextImage = needs <= maxPages ? scratch.export() : null;
            } finally {
              scratch.close();
            }
            const pages = `its database is ${needs} pages, the card holds ${maxPages}`;
            const label = `event ${tag} (${spaceStepText(step)}): ${pages}`;
            const before = {
              rows: committed,
              generation: db.generation,
              counter: device.committedGeneration(),
              intent: device.commitIntent(),
              writes: sd.stats().writes,
              mustReopen: false,
            };
            if (cutAtWrite !== null) sd.cutPowerAfter(cutAtWrite);
            const outcome = outcomeOf(() => db.transaction((d) => runSpaceStep(d, step, tag)));
            sd.cancelPowerCut();
            if (nextImage === null) {
              // Refused before anything is written (the page count is checked first in `PageStore.commit`):
              // no page, no manifest, no commit intent spent, so an armed cut never comes; and memory is
              // the committed image again (`EncryptedDatabase`'s NoSpace path), still usable.
              expect(outcome, label).toBe('NoSpace');
              const after = {
                rows: contents(db),
                generation: db.generation,
                counter: device.committedGeneration(),
                intent: device.commitIntent(),
                writes: sd.stats().writes,
                mustReopen: db.mustReopen,
              };
              expect(
                after,
                `${label}: refused, so nothing may change, in memory, on the card or in the device`,
              ).toEqual(before);
              const reopened = await openOrRefusal(readOnlyView(device), sd);
              reopens += 1;
              expect(typeof reopened === 'string' ? reopened : contents(reopened), `${label}: the card reopened`).toBe(
                committed,
              );
              refused += 1;
              continue;
            }
            if (outcome === 'power cut') {
              sd.powerOn();
              db = track(await EncryptedDatabase.open(device, sd));
              reopens += 1;
              const seen = contents(db);
              expect(
                [committed, next],
                `${label}: reopened after the power cut at its SD write #${cutAtWrite}`,
              ).toContain(seen);
              if (seen !== next) continue;
            } else {
              expect(outcome, label).toBe('committed');
              expect(contents(db), `${label}: the rows committed`).toBe(next);
            }
            expect(db.read(pageCount), `${label}: the pages committed`).toBe(needs);
            if (refused > 0) covered.committedAfterRefusal += 1;
            model = nextImage;
            committed = next;
            kept.push({ step, tag });
          }
          expect(contents(track(await EncryptedDatabase.open(readOnlyView(device), sd))), 'the card reopened').toBe(
            committed,
          );
          // Deleting makes room again. `auto_vacuum = FULL` (`sqlite.ts`) returns the pages of deleted rows
          // by truncating the image at each commit, and whether a commit fits depends on nothing but the
          // page count of its image (`PageStore.commit`: each page has its own pair of slots on the card,
          // so nothing is allocated, and a refused commit leaves nothing behind that a later one could
          // lack). So, every row deleted, the database is as small as when new, and the transactions that
          // committed commit again, in the same order, to the same rows: none was refused then, none now.
          db.transaction((d) => d.run('DELETE FROM t'));
          expect(db.read(pageCount), 'every row deleted: the pages of a new database').toBe(newPages);
          for (const { step, tag } of kept) {
            const again = `every row deleted, then event ${tag} (${spaceStepText(step)}) again`;
            expect(
              outcomeOf(() => db.transaction((d) => runSpaceStep(d, step, tag))),
              again,
            ).toBe('committed');
          }
          expect(contents(db), 'the events that committed, committed again').toBe(committed);
          expect(contents(track(await EncryptedDatabase.open(device, sd))), 'the card reopened at the end').toBe(
            committed,
          );
          covered.runs += 1;
          if (refused > 0) covered.refused += 1;
          // The transactions, the reopens, then the delete, the replays and the two reopens at the end.
          progress.ran(events.length + reopens + 1 + kept.length + 2);
        }),
      ),
      progress.params<[number, SpaceEvent[]]>(40, ([slack, events]) =>
        spaceEventsText(newPages + slack, slack, events),
      ),
    );
    // About half the runs are refused a commit (336 of 600 random runs); a fifth of 40 or more is a
    // floor no seed falls to by chance, and a change that left the cards roomy would.
    if (!replaying() && covered.runs >= 40) {
      expect(covered.refused, 'runs in which a commit was refused for want of space').toBeGreaterThan(covered.runs / 5);
      expect(covered.committedAfterRefusal, 'commits after a refusal').toBeGreaterThan(0);
    }
  });
});
