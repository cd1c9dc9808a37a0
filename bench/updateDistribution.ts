/**
 * Update distribution bench: the bytes a key costs in an update file, ours against the original's
 * format (a 64-byte AES-CBC wrap with IV and padding, plus an 11-byte TLV record header: 75 bytes),
 * and the time to publish one new key to groups of 10, 100 and 1,000 members, measured side by side
 * with publishing a full resync to the same users (the original's only way to bring a user up to
 * date after a failure), in the same run.
 *
 * Publishing runs on the admin's simulated HSM (wrapping, sealing) and encrypted database; user
 * HSMs are provisioned for real and then set aside, since publishing does not touch them.
 * @module
 */
import { Manufacturer } from '../device/attestation.ts';
import { CycleMeter } from '../device/costModel.ts';
import { Flash } from '../device/flash.ts';
import { SdCard } from '../device/sdcard.ts';
import { SecubeDevice } from '../device/secube.ts';
import { Admin } from '../impl/kms/admin.ts';
import { ManualClock } from '../impl/kms/clock.ts';
import { userKeyIds } from '../impl/protocol/deviceKeyIds.ts';
import { provisionUser } from '../impl/kms/distribution.ts';
import { Publisher } from '../impl/kms/publisher.ts';
import { updateStream } from '../impl/protocol/streams.ts';
import { MemoryTransport } from '../impl/protocol/transport.ts';
import { decodeRecords, encodeRecords, parseUpdateFile } from '../impl/protocol/updateFile.ts';
import type { BenchContext, BenchModule, BenchOutput } from './benchModule.ts';

/** The simulated factory of the bench's HSMs (deterministic, so runs are reproducible). */
const BENCH_MANUFACTURER = Manufacturer.generate('bench');

/** The original's bytes per key in an update file: 64-byte CBC wrap + 11-byte record header. */
export const ORIGINAL_BYTES_PER_KEY = 75;

function device(seed: string, meter?: CycleMeter): SecubeDevice {
  const flash = meter ? new Flash({ meter, seed: 1 }) : new Flash({ seed: 1 });
  const d = new SecubeDevice({ flash, seed, pinIterations: 10, ...(meter ? { meter } : {}) });
  d.factoryInit({ userPin: 'user', adminPin: 'admin', manufacturer: BENCH_MANUFACTURER });
  d.login('admin', 'admin');
  return d;
}

async function installation(members: number, context: BenchContext) {
  let firstUser: SecubeDevice | null = null;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const meter = new CycleMeter();
  const adminDevice = device('bench-admin', meter);
  const admin = await Admin.create({ device: adminDevice, sd: new SdCard({ sectorCount: 2_097_152 }), clock });
  const transport = new MemoryTransport();
  const publisher = new Publisher(admin, transport);
  admin.addGroup('G1', 'everyone', { maxKeys: 8, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * 86_400_000 });
  for (let i = 1; i <= members; i++) {
    const id = `U${i}`;
    admin.addUser(id, `user ${i}`);
    const userDevice = device(`bench-user-${i}`);
    provisionUser(admin, id, userDevice);
    // Only the first user's HSM is kept, to open a published file and measure it.
    if (i === 1) firstUser = userDevice;
    admin.addMember('G1', id);
    if (i % 100 === 0) context.progress(`${members} members: ${i} provisioned`);
  }
  await publisher.publish();
  return { admin, publisher, transport, meter, clock, firstUser: firstUser as unknown as SecubeDevice };
}

/** Bytes of the key-material records in a file, and how many there are. */
function keyMaterialBytes(
  file: Uint8Array,
  open: (sealed: Uint8Array, aad: Uint8Array) => Uint8Array,
): { bytes: number; keys: number } {
  const parsed = parseUpdateFile(file);
  const records = decodeRecords(open(parsed.sealedBody, parsed.headerBytes)).filter((r) => r.type === 'keyMaterial');
  return { bytes: encodeRecords(records).length, keys: records.length };
}

/** The update distribution bench. */
export const updateDistributionBench: BenchModule = {
  name: 'update-distribution',
  section: 'update',
  async run(context): Promise<BenchOutput> {
    const sizes: Array<[string, number]> = context.quick
      ? [
          ['m10', 10],
          ['m100', 100],
        ]
      : [
          ['m10', 10],
          ['m100', 100],
          ['m1000', 1000],
        ];
    const publishSeconds: Record<string, { ours: number; fullResync: number }> = {};
    const publishCycles: Record<string, { ours: number; fullResync: number }> = {};
    const fileBytes: Record<string, { ours: number; fullResync: number }> = {};
    const table: string[][] = [];
    let bytesPerKey = 0;
    for (const [label, members] of sizes) {
      context.progress(`setting up ${members} members`);
      const { admin, publisher, transport, meter, firstUser } = await installation(members, context);
      const key = admin.addKey('G1', 'new key');
      admin.activateKey(key);
      const c0 = meter.cycles;
      const t0 = performance.now();
      const ours = await publisher.publish();
      const oursSeconds = (performance.now() - t0) / 1000;
      const oursCycles = Math.round(meter.cycles - c0);
      // Bytes per key, from the real file U1 received: its key-material records, opened by U1's HSM
      // (only the records that carry keys count, as in the original's 75).
      const name = (await transport.list(updateStream('U1'))).at(-1) as string;
      const file = (await transport.read(updateStream('U1'), name)) as Uint8Array;
      const a2u = userKeyIds(0).adminToUserKeyId;
      const km = keyMaterialBytes(file, (sealed, aad) => firstUser.open(a2u, sealed, aad));
      if (km.keys !== 1) throw new Error(`expected one key in the file, found ${km.keys}`);
      bytesPerKey = km.bytes / km.keys;
      // Baseline: bring every member up to date with a full resync instead.
      publisher.requestResync(Array.from({ length: members }, (_, i) => `U${i + 1}`));
      const c1 = meter.cycles;
      const t1 = performance.now();
      const full = await publisher.publish();
      const fullSeconds = (performance.now() - t1) / 1000;
      publishSeconds[label] = { ours: Number(oursSeconds.toFixed(3)), fullResync: Number(fullSeconds.toFixed(3)) };
      publishCycles[label] = { ours: oursCycles, fullResync: Math.round(meter.cycles - c1) };
      const avg = (r: typeof ours) =>
        Math.round(r.published.reduce((a, p) => a + p.bytes, 0) / Math.max(1, r.published.length));
      fileBytes[label] = { ours: avg(ours), fullResync: avg(full) };
      table.push([`publish 1 key to ${members} (s)`, oursSeconds.toFixed(3), fullSeconds.toFixed(3)]);
      table.push([`  file bytes per member`, String(avg(ours)), String(avg(full))]);
    }
    table.unshift(['key material bytes per key', String(bytesPerKey), String(ORIGINAL_BYTES_PER_KEY)]);
    return {
      data: {
        bytesPerKey: { ours: bytesPerKey, original: ORIGINAL_BYTES_PER_KEY },
        publishSeconds,
        publishCycles,
        fileBytesPerMember: fileBytes,
      },
      table,
      columns: ['update distribution', 'ours', 'baseline'],
    };
  },
};
