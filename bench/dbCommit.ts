/**
 * Encrypted database bench: what one single-row commit costs, ours (device-sealed shadow pages,
 * only changed pages rewritten) against the naive design (re-encrypt and rewrite the whole
 * `export()` image on every commit), at about 1 MiB and 10 MiB of data, in the same run and on the
 * same simulated HSM and SD card.
 *
 * Measured per commit: bytes the HSM encrypted, bytes written to the card, and modelled HSM cycles
 * (AES-GCM, TRNG nonce, flash counter) from the device's cost model. The whole-file baseline is
 * carried out for real (sealed by the same HSM under the same key, written to the same card), not
 * estimated.
 * @module
 */
import { Manufacturer } from '../device/attestation.ts';
import { utf8 } from '../device/binaryCodec.ts';
import { CycleMeter } from '../device/costModel.ts';
import { Flash } from '../device/flash.ts';
import { SdCard, SD_SECTOR_SIZE } from '../device/sdcard.ts';
import { SecubeDevice } from '../device/secube.ts';
import { EncryptedDatabase } from '../impl/db/encryptedDatabase.ts';
import { secubeDatabaseDevice } from '../impl/db/secubeDatabaseDevice.ts';
import type { BenchContext, BenchModule, BenchOutput } from './benchModule.ts';

/** The simulated factory of the bench's HSMs (deterministic, so runs are reproducible). */
const BENCH_MANUFACTURER = Manufacturer.generate('bench');

const MIB = 1024 * 1024;

interface CommitCost {
  readonly bytesEncrypted: number;
  readonly bytesWritten: number;
  readonly cycles: number;
}

async function measure(
  sizeBytes: number,
  context: BenchContext,
): Promise<{ ours: CommitCost; wholeFile: CommitCost; dbBytes: number }> {
  const meter = new CycleMeter();
  const flash = new Flash({ meter, seed: 1 });
  const device = new SecubeDevice({ flash, meter, seed: 'db-bench', pinIterations: 10 });
  device.factoryInit({ userPin: 'user', adminPin: 'admin', manufacturer: BENCH_MANUFACTURER });
  device.login('admin', 'admin');
  const sectors = Math.ceil((2.3 * sizeBytes) / SD_SECTOR_SIZE) + 4096;
  const sd = new SdCard({ sectorCount: sectors, meter });
  const dbDevice = secubeDatabaseDevice(device);
  const db = await EncryptedDatabase.create(dbDevice, sd);
  context.progress(`filling a ${(sizeBytes / MIB).toFixed(0)} MiB database`);
  const rows = Math.ceil(sizeBytes / 1000);
  db.transaction((d) => {
    d.run('CREATE TABLE filler (id INTEGER PRIMARY KEY, payload BLOB)');
    const stmt = d.prepare('INSERT INTO filler (payload) VALUES (randomblob(960))');
    for (let i = 0; i < rows; i++) stmt.run();
    stmt.free();
  });
  const dbBytes = db.read(
    (d) =>
      Number(d.exec('PRAGMA page_count')[0]?.values[0]?.[0]) * Number(d.exec('PRAGMA page_size')[0]?.values[0]?.[0]),
  );

  // Ours: one single-row commit.
  const c0 = meter.cycles;
  db.transaction((d) => d.run("INSERT INTO users (id, name) VALUES ('U1', 'alice')"));
  const stats = db.lastCommit;
  if (stats === null) throw new Error('no commit recorded');
  const ours = {
    bytesEncrypted: stats.bytesEncrypted,
    bytesWritten: stats.bytesWritten,
    cycles: Math.round(meter.cycles - c0),
  };

  // Whole file: the same change, then the whole export sealed and written.
  db.transaction((d) => d.run("INSERT INTO users (id, name) VALUES ('U2', 'bob')"));
  const image = db.read((d) => d.export());
  const c1 = meter.cycles;
  const w0 = sd.stats().bytesWritten;
  const sealed = dbDevice.seal(image, utf8('whole-file baseline'));
  const padded = new Uint8Array(Math.ceil(sealed.length / SD_SECTOR_SIZE) * SD_SECTOR_SIZE);
  padded.set(sealed);
  sd.write(sectors - padded.length / SD_SECTOR_SIZE, padded);
  sd.sync();
  dbDevice.commitGeneration(dbDevice.committedGeneration() + 1);
  const wholeFile = {
    bytesEncrypted: image.length,
    bytesWritten: sd.stats().bytesWritten - w0,
    cycles: Math.round(meter.cycles - c1),
  };
  db.close();
  return { ours, wholeFile, dbBytes };
}

/** The database commit bench. */
export const dbCommitBench: BenchModule = {
  name: 'db-commit',
  summary: 'a one-row database commit at 1 and 10 MiB: bytes, cycles; vs whole-image writes',
  section: 'db',
  async run(context): Promise<BenchOutput> {
    const sizes = context.quick ? { mib1: MIB } : { mib1: MIB, mib10: 10 * MIB };
    const data: Record<string, Record<string, unknown>> = {
      bytesWrittenPerCommit: {},
      bytesEncryptedPerCommit: {},
      cyclesPerCommit: {},
      databaseBytes: {},
      wholeFileOverOurs: {},
    };
    const table: string[][] = [];
    for (const [label, size] of Object.entries(sizes)) {
      const r = await measure(size, context);
      (data['bytesWrittenPerCommit'] as Record<string, unknown>)[label] = {
        ours: r.ours.bytesWritten,
        wholeFile: r.wholeFile.bytesWritten,
      };
      (data['bytesEncryptedPerCommit'] as Record<string, unknown>)[label] = {
        ours: r.ours.bytesEncrypted,
        wholeFile: r.wholeFile.bytesEncrypted,
      };
      (data['cyclesPerCommit'] as Record<string, unknown>)[label] = {
        ours: r.ours.cycles,
        wholeFile: r.wholeFile.cycles,
      };
      (data['databaseBytes'] as Record<string, unknown>)[label] = r.dbBytes;
      const ratio = {
        written: r.wholeFile.bytesWritten / r.ours.bytesWritten,
        encrypted: r.wholeFile.bytesEncrypted / r.ours.bytesEncrypted,
      };
      (data['wholeFileOverOurs'] as Record<string, unknown>)[label] = {
        written: Number(ratio.written.toFixed(1)),
        encrypted: Number(ratio.encrypted.toFixed(1)),
      };
      table.push(
        [
          `${label} written (B)`,
          String(r.ours.bytesWritten),
          String(r.wholeFile.bytesWritten),
          ratio.written.toFixed(1),
        ],
        [
          `${label} encrypted (B)`,
          String(r.ours.bytesEncrypted),
          String(r.wholeFile.bytesEncrypted),
          ratio.encrypted.toFixed(1),
        ],
        [
          `${label} HSM cycles`,
          String(r.ours.cycles),
          String(r.wholeFile.cycles),
          (r.wholeFile.cycles / r.ours.cycles).toFixed(1),
        ],
      );
    }
    return { data, table, columns: ['single-row commit', 'ours', 'whole file', 'whole/ours'] };
  },
};
