/**
 * Whole-device wear bench: years until the first sector of the admin HSM's flash — any sector, not
 * only the key store — reaches its rated 10,000 erase cycles (DS9405 "Flash memory endurance":
 * N_END 10 kcycles min), under a mixed workload, ours against the original firmware.
 *
 * The workload, per day: 1,000 key rotations, each with the database commits it costs and the logins
 * it takes; every rotation acknowledged by the 20 members of the rotated group. A rotation, on the real
 * admin (`impl/kms`): add a key to the group (generated in the HSM), activate it, deactivate the
 * previous one, destroy the one before (erased from the HSM), publish, let the 20 members sync, collect
 * their acknowledgements. The admin's database generation counts its commits. Through the CLI each of
 * the six admin steps is one `sekey admin` command, and every command logs in to the HSM (a try spent
 * and restored in flash), as every member's `sekey user U sync` does: 6 admin logins and one per member
 * a rotation, the headline. A caller of the library that keeps a session open logs in less: its
 * figure is given beside, at the 100 logins a day an earlier version assumed for both.
 *
 * Two steps, both in this run:
 * 1. Measure, on the real admin with 20 real member HSMs, the commits per rotation, and the flash
 *    writes the admin HSM and a member HSM make per rotation into their state and key-store sectors;
 *    step 2 checks that its replay writes as many per rotation (logins aside) and throws if not.
 * 2. Replay that per-rotation device traffic on a fresh admin HSM for {@link WARMUP_DAYS} simulated
 *    days, then count the erases of every sector over {@link REPLAY_DAYS} more (each commit advances
 *    the commit-intent and generation counters exactly as `impl/db/secubeDatabaseDevice.ts` does;
 *    each rotation generates one key and destroys one, with {@link LIVE_KEYS} live keys; each login
 *    spends and restores a try), and project. Faster than running the admin for weeks, and the same
 *    flash operations.
 *
 * The original, as the reference notes describe its firmware: PINs are clear-text records written
 * at initialisation only, with no retry counter and no anti-rollback counter, so logins and commits
 * write nothing to flash; its wear is the key store's (two 128 KiB sectors in ping-pong, a rotation
 * is delete + insert), run here with the same live keys and rotations.
 * @module
 */
import { Manufacturer } from '../device/attestation.ts';
import { Flash } from '../device/flash.ts';
import { SdCard } from '../device/sdcard.ts';
import { DEFAULT_STATE_SECTORS, SecubeDevice, UPDATE_SEQUENCE_COUNTER } from '../device/secube.ts';
import { DEFAULT_KEY_STORE_SECTORS } from '../device/keyStore.ts';
import { SeededPrng } from '../device/seededPrng.ts';
import { encodeCommitIntent } from '../impl/db/commitIntent.ts';
import { DATABASE_GENERATION_COUNTER, DATABASE_INTENT_COUNTER } from '../impl/db/secubeDatabaseDevice.ts';
import { Admin } from '../impl/kms/admin.ts';
import { ManualClock } from '../impl/kms/clock.ts';
import { provisionUser } from '../impl/kms/distribution.ts';
import { Publisher } from '../impl/kms/publisher.ts';
import { User } from '../impl/kms/user.ts';
import { MemoryTransport } from '../impl/protocol/transport.ts';
import type { BenchContext, BenchModule, BenchOutput } from './benchModule.ts';
import { ORIGINAL_SECTORS, OriginalKeyStore } from './originalKeyStore.ts';

/** Rotations a day in the mixed workload. */
export const ROTATIONS_PER_DAY = 1000;
/**
 * A rotation as an administrator runs it through the CLI: one `sekey admin` command a step (the key
 * commands with `--no-publish`), each an admin session that logs in to the HSM once.
 */
