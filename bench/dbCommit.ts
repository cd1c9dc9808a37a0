/**
 * Encrypted database bench: what one single-row commit costs ours (device-sealed shadow pages, only
 * changed pages rewritten), the original SEkey (SQLite through its SEcureDB VFS, DELETE journal; a
 * model, and a lower bound) and a hypothetical whole-file design (the whole `export()`
 * image re-encrypted and rewritten on every commit: neither the original's design nor ours, the
 * naive way to encrypt a SQLite database), at about 1 MiB and 10 MiB of data, in the same run, on
 * the same simulated HSM and card model.
 *
 * The data is the schema's own tables as an installation fills them, in the shape: groups of
 * 20 members, two users a group (so a user in ten groups), each group with four live keys held by its
 * members, and the keys of earlier rotations destroyed but kept as records, as many as bring the
 * database to its size (1 MiB: 100 users; 10 MiB: 1,000 users, the issue's). Three commits are
 * measured, each changing one row of a populated table: a new key (`insert` into `keys`, as `add-key`
 * writes it), a key's activation (`update` of its row) and a member removed from a group (`delete`
 * from `memberships`).
 *
 * Measured per commit: bytes the HSM encrypted, bytes written to the card, and modelled HSM cycles
 * (AES-GCM, TRNG nonce, flash counter, and the card charged per command) from the device's cost model.
 * The original is modelled on the pages the same commit changed in the same SQLite image. The
 * whole-file baseline is carried out for real after each commit (the image sealed by the same HSM
 * under the same key and written to a card of the same model, its anti-rollback counter advanced in
 * the same flash), not estimated.
 * @module
 */
import { Manufacturer } from '../device/attestation.ts';
import { utf8 } from '../device/binaryCodec.ts';
import { CycleMeter } from '../device/costModel.ts';
import { Flash } from '../device/flash.ts';
import { SD_SECTOR_SIZE, SdCard } from '../device/sdcard.ts';
import { SecubeDevice } from '../device/secube.ts';
import { EncryptedDatabase } from '../impl/db/encryptedDatabase.ts';
import { PAGE_SIZE } from '../impl/db/pageStore.ts';
import { secubeDatabaseDevice } from '../impl/db/secubeDatabaseDevice.ts';
import type { Database } from '../impl/db/sqlite.ts';
import type { BenchContext, BenchModule, BenchOutput } from './benchModule.ts';
import { OriginalDatabaseModel, changedPages } from './originalDatabase.ts';
import type { OriginalCommitCost } from './originalDatabase.ts';

/** The simulated factory of the bench's HSMs (deterministic, so runs are reproducible). */
const BENCH_MANUFACTURER = Manufacturer.generate('bench');

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;
const CRYPTOPERIOD_MS = 30 * DAY_MS;
const T0 = Date.UTC(2026, 0, 1);
/** Members of a group (the issue's). */
export const GROUP_SIZE = 20;
/** Live keys of a group: its `maxKeys`, as the device-wear bench's rotated group. */
export const LIVE_KEYS_PER_GROUP = 4;
/** Destroyed keys inserted between two size checks: the database overshoots its size by less than this. */
const KEY_BATCH = 250;

/** The databases measured: their size and the users of the installation that fills them. */
export const SIZES = {
  mib1: { bytes: MIB, users: 100 },
  mib10: { bytes: 10 * MIB, users: 1000 },
} as const;

/** The commits measured, each one row of a populated table. */
export const COMMIT_KINDS = ['insert', 'update', 'delete'] as const;
export type CommitKind = (typeof COMMIT_KINDS)[number];

/** What one commit cost one design. */
export interface CommitCost {
  readonly bytesEncrypted: number;
  readonly bytesWritten: number;
  readonly cycles: number;
}

/** What the installation holds, per table. */
export interface Installation {
  readonly users: number;
  readonly groups: number;
  readonly memberships: number;
  readonly liveKeys: number;
  readonly keyHolders: number;
  readonly keys: number;
}

/** One measured commit: the row it changes, the rows of that table before it, and each design's cost. */
export interface MeasuredCommit {
  readonly kind: CommitKind;
  readonly statement: string;
  readonly table: string;
  readonly rowsBefore: number;
  readonly pagesChanged: number;
  readonly ours: CommitCost;
  /** The original SEkey's commit of the same change, modelled: a lower bound. */
  readonly original: OriginalCommitCost;
  /** Hypothetical: the whole image re-encrypted and rewritten. */
  readonly wholeFile: CommitCost;
}

