/**
 * Update distribution bench: the bytes a key costs in an update file, ours against the original's
 * format (an 11-byte TLV record header, the key ID (4) and the wrap's length (2), then the 64-byte AES-CBC
 * wrap with IV and padding: 81 bytes, `send_key_update`);
 * what publishing one new key to a group of 10, 100, 1,000 and 3,000 members costs the admin HSM and
 * its SD card, side by side with publishing a full resync to the same users (the original's only way
 * to bring a user up to date after a failure), in the same run; and what one round of collecting
 * acknowledgements costs. The resync is there for scale, not as a baseline: it is other work (every
 * key of every member, where the original appends one key's records to each member's `.normal`
 * file), so the README gives it no ratio; the original's own publication is not modelled.
 *
 * Publishing runs on the admin's simulated HSM (wrapping, sealing) and encrypted database, whose SD
 * card charges the same cycle meter as the HSM (bench/dbCommit.ts does the same): modelled cycles
 * are those of the whole publication, its database commit and card writes included. Up to 1,000
 * members every user HSM acknowledges every file it is sent, so publications start from an outbox
 * that acknowledgements emptied, as in service. Simplification: a user's host is reduced to what the
 * administrator can observe of it, its HSM authenticating each file, recording it as applied and
 * sealing the acknowledgement (`User.sync` does the same around maintaining its replica, which the
 * admin never sees): a thousand replicas would make the bench minutes longer and change no admin
 * figure. At 3,000 members users are provisioned and then set aside (3,000 simulated HSMs of 2 MB of
 * flash each do not fit a bench run), so the outbox still holds everyone's first file there; that
 * size is measured for host time.
 * @module
 */
import { Manufacturer } from '../device/attestation.ts';
import { CycleMeter } from '../device/costModel.ts';
import { Flash } from '../device/flash.ts';
import { SdCard } from '../device/sdcard.ts';
import { SecubeDevice, UPDATE_SEQUENCE_COUNTER } from '../device/secube.ts';
import { Admin } from '../impl/kms/admin.ts';
import { ManualClock } from '../impl/kms/clock.ts';
import { provisionUser } from '../impl/kms/distribution.ts';
import { userKeyIds } from '../impl/protocol/deviceKeyIds.ts';
import { Publisher } from '../impl/kms/publisher.ts';
import { encodeAckHeader } from '../impl/protocol/ackFile.ts';
import { ackFileName, ackStream, sequenceOfName, updateStream } from '../impl/protocol/streams.ts';
import { MemoryTransport } from '../impl/protocol/transport.ts';
import { decodeRecords, encodeRecords, fileHash, parseUpdateFile } from '../impl/protocol/updateFile.ts';
import type { BenchContext, BenchModule, BenchOutput } from './benchModule.ts';
import { spread } from './provenance.ts';
import type { Spread } from './provenance.ts';

/** The simulated factory of the bench's HSMs (deterministic, so runs are reproducible). */
const BENCH_MANUFACTURER = Manufacturer.generate('bench');

/**
 * The original's bytes per key in an update file (`send_key_update`'s KEY_DATA record): an 11-byte
 * record header, the key ID (4 B), the wrap's length (2 B) and the 64-byte CBC wrap.
 */
export const ORIGINAL_BYTES_PER_KEY = 81;

/** Host-time repetitions of each measured publication (ours and the baseline alike). */
const REPETITIONS = 3;

function device(seed: string, meter?: CycleMeter): SecubeDevice {
  const flash = meter ? new Flash({ meter, seed: 1 }) : new Flash({ seed: 1 });
  const d = new SecubeDevice({ flash, seed, pinIterations: 10, ...(meter ? { meter } : {}) });
  d.factoryInit({ userPin: 'user', adminPin: 'admin', manufacturer: BENCH_MANUFACTURER });
  d.login('admin', 'admin');
  return d;
}

interface Installation {
  readonly admin: Admin;
  readonly publisher: Publisher;
  readonly transport: MemoryTransport;
  /** Charged by the admin HSM and the admin's SD card. */
  readonly meter: CycleMeter;
  readonly card: SdCard;
  /** The users' HSMs, when they are kept (up to 1,000 members). */
  readonly users: readonly UserHsm[];
  /** U1's HSM, to open a published file and measure it. */
  readonly firstUser: SecubeDevice;
}