export const CLI_ROTATION = ['add-key', 'activate-key', 'deactivate-key', 'destroy-key', 'publish', 'collect-acks'];
/** Admin HSM logins per rotation through the CLI. */
export const ADMIN_LOGINS_PER_ROTATION = CLI_ROTATION.length;
/** Member HSM logins per rotation through the CLI: its `sekey user U sync`. */
export const MEMBER_LOGINS_PER_ROTATION = 1;
/** Logins a day of a library caller that keeps its session open (the rate an earlier version assumed). */
export const API_SESSION_LOGINS_PER_DAY = 100;
/** Members of the rotated group, each acknowledging every rotation. */
export const MEMBERS = 20;
/** Live keys in the admin's key store: the original's 90 % (2,012 × 0.9), for both. */
export const LIVE_KEYS = 1810;
/** Live keys of a member HSM: its provisioning and database keys and its group's keys. */
export const MEMBER_LIVE_KEYS = 8;
/**
 * Simulated days replayed before the window measured, for both designs: ours' key store first
 * compacts after some 12,000 to 20,000 rotations on 7 sectors, the original's ping-pong store at
 * once, so a window that starts on a fresh device measures ours before it reaches its steady state
 * (a fresh-eyes audit: 40 days after one day of warm-up gave ours' key store one erase a sector,
 * 1,095 years, where its steady state is 657, the key-store-wear bench's figure).
 */
export const WARMUP_DAYS = 60;
/** Simulated days measured after the warm-up, a year: some 15 erases a key-store sector, 23 a state sector. */
export const REPLAY_DAYS = 365;
/** How far the replay's program calls a rotation may be from the real HSM's before the bench stops. */
const PROGRAMS_TOLERANCE = 0.01;
/** Rated erase cycles per sector (DS9405 N_END). */
export const ENDURANCE_CYCLES = 10_000;

const MANUFACTURER = Manufacturer.generate('bench-device-wear');
const PINS = { userPin: 'user', adminPin: 'admin', manufacturer: MANUFACTURER } as const;
const DAY_MS = 86_400_000;

function hsm(seed: string, flash: Flash, sdcard?: SdCard): SecubeDevice {
  const device = new SecubeDevice({ flash, seed, pinIterations: 10, ...(sdcard ? { sdcard } : {}) });
  device.factoryInit(PINS);
  return device;
}

/** What step 1 measured on the real admin. */
interface AdminProfile {
  readonly rotations: number;
  readonly commitsPerRotation: number;
  readonly commitsPerRotationByStep: Readonly<Record<string, number>>;
  /** Program calls per rotation into the admin HSM's state sectors and key-store sectors. */
  readonly programsPerRotation: Programs;
  /** Erases per sector over the measured window (expected: mostly none in so short a window). */
  readonly windowErases: Readonly<Record<number, number>>;
  /** One member HSM per rotation: its database commits, applied-update counter steps and program calls. */
  readonly member: {
    readonly commitsPerRotation: number;
    readonly updatesPerRotation: number;
    readonly programsPerRotation: Programs;
  };
}

/** Program calls into an HSM's state sectors and its key-store sectors. */
export interface Programs {
  readonly stateArea: number;
  readonly keyStore: number;
}

/** Counts the program calls `flash` receives into each area while `counting()` says so. */
function programCounter(flash: Flash, counting: () => boolean = () => true): { stateArea: number; keyStore: number } {
  const programs = { stateArea: 0, keyStore: 0 };
  const stateSectors: readonly number[] = DEFAULT_STATE_SECTORS;
  flash.setWriteListener((write) => {
    if (write.kind !== 'program' || !counting()) return;
    if (stateSectors.includes(write.sector)) programs.stateArea++;
    else if (DEFAULT_KEY_STORE_SECTORS.includes(write.sector)) programs.keyStore++;
  });
  return programs;
}