const keyId = (n: number): string => `K${2000 + n}`;
const userId = (n: number): string => `U${String(n + 1).padStart(4, '0')}`;
const groupId = (n: number): string => `G${String(n + 1).padStart(4, '0')}`;

type KeyState = 'preActivation' | 'active' | 'deactivated' | 'destroyed';

/** A key row as the admin writes it (`writeKey`): its columns and its lifecycle history as JSON. */
function keyRow(n: number, group: number, state: KeyState): (string | number | null)[] {
  const created = T0 + n * 60_000;
  const activated = state === 'preActivation' ? null : created + 1000;
  const deactivated = state === 'deactivated' || state === 'destroyed' ? created + 2000 : null;
  const destroyed = state === 'destroyed' ? created + 3000 : null;
  const history = [
    ...(activated === null ? [] : [{ type: 'ACTIVATE', now: activated }]),
    ...(deactivated === null ? [] : [{ type: 'DEACTIVATE', now: deactivated }]),
    ...(destroyed === null ? [] : [{ type: 'DESTROY', now: destroyed }]),
  ];
  return [
    keyId(n),
    `key ${n} of ${groupId(group)}`,
    groupId(group),
    'AES-256-GCM',
    state,
    CRYPTOPERIOD_MS,
    created,
    activated,
    activated === null ? null : activated + CRYPTOPERIOD_MS,
    deactivated,
    destroyed,
    JSON.stringify(history),
  ];
}

const INSERT_KEY =
  'INSERT INTO keys (id, name, owner_group, algorithm, state, cryptoperiod_ms, created_at, activated_at, ' +
  'expires_at, deactivated_at, destroyed_at, lifecycle) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

function databaseBytes(d: Database): number {
  const value = (sql: string): number => Number(d.exec(sql)[0]?.values[0]?.[0]);
  return value('PRAGMA page_count') * value('PRAGMA page_size');
}

/**
 * Fills the schema's tables as an installation of `users` users would: groups of {@link GROUP_SIZE},
 * {@link LIVE_KEYS_PER_GROUP} live keys a group held by its members, then destroyed keys until the
 * database reaches `bytes`. One transaction, so one commit.
 */
export function populate(db: EncryptedDatabase, users: number, bytes: number): Installation {
  const groups = users / 2;
  return db.transaction((d) => {
    const run = (sql: string, rows: Iterable<(string | number | null)[]>): number => {
      const stmt = d.prepare(sql);
      let n = 0;
      try {
        for (const row of rows) {
          stmt.run(row);
          n++;
        }
      } finally {
        stmt.free();
      }
      return n;
    };
    function* range<T>(n: number, f: (i: number) => T): Generator<T> {
      for (let i = 0; i < n; i++) yield f(i);
    }
    run(
      'INSERT INTO users (id, name) VALUES (?, ?)',
      range(users, (u) => [userId(u), `member ${u + 1}`]),
    );
    run(
      'INSERT INTO kms_groups (id, name, max_keys, algorithm, default_cryptoperiod_ms, share_history) ' +
        'VALUES (?, ?, ?, ?, ?, 0)',
      range(groups, (g) => [groupId(g), `group ${g + 1}`, LIVE_KEYS_PER_GROUP, 'AES-256-GCM', CRYPTOPERIOD_MS]),
    );
    const member = (g: number, m: number): string => userId((2 * g + m * 7) % users);
    const memberships = run(
      'INSERT INTO memberships (group_id, user_id) VALUES (?, ?)',
      range(groups * GROUP_SIZE, (i) => [
        groupId(Math.floor(i / GROUP_SIZE)),
        member(Math.floor(i / GROUP_SIZE), i % GROUP_SIZE),
      ]),
    );
    const states: readonly KeyState[] = ['deactivated', 'deactivated', 'active', 'preActivation'];
    let keys = 0;
    for (let g = 0; g < groups; g++)
      for (const state of states) {
        run(INSERT_KEY, [keyRow(keys, g, state)]);
        const id = keyId(keys);
        run(
          'INSERT INTO key_holders (key_id, user_id) VALUES (?, ?)',
          range(GROUP_SIZE, (m) => [id, member(g, m)]),
        );
        keys++;
      }
    const liveKeys = keys;
    while (databaseBytes(d) < bytes) {
      const first = keys;
      keys += run(
        INSERT_KEY,
        range(KEY_BATCH, (i) => keyRow(first + i, (first + i) % groups, 'destroyed')),
      );
    }
    return { users, groups, memberships, liveKeys, keyHolders: liveKeys * GROUP_SIZE, keys };
  });
}