async function installation(members: number, keepUsers: boolean, context: BenchContext): Promise<Installation> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const meter = new CycleMeter();
  const card = new SdCard({ sectorCount: 4_194_304, meter });
  const admin = await Admin.create({ device: device('bench-admin', meter), sd: card, clock });
  const transport = new MemoryTransport();
  const publisher = new Publisher(admin, transport);
  admin.addGroup('G1', 'everyone', { maxKeys: 8, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * 86_400_000 });
  const users: UserHsm[] = [];
  let firstUser: SecubeDevice | undefined;
  for (let i = 1; i <= members; i++) {
    const id = `U${i}`;
    admin.addUser(id, `user ${i}`);
    const userDevice = device(`bench-user-${i}`);
    const provisioning = provisionUser(admin, id, userDevice);
    firstUser ??= userDevice;
    if (keepUsers) {
      userDevice.logout();
      userDevice.login('user', 'user');
      users.push({ userId: id, device: userDevice, keyIds: provisioning.keyIds });
    }
    admin.addMember('G1', id);
    if (i % 250 === 0) context.progress(`${members} members: ${i} provisioned`);
  }
  await publisher.publish();
  const installed: Installation = {
    admin,
    publisher,
    transport,
    meter,
    card,
    users,
    firstUser: firstUser as SecubeDevice,
  };
  await syncEveryone(installed, context);
  if (keepUsers) await publisher.collectAcknowledgements();
  return installed;
}

/** A user reduced to its HSM (see the module comment). */
interface UserHsm {
  readonly userId: string;
  readonly device: SecubeDevice;
  readonly keyIds: { readonly adminToUserKeyId: number; readonly userToAdminKeyId: number };
}

/**
 * Every kept user's HSM authenticates its new files in order, records each as applied, and seals
 * the acknowledgement of the last, as `User.sync` has it do.
 */