async function measureAdmin(context: BenchContext, rotations: number): Promise<AdminProfile> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const adminFlash = new Flash({ seed: 1 });
  const adminCard = new SdCard({ sectorCount: 65_536 });
  const adminDevice = hsm('wear-admin', adminFlash, adminCard);
  adminDevice.login('admin', 'admin');
  const admin = await Admin.create({ device: adminDevice, sd: adminCard, clock });
  const transport = new MemoryTransport();
  const publisher = new Publisher(admin, transport);
  admin.addGroup('G1', 'rotated', { maxKeys: 4, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY_MS });
  const users: User[] = [];
  const memberDevices: SecubeDevice[] = [];
  const memberFlashes: Flash[] = [];
  for (let i = 1; i <= MEMBERS; i++) {
    admin.addUser(`U${i}`, `member ${i}`);
    const card = new SdCard({ sectorCount: 16_384 });
    const memberFlash = new Flash({ seed: 1 });
    memberFlashes.push(memberFlash);
    const device = hsm(`wear-user-${i}`, memberFlash, card);
    device.login('admin', 'admin');
    const provisioning = provisionUser(admin, `U${i}`, device);
    device.logout();
    device.login('user', 'user');
    users.push(await User.create({ provisioning, device, sd: card, clock }));
    memberDevices.push(device);
    admin.addMember('G1', `U${i}`);
  }
  const keys: string[] = [];
  const steps: Record<string, number> = { kms: 0, publish: 0, acknowledgements: 0 };
  const rotate = async (count: boolean): Promise<void> => {
    clock.advance(60_000);
    const g0 = admin.generation;
    const key = admin.addKey('G1', `k${keys.length}`);
    admin.activateKey(key);
    const previous = keys.at(-1);
    if (previous !== undefined) admin.deactivateKey(previous);
    const older = keys.at(-2);
    if (older !== undefined) admin.destroyKey(older);
    keys.push(key);
    const g1 = admin.generation;
    await publisher.publish();
    const g2 = admin.generation;
    for (const user of users) await user.sync(transport);
    await publisher.collectAcknowledgements();
    if (count) {
      steps['kms'] = (steps['kms'] ?? 0) + g1 - g0;
      steps['publish'] = (steps['publish'] ?? 0) + g2 - g1;
      steps['acknowledgements'] = (steps['acknowledgements'] ?? 0) + admin.generation - g2;
    }
  };
  // Warm-up: the first rotations have no previous key to deactivate or destroy.
  await rotate(false);
  await rotate(false);
  await rotate(false);
  await publisher.publish();
  for (const user of users) await user.sync(transport);
  await publisher.collectAcknowledgements();
  const erasesBefore = adminFlash.eraseCounts();
  const programs = programCounter(adminFlash);
  const memberFlash = memberFlashes[0];
  const memberPrograms = memberFlash === undefined ? { stateArea: 0, keyStore: 0 } : programCounter(memberFlash);
  const g = admin.generation;
  const memberDevice = memberDevices[0];
  const memberCounter = (name: string): number => memberDevice?.counterRead(name) ?? 0;
  const m0 = memberCounter(DATABASE_GENERATION_COUNTER);
  const u0 = memberCounter(UPDATE_SEQUENCE_COUNTER);
  for (let r = 0; r < rotations; r++) {
    await rotate(true);
    context.progress(`real admin: rotation ${r + 1}/${rotations}`);
  }
  adminFlash.setWriteListener(undefined);
  memberFlash?.setWriteListener(undefined);
  const windowErases: Record<number, number> = {};
  adminFlash.eraseCounts().forEach((n, i) => {
    const d = n - (erasesBefore[i] ?? 0);
    if (d > 0) windowErases[i] = d;
  });
  const perRotation = (n: number): number => Math.round((n / rotations) * 1000) / 1000;
  return {
    rotations,
    commitsPerRotation: perRotation(admin.generation - g),
    commitsPerRotationByStep: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, perRotation(v)])),
    programsPerRotation: { stateArea: perRotation(programs.stateArea), keyStore: perRotation(programs.keyStore) },
    windowErases,
    member: {
      commitsPerRotation: perRotation(memberCounter(DATABASE_GENERATION_COUNTER) - m0),
      updatesPerRotation: perRotation(memberCounter(UPDATE_SEQUENCE_COUNTER) - u0),
      programsPerRotation: {
        stateArea: perRotation(memberPrograms.stateArea),
        keyStore: perRotation(memberPrograms.keyStore),
      },
    },
  };
}