/** The three commits, on an installation of `groups` groups holding `keys` keys. */
function commits(
  installation: Installation,
): { kind: CommitKind; table: string; statement: string; params: (string | number | null)[] }[] {
  // A group in the middle of the tables, not at an end.
  const g = Math.floor(installation.groups / 2);
  // Its preActivation key (the fourth of its live keys).
  const pending = g * LIVE_KEYS_PER_GROUP + LIVE_KEYS_PER_GROUP - 1;
  const activated = T0 + installation.keys * 60_000;
  return [
    { kind: 'insert', table: 'keys', statement: INSERT_KEY, params: keyRow(installation.keys, g, 'preActivation') },
    {
      kind: 'update',
      table: 'keys',
      statement: "UPDATE keys SET state = 'active', activated_at = ?, expires_at = ?, lifecycle = ? WHERE id = ?",
      params: [
        activated,
        activated + CRYPTOPERIOD_MS,
        JSON.stringify([{ type: 'ACTIVATE', now: activated }]),
        keyId(pending),
      ],
    },
    {
      kind: 'delete',
      table: 'memberships',
      statement: 'DELETE FROM memberships WHERE group_id = ? AND user_id = ?',
      params: [groupId(g), userId((2 * g + 7 * (GROUP_SIZE - 1)) % installation.users)],
    },
  ];
}

/** Fills a database of `size` on a fresh simulated HSM and card, then measures the three commits. */
export async function measure(
  size: { readonly bytes: number; readonly users: number },
  context: BenchContext,
): Promise<{ installation: Installation; dbBytes: number; commits: MeasuredCommit[] }> {
  const meter = new CycleMeter();
  const flash = new Flash({ meter, seed: 1 });
  const device = new SecubeDevice({ flash, meter, seed: 'db-bench', pinIterations: 10 });
  device.factoryInit({ userPin: 'user', adminPin: 'admin', manufacturer: BENCH_MANUFACTURER });
  device.login('admin', 'admin');
  const sd = new SdCard({ sectorCount: Math.ceil((2.3 * size.bytes) / SD_SECTOR_SIZE) + 4096, meter });
  // The whole-file design's card: the same model, charged to the same meter.
  const wholeCard = new SdCard({ sectorCount: Math.ceil((1.2 * size.bytes) / SD_SECTOR_SIZE) + 4096, meter });
  const dbDevice = secubeDatabaseDevice(device);
  const db = await EncryptedDatabase.create(dbDevice, sd);
  context.progress(`filling a ${(size.bytes / MIB).toFixed(0)} MiB database (${size.users} users)`);
  const installation = populate(db, size.users, size.bytes);
  const dbBytes = db.read(databaseBytes);
  const original = new OriginalDatabaseModel(meter, 1.1 * size.bytes, PAGE_SIZE);
  // The original's file as the installation left it: its first commit would journal nothing.
  original.commit(new Uint8Array(0), db.hostImage);
  const measured: MeasuredCommit[] = [];
  // The whole-file design's counter, advanced once before anything is measured: a counter's first
  // advance saves a whole record, later ones a journal entry, as the database generation's already did.
  let wholeGeneration = 1;
  device.counterAdvance('bench.wholeFile', wholeGeneration);
  for (const c of commits(installation)) {
    const rowsBefore = db.read((d) => Number(d.exec(`SELECT count(*) FROM ${c.table}`)[0]?.values[0]?.[0]));
    const before = db.hostImage;
    const c0 = meter.cycles;
    db.transaction((d) => d.run(c.statement, c.params));
    const stats = db.lastCommit;
    if (stats === null || stats.pagesWritten === 0) throw new Error(`the ${c.kind} commit wrote nothing`);
    const ours = {
      bytesEncrypted: stats.bytesEncrypted,
      bytesWritten: stats.bytesWritten,
      cycles: Math.round(meter.cycles - c0),
    };
    // Whole file: the image after the same commit, sealed whole and written, its generation advanced.
    const image = db.hostImage;
    const c1 = meter.cycles;
    const w0 = wholeCard.stats().bytesWritten;
    const sealed = dbDevice.seal(image, utf8('whole-file baseline'));
    const padded = new Uint8Array(Math.ceil(sealed.length / SD_SECTOR_SIZE) * SD_SECTOR_SIZE);
    padded.set(sealed);
    wholeCard.write(0, padded);
    wholeCard.sync();
    wholeGeneration += 1;
    device.counterAdvance('bench.wholeFile', wholeGeneration);
    const wholeFile = {
      bytesEncrypted: image.length,
      bytesWritten: wholeCard.stats().bytesWritten - w0,
      cycles: Math.round(meter.cycles - c1),
    };
    measured.push({
      kind: c.kind,
      table: c.table,
      statement: c.statement,
      rowsBefore,
      pagesChanged: changedPages(before, image, PAGE_SIZE).length,
      ours,
      original: original.commit(before, image),
      wholeFile,
    });
  }
  db.close();
  return { installation, dbBytes, commits: measured };
}