async function syncEveryone(inst: Installation, context: BenchContext): Promise<void> {
  const { transport } = inst;
  for (const [i, { userId, device: hsm, keyIds }] of inst.users.entries()) {
    let last: { sequence: number; hash: Uint8Array } | null = null;
    for (const name of await transport.list(updateStream(userId))) {
      const sequence = sequenceOfName(name)?.sequence ?? 0;
      if (sequence <= (last?.sequence ?? hsm.counterRead(UPDATE_SEQUENCE_COUNTER))) continue;
      const file = (await transport.read(updateStream(userId), name)) as Uint8Array;
      const parsed = parseUpdateFile(file);
      hsm.openUpdate(keyIds.adminToUserKeyId, parsed.headerBytes, parsed.sealedBody);
      hsm.recordUpdateApplied(sequence);
      last = { sequence, hash: fileHash(file) };
    }
    if (last === null) continue;
    const header = encodeAckHeader({ userId, serial: hsm.serial, sequence: last.sequence, fileHash: last.hash });
    const seal = hsm.acknowledge(keyIds.userToAdminKeyId, header);
    await transport.write(ackStream(userId), ackFileName(last.sequence), new Uint8Array([...header, ...seal]));
    if ((i + 1) % 250 === 0) context.progress(`${inst.users.length} members: ${i + 1} acknowledged`);
  }
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

/** What one measured operation cost the admin HSM and its card. */
interface Cost {
  readonly seconds: number;
  readonly cycles: number;
  readonly sectorsWritten: number;
  readonly bytesWritten: number;
  readonly commits: number;
}

async function measure<T>(inst: Installation, work: () => Promise<T>): Promise<{ cost: Cost; result: T }> {
  const c0 = inst.meter.cycles;
  const sd0 = inst.card.stats();
  const g0 = inst.admin.generation;
  const t0 = performance.now();
  const result = await work();
  const seconds = (performance.now() - t0) / 1000;
  const sd1 = inst.card.stats();
  return {
    result,
    cost: {
      seconds,
      cycles: Math.round(inst.meter.cycles - c0),
      sectorsWritten: sd1.sectorsWritten - sd0.sectorsWritten,
      bytesWritten: sd1.bytesWritten - sd0.bytesWritten,
      commits: inst.admin.generation - g0,
    },
  };
}

const seconds = (costs: readonly Cost[]): Spread => spread(costs.map((c) => Number(c.seconds.toFixed(3))));

/** Everything measured at one group size. */
interface SizeResult {
  readonly members: number;
  readonly ours: readonly Cost[];
  readonly fullResync: readonly Cost[];
  readonly oursFileBytes: number;
  readonly fullFileBytes: number;
  /** One round of collecting everyone's acknowledgements, per repetition (none without users). */
  readonly acks: readonly Cost[];
  readonly bytesPerKey: number;
}

async function measureSize(
  members: number,
  keepUsers: boolean,
  baseline: boolean,
  context: BenchContext,
): Promise<SizeResult> {
  context.progress(`setting up ${members} members`);
  const inst = await installation(members, keepUsers, context);
  const { admin, publisher, transport } = inst;
  const ours: Cost[] = [];
  let oursFileBytes = 0;
  let bytesPerKey = 0;
  const acks: Cost[] = [];
  const avg = (r: Awaited<ReturnType<Publisher['publish']>>) =>
    Math.round(r.published.reduce((a, p) => a + p.bytes, 0) / Math.max(1, r.published.length));
  for (let rep = 0; rep < REPETITIONS; rep++) {
    const key = admin.addKey('G1', `new key ${rep}`);
    admin.activateKey(key);
    context.progress(`${members} members: publishing one new key (${rep + 1}/${REPETITIONS})`);
    const { cost, result } = await measure(inst, () => publisher.publish());
    if (result.published.length !== members)
      throw new Error(`expected a file for each of ${members} members, got ${result.published.length}`);
    ours.push(cost);
    if (rep === 0) {
      oursFileBytes = avg(result);
      // Bytes per key, from the real file U1 received: its key-material records, opened by U1's HSM
      // (only the records that carry keys count, as in the original's 81).
      const name = (await transport.list(updateStream('U1'))).at(-1) as string;
      const file = (await transport.read(updateStream('U1'), name)) as Uint8Array;
      const a2u = userKeyIds(0).adminToUserKeyId;
      const km = keyMaterialBytes(file, (sealed, aad) => inst.firstUser.open(a2u, sealed, aad));
      if (km.keys !== 1) throw new Error(`expected one key in the file, found ${km.keys}`);
      bytesPerKey = km.bytes / km.keys;
    }
    if (keepUsers) {
      await syncEveryone(inst, context);
      const round = await measure(inst, () => publisher.collectAcknowledgements());
      if (round.result.accepted.length !== members)
        throw new Error(`expected ${members} acknowledgements, collected ${round.result.accepted.length}`);
      acks.push(round.cost);
    }
  }
  // Baseline: bring every member up to date with a full resync instead, as often and in the same run.
  const fullResync: Cost[] = [];
  let fullFileBytes = 0;
  if (baseline) {
    const everyone = Array.from({ length: members }, (_, i) => `U${i + 1}`);
    for (let rep = 0; rep < REPETITIONS; rep++) {
      context.progress(`${members} members: full resync (${rep + 1}/${REPETITIONS})`);
      publisher.requestResync(everyone);
      const { cost, result } = await measure(inst, () => publisher.publish());
      fullResync.push(cost);
      if (rep === 0) fullFileBytes = avg(result);
    }
  }
  admin.close();
  return {
    members,
    ours,
    fullResync,
    oursFileBytes,
    fullFileBytes,
    acks,
    bytesPerKey,
  };
}

/** The targets of issue 11: at most 650,000 cycles per member at 1,000 members, and at most 1.5× m100. */
export const PUBLISH_TARGETS = { m1000MaxCyclesPerMember: 650_000, m1000OverM100Max: 1.5 } as const;

const perMember = (total: number, members: number) => Math.round(total / members);

/** The update distribution bench. */
export const updateDistributionBench: BenchModule = {
  name: 'update-distribution',
  summary: 'update file bytes per key, publishing to 10-3,000 users; vs the original, resyncs',
  section: 'update',
  async run(context): Promise<BenchOutput> {
    // [label, members, keep real users (acknowledgements), measure the full-resync baseline]
    const sizes: Array<[string, number, boolean, boolean]> = context.quick
      ? [
          ['m10', 10, true, true],
          ['m100', 100, true, true],
        ]
      : [
          ['m10', 10, true, true],
          ['m100', 100, true, true],
          ['m1000', 1000, true, true],
          ['m3000', 3000, false, false],
        ];
    const data = {
      bytesPerKey: { ours: 0, original: ORIGINAL_BYTES_PER_KEY },
      publishSeconds: {} as Record<string, { ours: Spread; fullResync?: Spread }>,
      publishCycles: {} as Record<string, { ours: number; fullResync?: number }>,
      publishCyclesPerMember: {} as Record<string, number>,
      sdWritesPerMember: {} as Record<string, Record<string, { bytes: number; sectors: number }>>,
      fileBytesPerMember: {} as Record<string, { ours: number; fullResync?: number }>,
      collectAcksCycles: {} as Record<string, number>,
      collectAcksCommits: {} as Record<string, number>,
      collectAcksSeconds: {} as Record<string, Spread>,
    };
    const table: string[][] = [];
    for (const [label, members, keepUsers, baseline] of sizes) {
      const r = await measureSize(members, keepUsers, baseline, context);
      const [ours, full] = [r.ours[0] as Cost, r.fullResync[0]];
      data.bytesPerKey.ours = r.bytesPerKey;
      data.publishSeconds[label] = { ours: seconds(r.ours), ...(full ? { fullResync: seconds(r.fullResync) } : {}) };
      data.publishCycles[label] = { ours: ours.cycles, ...(full ? { fullResync: full.cycles } : {}) };
      data.publishCyclesPerMember[label] = perMember(ours.cycles, members);
      const sd = (c: Cost) => ({
        bytes: perMember(c.bytesWritten, members),
        // Two decimals: 748 bytes a member is 1.46 sectors, which a whole number would call one.
        sectors: Math.round((c.sectorsWritten / members) * 100) / 100,
      });
      data.sdWritesPerMember[label] = { ours: sd(ours), ...(full ? { fullResync: sd(full) } : {}) };
      data.fileBytesPerMember[label] = { ours: r.oursFileBytes, ...(full ? { fullResync: r.fullFileBytes } : {}) };
      const acks = r.acks[0];
      if (acks) {
        data.collectAcksCycles[label] = acks.cycles;
        data.collectAcksCommits[label] = acks.commits;
        data.collectAcksSeconds[label] = seconds(r.acks);
      }
      const median = (xs: readonly Cost[]) => (xs.length > 0 ? seconds(xs).median.toFixed(3) : '-');
      table.push(
        [`publish 1 key to ${members}: median s`, median(r.ours), median(r.fullResync)],
        [
          `  HSM + card cycles per member`,
          String(perMember(ours.cycles, members)),
          full ? String(perMember(full.cycles, members)) : '-',
        ],
        [
          `  card bytes written per member`,
          String(perMember(ours.bytesWritten, members)),
          full ? String(perMember(full.bytesWritten, members)) : '-',
        ],
        [`  file bytes per member`, String(r.oursFileBytes), full ? String(r.fullFileBytes) : '-'],
      );
      if (acks) table.push([`  collect ${members} acks: cycles, commits`, `${acks.cycles}, ${acks.commits}`, '-']);
    }
    table.unshift(['key material bytes per key', String(data.bytesPerKey.ours), String(ORIGINAL_BYTES_PER_KEY)]);
    const { m100, m1000 } = data.publishCyclesPerMember;
    if (m100 !== undefined && m1000 !== undefined) {
      const met = m1000 <= PUBLISH_TARGETS.m1000MaxCyclesPerMember && m1000 <= PUBLISH_TARGETS.m1000OverM100Max * m100;
      if (!met) context.progress(`targets missed: ${m1000} cycles per member at 1,000 (m100: ${m100})`);
    }
    return { data, table, columns: ['update distribution', 'ours', 'full resync'] };
  },
};