/** Erases per sector per day, from a replay of `days` days after a warm-up, and the erases counted. */
interface Replay {
  readonly days: number;
  readonly erasesPerDay: readonly number[];
  readonly erases: readonly number[];
  /** Our replays: program calls per rotation, logins aside, over the window's rotations that erased nothing. */
  readonly programsPerRotation?: Programs;
}

/** The per-rotation device traffic of one HSM that a replay repeats. */
export interface Traffic {
  readonly label: string;
  readonly commitsPerRotation: number;
  /** Applied-update counter steps (+1 each) per rotation: a member's, none for the admin. */
  readonly updatesPerRotation: number;
  /** Logins per rotation (a fraction: one login every so many rotations). */
  readonly loginsPerRotation: number;
  readonly liveKeys: number;
  /** What step 1 measured on the real HSM, which the replay must write too. */
  readonly programsPerRotation: Programs;
}

/**
 * Step 2 for ours: `traffic` for `warmup` days on a fresh device, then `days` days counted. An
 * applied update is replayed as a +1 advance of a counter of its own, the same journal traffic as
 * `recordUpdateApplied` (which takes an update file the device authenticated); key imports and
 * erase orders as key generations and deletions, the same key-store traffic.
 */
export function replayOurs(traffic: Traffic, warmup: number, days: number, context: BenchContext): Replay {
  const flash = new Flash({ seed: 1 });
  const device = hsm(`wear-replay-${traffic.label}`, flash);
  device.login('admin', 'admin');
  const prng = new SeededPrng(7);
  // The KMS key numbers the admin uses (from 2000); the store starts with `liveKeys` live keys.
  let next = 2000;
  const live: number[] = [];
  for (; live.length < traffic.liveKeys; next++) {
    device.generateKey(next, { purpose: 'data' });
    live.push(next);
  }
  let generation = 0;
  const commit = (): void => {
    generation += 1;
    device.counterAdvance(
      DATABASE_INTENT_COUNTER,
      encodeCommitIntent({ generation, previousAttempt: generation > 1 ? 1 : 0, attempt: 1 }),
    );
    device.counterAdvance(DATABASE_GENERATION_COUNTER, generation);
  };
  let before = flash.eraseCounts();
  let commitsDone = 0;
  let updates = 0;
  let logins = 0;
  // Program calls of the window's rotations, logins aside, and of those rotations that erased nothing
  // (a compaction's copies are not a rotation's own writes; step 1's short window saw none).
  let inRotation = false;
  let erased = false;
  const rotationPrograms = { stateArea: 0, keyStore: 0 };
  const sample = { rotations: 0, stateArea: 0, keyStore: 0 };
  const stateSectors: readonly number[] = DEFAULT_STATE_SECTORS;
  flash.setWriteListener((write) => {
    if (!inRotation) return;
    if (write.kind === 'erase') erased = true;
    else if (stateSectors.includes(write.sector)) rotationPrograms.stateArea++;
    else if (DEFAULT_KEY_STORE_SECTORS.includes(write.sector)) rotationPrograms.keyStore++;
  });
  // Warm-up days (negative): factory init and the first advance of each counter save whole
  // records, and the key store reaches its steady state of compactions.
  for (let day = -warmup; day < days; day++) {
    if (day === 0) before = flash.eraseCounts();
    for (let r = 0; r < ROTATIONS_PER_DAY; r++) {
      // Counted from the first warm-up day: the logins, commits and update advances due run from the start.
      const rotation = (day + warmup) * ROTATIONS_PER_DAY + r;
      // Each command logs in before its work. The same PIN traffic at either level: a try spent, then restored.
      const dueLogins = Math.floor((rotation + 1) * traffic.loginsPerRotation);
      for (; logins < dueLogins; logins++) {
        device.logout();
        device.login('admin', 'admin');
      }
      inRotation = day >= 0;
      erased = false;
      rotationPrograms.stateArea = 0;
      rotationPrograms.keyStore = 0;
      const due = Math.floor((rotation + 1) * traffic.commitsPerRotation) - commitsDone;
      for (let c = 0; c < due; c++) commit();
      commitsDone += due;
      const dueUpdates = Math.floor((rotation + 1) * traffic.updatesPerRotation);
      for (; updates < dueUpdates; updates++) device.counterAdvance('bench.updates', updates + 1);
      device.generateKey(next, { purpose: 'data' });
      live.push(next++);
      const [old] = live.splice(prng.int(live.length), 1);
      if (old !== undefined) device.deleteKey(old);
      if (inRotation && !erased) {
        sample.rotations++;
        sample.stateArea += rotationPrograms.stateArea;
        sample.keyStore += rotationPrograms.keyStore;
      }
      inRotation = false;
    }
    context.progress(
      day < 0
        ? `replay (ours, ${traffic.label}): warm-up day ${day + warmup + 1}/${warmup}`
        : `replay (ours, ${traffic.label}): day ${day + 1}/${days}`,
    );
  }
  flash.setWriteListener(undefined);
  // Without a rotation to sample, every figure below would be NaN, and NaN passes the comparison.
  if (sample.rotations === 0)
    throw new Error(`replay (${traffic.label}): no rotation of the window was free of erases to check against`);
  const perRotation = (n: number): number => Math.round((n / sample.rotations) * 1000) / 1000;
  const programsPerRotation = { stateArea: perRotation(sample.stateArea), keyStore: perRotation(sample.keyStore) };
  // Step 1 cross-checks step 2: the replay must write what the real HSM wrote per rotation.
  const expected = traffic.programsPerRotation;
  if (
    Math.abs(programsPerRotation.stateArea - expected.stateArea) > PROGRAMS_TOLERANCE ||
    Math.abs(programsPerRotation.keyStore - expected.keyStore) > PROGRAMS_TOLERANCE
  ) {
    throw new Error(
      `replay (${traffic.label}) writes ${JSON.stringify(programsPerRotation)} program calls a rotation, the real ` +
        `HSM ${JSON.stringify(expected)}: the replay does not repeat the measured traffic`,
    );
  }
  return { ...windowOf(flash, before, days), programsPerRotation };
}