/** The database commit bench. */
export const dbCommitBench: BenchModule = {
  name: 'db-commit',
  summary: 'one-row database commits at 1 and 10 MiB: bytes, cycles; vs the original, and a whole-file re-encryption',
  section: 'db',
  async run(context): Promise<BenchOutput> {
    const sizes = context.quick ? { mib1: SIZES.mib1 } : SIZES;
    const commit: Record<string, unknown> = {};
    const installations: Record<string, unknown> = {};
    const databaseBytesBySize: Record<string, number> = {};
    const table: string[][] = [];
    for (const [label, size] of Object.entries(sizes)) {
      const r = await measure(size, context);
      installations[label] = r.installation;
      databaseBytesBySize[label] = r.dbBytes;
      const byKind: Record<string, unknown> = {};
      for (const m of r.commits) {
        const ratio = (other: number, ours: number): number => Number((other / ours).toFixed(1));
        const over = (other: CommitCost) => ({
          written: ratio(other.bytesWritten, m.ours.bytesWritten),
          encrypted: ratio(other.bytesEncrypted, m.ours.bytesEncrypted),
          cycles: ratio(other.cycles, m.ours.cycles),
        });
        byKind[m.kind] = {
          table: m.table,
          rowsBefore: m.rowsBefore,
          pagesChanged: m.pagesChanged,
          ours: m.ours,
          original: m.original,
          originalOverOurs: over(m.original),
          wholeFile: m.wholeFile,
          wholeFileOverOurs: over(m.wholeFile),
        };
        table.push([
          `${label} ${m.kind} (${m.table}, ${m.rowsBefore} rows): written B / cycles`,
          `${m.ours.bytesWritten} / ${m.ours.cycles}`,
          `${m.original.bytesWritten} / ${m.original.cycles}`,
          `${m.wholeFile.bytesWritten} / ${m.wholeFile.cycles}`,
        ]);
      }
      commit[label] = byKind;
    }
    const data = {
      commit,
      installation: installations,
      databaseBytes: databaseBytesBySize,
      commitMethod:
        "the schema's tables filled as an installation fills them (groups of 20, two users a group, 4 live keys " +
        'a group held by its members, destroyed keys up to the size); each commit changes one row of a populated ' +
        'table: insert = a new key row, update = a key activated, delete = a membership removed; cycles include ' +
        'the card, charged per command. original: the original SEkey (SQLite through its SEcureDB VFS: 4,096 B ' +
        'sectors carrying 2,048 B, each encrypted and HMAC-ed by the device; journal_mode=DELETE, synchronous=FULL) ' +
        'on the pages the same commit changed, a lower bound (each journal and page byte written once in its ' +
        'sector, a 512 B journal header; read-modify-write of partial sectors and the file system not counted). ' +
        'wholeFile, hypothetical (neither the original design nor ours): the image after the same commit sealed ' +
        'whole by the same HSM and written to a card of the same model, with an anti-rollback counter advance',
    };
    return {
      data,
      table,
      columns: ['single-row commit', 'ours', 'original (lower bound)', 'whole file (hypothetical)'],
    };
  },
};
