/**
 * A small SEkey installation for tests: an admin HSM with its SD card, user HSMs provisioned from
 * it, one manual clock. Test support only. The HSMs are factory-fresh copies of seeded devices made
 * once per process (`freshDevice` in `secube.testkit.ts`): byte for byte and cycle for cycle what a
 * new `makeDevice` would give, without running factory init again for a seed seen before.
 * @module
 */
import type { GroupPolicy } from '../../model/kms.ts';
import type { SdCard } from '../../device/sdcard.ts';
import { USER_PIN, freshDevice } from '../../device/secube.testkit.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import type { Flash } from '../../device/flash.ts';
import type { GroupId, UserId } from '../../model/kms.ts';
import { Admin } from './admin.ts';
import { ManualClock } from './clock.ts';
import { provisionUser } from './distribution.ts';
import { Publisher } from './publisher.ts';
import { MemoryTransport } from '../protocol/transport.ts';
import { User } from './user.ts';
import { EncryptedDatabase } from '../db/encryptedDatabase.ts';
import { secubeDatabaseDevice } from '../db/secubeDatabaseDevice.ts';

/** A test installation. */
export interface World {
  readonly clock: ManualClock;
  readonly admin: Admin;
  readonly adminDevice: SecubeDevice;
  readonly adminCard: SdCard;
  readonly users: Map<UserId, User>;
  /** Each user device's flash and SD card, to cut power or inspect wear. */
  readonly hardware: Map<UserId, { readonly flash: Flash; readonly sd: SdCard }>;
  /** Provisions a device for an existing user and opens its replica. */
  addDevice(userId: UserId): Promise<User>;
  /**
   * An independent copy of this installation, as if every machine were powered off, copied and
   * started again: each HSM cloned with its flash and SD card (`SecubeDevice.simulatorClone`:
   * cells, wear, TRNG state, RAM and session), the share copied, a clock at the same time, and the
   * admin and every current replica opened again from their cloned cards, as a command opens them
   * (`Admin.open` erases orphan keys, `User.open` finishes owed HSM work; what a replica held only
   * in memory, such as an interrupted sync's record, and replicas of replaced devices are not
   * carried). What either world does later does not reach the other. For a suite that starts every
   * run from the same settled installation: built and checked once, forked per run.
   */
  fork(): Promise<World>;
  /** The shared folder. */
  readonly transport: MemoryTransport;
  readonly publisher: Publisher;
  /** Publishes update files, lets every user sync from them, collects acknowledgements. */
  syncByFiles(): Promise<void>;
  /**
   * Closes the admin's and every user's database, replaced ones included. Each holds an SQLite
   * connection in sql.js's WebAssembly memory, which the garbage collector cannot free: a property
   * suite that opens worlds run after run and never closes them grows by megabytes a run.
   */
  close(): void;
}

/** Card size of test devices: 64 MiB, so that the audit log lies beside the database (sparse: costs nothing). */
export const TEST_CARD_SECTORS = 131_072;

/** A fresh installation starting at `start`. */
export async function newWorld(start = Date.UTC(2026, 0, 1), seed = 'world'): Promise<World> {
  const clock = new ManualClock(start);
  const { device: adminDevice, sd: adminCard } = freshDevice(`${seed}-admin`, {
    cardSectors: TEST_CARD_SECTORS,
    adminSession: true,
  });
  const admin = await Admin.create({ device: adminDevice, sd: adminCard, clock });
  return assemble(seed, clock, adminDevice, adminCard, admin, new MemoryTransport()).world;
}

/** A world around an open admin: users are added by `addDevice` (or by `fork`, opened from clones). */
function assemble(
  seed: string,
  clock: ManualClock,
  adminDevice: SecubeDevice,
  adminCard: SdCard,
  admin: Admin,
  transport: MemoryTransport,
): { world: World; adopt(userId: UserId, user: User, hw: { flash: Flash; sd: SdCard }): void } {
  const users = new Map<UserId, User>();
  /** Every replica opened, those a later device of the same user replaced included. */
  const opened: User[] = [];
  const hardware = new Map<UserId, { flash: Flash; sd: SdCard }>();
  const publisher = new Publisher(admin, transport);
  const adopt = (userId: UserId, user: User, hw: { flash: Flash; sd: SdCard }) => {
    hardware.set(userId, hw);
    users.set(userId, user);
    opened.push(user);
  };
  const world: World = {
    transport,
    publisher,
    async syncByFiles() {
      await publisher.publish();
      for (const user of users.values()) await user.sync(transport);
      await publisher.collectAcknowledgements();
    },
    close() {
      admin.close();
      for (const user of opened) user.close();
    },
    clock,
    admin,
    adminDevice,
    adminCard,
    users,
    hardware,
    async addDevice(userId) {
      const { user, flash, sd } = await provisionDevice(admin, userId, `${seed}-${userId}-${users.size}`, clock);
      adopt(userId, user, { flash, sd });
      return user;
    },
    async fork() {
      const forkClock = new ManualClock(clock.now());
      const adminCopy = cloneWithCard(adminDevice);
      const forkAdmin = await Admin.open({ device: adminCopy.device, sd: adminCopy.sd, clock: forkClock });
      const share = new MemoryTransport();
      for (const [stream, files] of transport.streams) {
        share.streams.set(stream, new Map([...files].map(([name, bytes]) => [name, bytes.slice()])));
      }
      const copy = assemble(seed, forkClock, adminCopy.device, adminCopy.sd, forkAdmin, share);
      try {
        // In the order they were added, so that a later addDevice names its device as here.
        for (const [userId, user] of users) {
          const { device, flash, sd } = cloneWithCard(user.device);
          copy.adopt(userId, await User.open({ device, sd, clock: forkClock }), { flash, sd });
        }
      } catch (error) {
        copy.world.close();
        throw error;
      }
      return copy.world;
    },
  };
  return { world, adopt };
}