/** The erases of the window: each sector's count since `before`, and per day. */
function windowOf(flash: Flash, before: readonly number[], days: number): Replay {
  const erases = flash.eraseCounts().map((n, i) => n - (before[i] ?? 0));
  return { days, erases, erasesPerDay: erases.map((n) => n / days) };
}

/** Step 2 for the original: its key store is the only flash it writes after initialisation. */
function replayOriginal(warmup: number, days: number, context: BenchContext): Replay {
  const flash = new Flash({ seed: 1 });
  const store = new OriginalKeyStore(flash);
  const prng = new SeededPrng(7);
  let next = 2000;
  const live: number[] = [];
  for (; live.length < LIVE_KEYS; next++) {
    store.insert(next, prng.bytes(32));
    live.push(next);
  }
  let before = flash.eraseCounts();
  // The same warm-up as ours: the window starts after the same rotations on both.
  for (let day = -warmup; day < days; day++) {
    if (day === 0) before = flash.eraseCounts();
    for (let r = 0; r < ROTATIONS_PER_DAY; r++) {
      const [old] = live.splice(prng.int(live.length), 1);
      if (old !== undefined) store.delete(old);
      store.insert(next, prng.bytes(32));
      live.push(next++);
    }
    context.progress(
      day < 0
        ? `replay (original): warm-up day ${day + warmup + 1}/${warmup}`
        : `replay (original): day ${day + 1}/${days}`,
    );
  }
  return windowOf(flash, before, days);
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Years until `erasesPerDay` reaches the rated endurance; null when the sector is not erased at all. */
function years(erasesPerDay: number): number | null {
  return erasesPerDay > 0 ? round(ENDURANCE_CYCLES / (erasesPerDay * 365.25)) : null;
}

/** What each sector of the STM32F429 holds, per design. */
function roleOf(design: 'ours' | 'original', sector: number): string {
  if (design === 'original')
    return ORIGINAL_SECTORS.includes(sector) ? 'key store (PINs, serial, keys)' : sector < 10 ? 'firmware' : 'unused';
  if ((DEFAULT_STATE_SECTORS as readonly number[]).includes(sector)) return 'device state + counter journal';
  if (DEFAULT_KEY_STORE_SECTORS.includes(sector)) return 'key store';
  return sector < 12 ? 'firmware (bank 1)' : 'unused';
}

function sectorTable(design: 'ours' | 'original', replay: Replay) {
  return replay.erasesPerDay.map((perDay, sector) => ({
    sector,
    role: roleOf(design, sector),
    erases: replay.erases[sector] ?? 0,
    erasesPerDay: round(perDay, 4),
    lifetimeYears: years(perDay),
  }));
}

/** The bench, for `bench/run.ts`. */
export const deviceWearBench: BenchModule = {
  name: 'device-wear',
  summary: 'years until an admin HSM flash sector wears out, mixed workload; vs the original',
  section: 'flash',
  async run(context: BenchContext): Promise<BenchOutput> {
    const profile = await measureAdmin(context, context.quick ? 3 : 10);
    const days = context.quick ? 4 : REPLAY_DAYS;
    const warmup = context.quick ? 1 : WARMUP_DAYS;
    const admin = (label: string, loginsPerRotation: number): Traffic => ({
      label,
      commitsPerRotation: profile.commitsPerRotation,
      updatesPerRotation: 0,
      loginsPerRotation,
      liveKeys: LIVE_KEYS,
      programsPerRotation: profile.programsPerRotation,
    });
    const ours = replayOurs(admin('admin', ADMIN_LOGINS_PER_ROTATION), warmup, days, context);
    const session = replayOurs(
      admin('admin, library session', API_SESSION_LOGINS_PER_DAY / ROTATIONS_PER_DAY),
      warmup,
      days,
      context,
    );
    const member = replayOurs(
      {
        label: 'member',
        commitsPerRotation: profile.member.commitsPerRotation,
        updatesPerRotation: profile.member.updatesPerRotation,
        loginsPerRotation: MEMBER_LOGINS_PER_ROTATION,
        liveKeys: MEMBER_LIVE_KEYS,
        programsPerRotation: profile.member.programsPerRotation,
      },
      warmup,
      days,
      context,
    );
    const original = replayOriginal(warmup, days, context);
    const oursSectors = sectorTable('ours', ours);
    const sessionSectors = sectorTable('ours', session);
    const memberSectors = sectorTable('ours', member);
    const originalSectors = sectorTable('original', original);
    const first = (table: ReturnType<typeof sectorTable>): number | null => {
      const lives = table.map((s) => s.lifetimeYears).filter((y): y is number => y !== null);
      return lives.length === 0 ? null : Math.min(...lives);
    };
    const limiting = (table: ReturnType<typeof sectorTable>): number | undefined =>
      table.find((s) => s.lifetimeYears !== null && s.lifetimeYears === first(table))?.sector;
    const data = {
      deviceLifetimeYears: {
        mixed: { ours: first(oursSectors), original: first(originalSectors) },
        mixedMember: { ours: first(memberSectors) },
        mixedLibrarySession: { ours: first(sessionSectors) },
      },
      limitingSector: {
        mixed: { ours: limiting(oursSectors), original: limiting(originalSectors) },
        mixedMember: { ours: limiting(memberSectors) },
        mixedLibrarySession: { ours: limiting(sessionSectors) },
      },
      sectorLifetimeYears: {
        mixed: { ours: oursSectors, original: originalSectors },
        mixedMember: { ours: memberSectors },
        mixedLibrarySession: { ours: sessionSectors },
      },
      mixedWorkload: {
        rotationsPerDay: ROTATIONS_PER_DAY,
        loginsPerRotation: {
          admin: ADMIN_LOGINS_PER_ROTATION,
          member: MEMBER_LOGINS_PER_ROTATION,
          librarySession: API_SESSION_LOGINS_PER_DAY / ROTATIONS_PER_DAY,
          adminCliCommands: CLI_ROTATION.map((c) => `sekey admin ${c}`),
          note:
            'every sekey admin command and every sekey user U sync logs in to its HSM once (a try spent and ' +
            'restored in flash): the headline. mixedLibrarySession: the admin HSM of a library caller that keeps ' +
            'its session open, 100 logins a day (the rate an earlier version assumed for both HSMs)',
        },
        members: MEMBERS,
        liveKeys: LIVE_KEYS,
        warmupDays: warmup,
        replayDays: days,
        rotation:
          'admin: add-key (generated in the HSM), activate it, deactivate the previous key, destroy the one before ' +
          '(erased from the HSM), publish, the 20 members sync, collect-acks',
        commitsPerRotation: profile.commitsPerRotation,
        commitsPerRotationByStep: profile.commitsPerRotationByStep,
        commitsMeasuredOver: `${profile.rotations} rotations of the real admin (impl/kms), ${MEMBERS} real member HSMs`,
        adminProgramsPerRotation: profile.programsPerRotation,
        replayProgramsPerRotation: {
          admin: ours.programsPerRotation,
          adminLibrarySession: session.programsPerRotation,
          member: member.programsPerRotation,
          note:
            "the replays' program calls a rotation, logins aside, over the window's rotations that erased nothing; " +
            'the bench stops if they differ from what the real HSMs wrote (adminProgramsPerRotation, ' +
            'member.programsPerRotation) by more than 0.01',
        },
        member: {
          ...profile.member,
          liveKeys: MEMBER_LIVE_KEYS,
          note:
            'one member HSM of the rotated group under the same workload (every rotation reaches it); the ' +
            "original's member device writes only its key store, at a handful of live keys",
        },
        adminWindowErases: profile.windowErases,
        original:
          "the original firmware's device state (reference notes §7.1, §7.3): PINs are clear-text records in the key " +
          'store written at initialisation, no retry counter, no anti-rollback counter: logins and commits write no ' +
          'flash; its key store (2 sectors in ping-pong, rotation = delete + insert) with the same live keys',
        lifetime:
          'years until the first sector reaches 10,000 erases, from its erases per day in the replay window (after ' +
          'the warm-up days, the same for both designs; `erases` is the count in the window); sectors the workload ' +
          'never erases have lifetimeYears null',
      },
    };
    const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? 'never erased' : String(v));
    const stateSector = oursSectors[DEFAULT_STATE_SECTORS[0]];
    const keySector = oursSectors[DEFAULT_KEY_STORE_SECTORS[0] ?? 17];
    const table: string[][] = [
      ['commits per rotation (real admin, 20 acks)', String(profile.commitsPerRotation), 'none written to flash'],
      [
        'logins per rotation (CLI: one a command)',
        `admin ${ADMIN_LOGINS_PER_ROTATION}, member ${MEMBER_LOGINS_PER_ROTATION}`,
        'none written to flash',
      ],
      [
        'member HSM lifetime, mixed workload (years)',
        `${fmt(data.deviceLifetimeYears.mixedMember.ours)} (sector ${fmt(data.limitingSector.mixedMember.ours)})`,
        '',
      ],
      [
        'device lifetime, mixed workload (years)',
        `${fmt(data.deviceLifetimeYears.mixed.ours)} (sector ${fmt(data.limitingSector.mixed.ours)})`,
        `${fmt(data.deviceLifetimeYears.mixed.original)} (sector ${fmt(data.limitingSector.mixed.original)})`,
      ],
      ['  state sector 12 (years)', fmt(stateSector?.lifetimeYears), 'unused: never erased'],
      [
        '  library session, 100 logins a day (years)',
        `${fmt(data.deviceLifetimeYears.mixedLibrarySession.ours)} ` +
          `(sector ${fmt(data.limitingSector.mixedLibrarySession.ours)})`,
        '',
      ],
      [
        '  key store sector (years)',
        fmt(keySector?.lifetimeYears),
        fmt(originalSectors[ORIGINAL_SECTORS[0]]?.lifetimeYears),
      ],
    ];
    return { data, table, columns: ['whole device, mixed workload', 'ours', 'original'] };
  },
};