/**
 * A factory-fresh test HSM named `name` (its seed), provisioned by `admin` for `userId`, with the
 * user's replica created on it: what a new HSM for a user is, whichever admin provisions it.
 */
export async function provisionDevice(
  admin: Admin,
  userId: UserId,
  name: string,
  clock: ManualClock,
): Promise<{ user: User; flash: Flash; sd: SdCard }> {
  const { device, flash, sd } = freshDevice(name, { cardSectors: TEST_CARD_SECTORS, adminSession: true });
  const provisioning = provisionUser(admin, userId, device);
  device.logout();
  device.login('user', USER_PIN);
  return { user: await User.create({ provisioning, device, sd, clock }), flash, sd };
}

/**
 * The admin of `w` restored from `backup` (its HSM copied with its card: `simulatorClone`), opened
 * as a command opens it, with a publisher on the same share. A copy draws what its original drew (a
 * seeded TRNG, copied); a real HSM put back from a backup does not: one key made and erased on the
 * copy moves its TRNG on, as the time since the backup did, so that it does not draw the lost keys again.
 */
export async function restoreAdmin(w: World, backup: SecubeDevice): Promise<{ admin: Admin; publisher: Publisher }> {
  const sd = backup.sdcard;
  if (sd === undefined) throw new Error('a world device has a card');
  backup.generateKey(100_000);
  backup.deleteKey(100_000);
  const admin = await Admin.open({ device: backup, sd, clock: w.clock });
  return { admin, publisher: new Publisher(admin, w.transport) };
}

/** A clone of a test device (`simulatorClone`) with its card. */
function cloneWithCard(device: SecubeDevice): { device: SecubeDevice; flash: Flash; sd: SdCard } {
  const copy = device.simulatorClone();
  const sd = copy.device.sdcard;
  if (sd === undefined) throw new Error('a world device has a card');
  return { device: copy.device, flash: copy.flash, sd };
}

/** Policy of the team group: three keys, thirty-day cryptoperiod. */
export const TEAM_POLICY = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * 86_400_000 } as const;

/**
 * A world with alice (U1), bob (U2) and carol (U3), each with a device, all in G1 "team" under `policy`;
 * `start` and `seed` as {@link newWorld}'s.
 */
export async function newTeam(policy: GroupPolicy = TEAM_POLICY, start?: number, seed?: string): Promise<World> {
  const w = await newWorld(start, seed);
  for (const [id, name] of [
    ['U1', 'alice'],
    ['U2', 'bob'],
    ['U3', 'carol'],
  ] as const) {
    w.admin.addUser(id, name);
    await w.addDevice(id);
  }
  w.admin.addGroup('G1', 'team', policy);
  for (const u of ['U1', 'U2', 'U3']) w.admin.addMember('G1', u);
  return w;
}

/** Test users, by ID: alice (U1), bob, carol, dave, erin, frank (U6). */
export const PEOPLE: ReadonlyArray<readonly [UserId, string]> = [
  ['U1', 'alice'],
  ['U2', 'bob'],
  ['U3', 'carol'],
  ['U4', 'dave'],
  ['U5', 'erin'],
  ['U6', 'frank'],
];

/**
 * The admin alone, no user devices (rule tests that read what the admin reports, not what devices
 * receive): the first `userCount` of {@link PEOPLE}, then each of `groups` (ID, name, members) with
 * {@link TEAM_POLICY}.
 */
export async function newAdminWorld(
  userCount: number,
  groups: ReadonlyArray<readonly [GroupId, string, readonly UserId[]]>,
): Promise<World> {
  const w = await newWorld();
  for (const [id, name] of PEOPLE.slice(0, userCount)) w.admin.addUser(id, name);
  for (const [id, name, members] of groups) {
    w.admin.addGroup(id, name, TEAM_POLICY);
    for (const u of members) w.admin.addMember(id, u);
  }
  return w;
}

/**
 * `userId`'s replica closed, `owed` committed as HSM work its applied updates still owe (each
 * `[kind, key number, order or blob]`), and the replica opened again as a command opens it
 * (`User.open` tries the owed work): what an apply leaves whose work the HSM did not carry out.
 */
export async function reopenOwing(
  w: World,
  userId: UserId,
  owed: ReadonlyArray<readonly ['import' | 'erase', number, Uint8Array]>,
): Promise<User> {
  const user = w.users.get(userId);
  const hw = w.hardware.get(userId);
  if (user === undefined || hw === undefined) throw new Error(`test bug: ${userId} has no device`);
  user.close();
  const db = await EncryptedDatabase.open(secubeDatabaseDevice(user.device), hw.sd);
  db.transaction((d) => {
    for (const [kind, keyNumber, data] of owed)
      d.run('INSERT INTO pending_device_ops (kind, key_number, data) VALUES (?, ?, ?)', [kind, keyNumber, data]);
  });
  db.close();
  return User.open({ device: user.device, sd: hw.sd, clock: w.clock });
}
