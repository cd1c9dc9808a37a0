/**
 * A real SEkey deployment over simulated hardware: the admin HSM with its encrypted database on its
 * SD card, user HSMs provisioned from it with their own encrypted databases, and the directory
 * transport in a temporary folder (the share), all on a manual clock: the admin's, which each user's
 * host reads with its own fixed offset (its clock skew, 0 unless told). Devices are simulated (flash
 * with power cuts, SD cards with torn writes, a cycle meter per physical device), everything else is
 * the production code. `sekey simulate` lives a deployment over months; the deployment property
 * suite (`properties/deployment/`) runs random commands on one. Both check it with the same
 * invariants (named in `invariantError.ts`, checked by the files beside it).
 *
 * The only seams are {@link DeploymentHooks}: places where a caller may wrap or replace one step (the
 * property suite's deliberately broken variants use them to show that each invariant bites). With no
 * hooks the deployment is the system as shipped.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manufacturer } from '../../device/attestation.ts';
import { CycleMeter } from '../../device/costModel.ts';
import { Flash } from '../../device/flash.ts';
import { KeyStore } from '../../device/keyStore.ts';
import type { KeyStoreOptions } from '../../device/keyStore.ts';
import { SdCard } from '../../device/sdcard.ts';
import { DEFAULT_STATE_SECTORS, SecubeDevice } from '../../device/secube.ts';
import type { DeviceState } from '../../device/deviceState.ts';
import { RecordArea } from '../../device/recordArea.ts';
import { readStateRecord } from '../../device/stateJournal.ts';
import type { UserId } from '../../model/kms.ts';
import { Admin } from '../kms/admin.ts';
import { ManualClock } from '../kms/clock.ts';
import type { Clock } from '../kms/clock.ts';
import { provisionUser } from '../kms/distribution.ts';
import { Publisher } from '../kms/publisher.ts';
import { User } from '../kms/user.ts';
import type { KeyChoice } from '../kms/user.ts';
import type { SyncReport } from '../kms/userSync.ts';
import { SyncStalledError } from '../kms/syncStalledError.ts';
import { DirectoryTransport } from '../host/directoryTransport.ts';
import { MemoryTransport } from '../protocol/transport.ts';
import type { Transport } from '../protocol/transport.ts';
import { ackStream, updateStream } from '../protocol/streams.ts';
import { isKmsDeviceKey } from '../protocol/deviceKeyIds.ts';
import { decodeMessage } from '../protocol/message.ts';
import { SecretTap } from './secretTap.ts';

/**
 * SD card size of every simulated user device: 131,072 sectors of 512 bytes (64 MiB), ample for a
 * replica of a few thousand keys. Cards are sparse (`SdCard`): a larger one costs nothing until
 * written.
 */
const DEPLOYMENT_CARD_SECTORS = 131_072;

/**
 * SD card size of the simulated admin HSM: 2,097,152 sectors (1 GiB, a small microSD card). The
 * admin's database holds every file published and not yet acknowledged (the outbox), and a first
 * publication to n users holds n resync files that each list the users their reader shares a group
 * with: about n² bytes. At `sekey simulate`'s largest installation (1,000 users) that first
 * publication needs about 6,600 pages (27 MB), past the 3,640 a 64 MiB card holds.
 */
const ADMIN_CARD_SECTORS = 2_097_152;

/** How the simulated devices are made: their PINs, their manufacturer, and the PIN hashing cost. */
export interface DeviceFactory {
  readonly userPin: string;
  readonly adminPin: string;
  /** The one manufacturer of every device of the deployment, so they trust each other. */
  readonly manufacturer: Manufacturer;
  /** PBKDF2 iterations of the PIN verifiers (the device's default when omitted). */
  readonly pinIterations?: number;
}

/** The devices of a deployment unless told otherwise (deterministic: the manufacturer is seeded). */
const DEFAULT_DEVICE_FACTORY: DeviceFactory = {
  userPin: 'simulated-user-pin',
  adminPin: 'simulated-admin-pin',
  manufacturer: Manufacturer.generate('sekey-simulated-manufacturer'),
};

/**
 * Where a caller may change one step of the deployment. The property suite's broken variants are
 * made of these; `sekey simulate` uses none.
 */
export interface DeploymentHooks {
  /** Wraps the transport the system writes through (inside the recording of genuine files). */
  readonly transport?: (inner: Transport, secrets: SecretTap) => Transport;
  /** Called on every publisher the deployment makes (may change its methods). */
  readonly publisher?: (publisher: Publisher) => void;
  /** Called after a power cut's reboot, before the replica reopens; `device` is in an admin session. */
  readonly afterReboot?: (device: SecubeDevice) => void;
  /** An old SD image put back also puts back the HSM's flash image (a device without anti-rollback storage). */
  readonly rollbackFlashToo?: boolean;
  /** Called after each sync of a user. */
  readonly afterSync?: (deployment: Deployment, slot: UserSlot) => void;
  /**
   * Called when a user's sync stalls on a full key store (`SyncStalledError`, which the shipped
   * system throws): what it returns is the sync's answer instead.
   */
  readonly stalledSync?: (deployment: Deployment, slot: UserSlot, stalled: SyncStalledError) => Promise<SyncReport>;
  /** Replaces a user's key choice (`real` is the implementation's). */
  readonly findKey?: (user: User, recipients: readonly UserId[], real: KeyChoice) => KeyChoice;
  /** Replaces what a decryption returns. */
  readonly decrypt?: (plaintext: Uint8Array) => Uint8Array;
}

/** One user's hardware and its open replica. */
export interface UserSlot {
  readonly userId: UserId;
  device: SecubeDevice;
  flash: Flash;
  sd: SdCard;
  /** The replica; null while the device cannot be opened (a refused SD image). */
  user: User | null;
  /** Which physical device this is (0 = first; grows with each re-provisioning). */
  incarnation: number;
  /** Older (flash, SD) images of this device, newest last: what an attacker can put back. */
  readonly archive: Array<{ flash: Uint8Array; sd: Uint8Array }>;
  /**
   * How its key store was formatted, when not as the device's default ({@link smallKeyStore}): every
   * boot of this flash must mount it so (the store's cap on live keys is not read from flash).
   */
  readonly keyStore?: SmallKeyStore;
  /** Its own keys (wrapping and channel keys) once provisioned: counted then, as it may lack power later. */
  readonly ownKeys?: number;
}

/** A key store formatted to admit few keys ({@link smallKeyStore}). */
export interface SmallKeyStore {
  readonly options: KeyStoreOptions;
  /** The live keys it admits, every purpose counted (the HSM's own keys too). */
  readonly maxKeys: number;
}

/** Raw slots of the device's default key store (seven 128 KiB sectors), read from a store formatted once. */
let defaultRawSlots: number | null = null;

/**
 * A key store on the device's default sectors that admits `maxKeys` live keys: the device's own
 * setting of the share of its raw slots it admits (`KeyStoreOptions.maxFill`, 40 % by default, about
 * 9,900 keys), set low. An HSM whose store admits few keys is one a deployment fills: one whose
 * store is mostly taken by other applications' keys reaches the same `StoreFull` the same way, only
 * after thousands of keys instead of a few.
 */
export function smallKeyStore(maxKeys: number): SmallKeyStore {
  defaultRawSlots ??= KeyStore.format(new Flash({ seed: 1 })).capacity.rawSlots;
  // ⌊maxFill × raw slots⌋ is what the store admits: half a slot above `maxKeys` rounds down to it.
  return { options: { maxFill: (maxKeys + 0.5) / defaultRawSlots }, maxKeys };
}

/** How many old images an attacker keeps per device. */
const ARCHIVE_DEPTH = 3;

/** Options of a deployment. */
export interface DeploymentOptions {
  readonly seed: string;
  readonly start: number;
  readonly devices?: DeviceFactory;
  readonly hooks?: DeploymentHooks;
  /**
   * Where the share lives: a temporary folder (the default: the files a real share carries), or
   * memory, for an installation kept for the whole process (the foreign one of the attacks), which
   * no `finally` disposes of: a worker ends without running exit handlers, so a folder would stay.
   */
  readonly share?: 'folder' | 'memory';
  /**
   * Each user host's clock skew: how far its clock reads ahead of the admin host's (ms, negative
   * behind), fixed for the deployment's life; a user not named reads the admin's time (0). Every
   * host clock moves with the admin's: only the offset differs.
   */
  readonly skews?: Readonly<Record<UserId, number>>;
}

/** A user host's clock: the admin host's time, offset by that host's fixed skew. */
export class SkewedClock implements Clock {
  readonly #base: Clock;
  readonly skewMs: number;

  constructor(base: Clock, skewMs: number) {
    if (!Number.isSafeInteger(skewMs)) throw new RangeError(`a clock skew is a whole number of ms, got ${skewMs}`);
    this.#base = base;
    this.skewMs = skewMs;
  }

  now(): number {
    return this.#base.now() + this.skewMs;
  }
}

/** A physical device's name: `admin`, a user's ID for its first device, `U3#2` for its second. */
function deviceName(userId: UserId, incarnation: number): string {
  return incarnation === 0 ? userId : `${userId}#${incarnation + 1}`;
}

/** A physical device of the deployment: what its cycle meter and flash wear are read from. */
export interface Hardware {
  readonly name: string;
  readonly role: 'admin' | 'user';
  readonly meter: CycleMeter;
  /** Its flash now (an image put back replaces the object; erase counts travel with the image). */
  flash: Flash;
}

/** The real system. */
export class Deployment {
  /** The temporary folder holding the share; null for a share in memory. */
  readonly root: string | null;
  readonly clock: ManualClock;
  readonly secrets: SecretTap;
  readonly share: Transport;
  readonly transport: Transport;
  readonly users = new Map<UserId, UserSlot>();
  readonly seed: string;
  readonly devices: DeviceFactory;
  readonly hooks: DeploymentHooks;
  /** Every physical device ever made, by name, in order of creation (replaced ones stay). */
  readonly hardware = new Map<string, Hardware>();
  adminDevice: SecubeDevice;
  adminFlash: Flash;
  adminCard: SdCard;
  admin: Admin;
  publisher: Publisher;
  /** Everything the host printed or got back since the last key-secrecy check: scanned for secrets. */
  readonly outputs: unknown[] = [];
  /** Each user host's clock skew against the admin's ({@link DeploymentOptions.skews}). */
  readonly skews: Readonly<Record<UserId, number>>;

  private constructor(options: DeploymentOptions, devices: DeviceFactory, admin: AdminParts, root: string | null) {
    this.secrets = admin.secrets;
    this.seed = options.seed;
    this.devices = devices;
    this.hooks = options.hooks ?? {};
    this.skews = { ...options.skews };
    this.root = root;
    this.clock = admin.clock;
    this.adminDevice = admin.device;
    this.adminFlash = admin.flash;
    this.adminCard = admin.card;
    this.admin = admin.admin;
    this.hardware.set('admin', { name: 'admin', role: 'admin', meter: admin.meter, flash: admin.flash });
    this.share =
      root === null ? new MemoryTransport() : new DirectoryTransport(join(root, 'share'), { durable: false });
    const inner = this.hooks.transport?.(this.share, this.secrets) ?? this.share;
    this.transport = recordingTransport(inner, this.share, this.genuine, (stream, name, bytes) =>
      this.#see(stream, name, bytes, true),
    );
    this.publisher = this.#newPublisher();
  }

  /** A fresh installation: an admin HSM, its database, an empty share in a temporary folder. */
  static async create(options: DeploymentOptions): Promise<Deployment> {
    const devices = options.devices ?? DEFAULT_DEVICE_FACTORY;
    const root = options.share === 'memory' ? null : mkdtempSync(join(tmpdir(), 'sekey-deploy-'));
    const clock = new ManualClock(options.start);
    const meter = new CycleMeter();
    const card = new SdCard({ sectorCount: ADMIN_CARD_SECTORS, meter });
    const { device, flash } = newDevice(devices, `${options.seed}-admin`, card, meter);
    const secrets = new SecretTap();
    secrets.tap(device, 'admin');
    device.login('admin', devices.adminPin);
    secrets.recordHeld(device, 'admin');
    const admin = await Admin.create({ device, sd: card, clock });
    return new Deployment(options, devices, { secrets, device, flash, card, admin, clock, meter }, root);
  }

  /** The clock of `userId`'s host: the admin's, offset by that host's skew. */
  userClock(userId: UserId): Clock {
    const skew = this.skews[userId] ?? 0;
    return skew === 0 ? this.clock : new SkewedClock(this.clock, skew);
  }

  #newPublisher(): Publisher {
    const publisher = new Publisher(this.admin, this.transport);
    this.hooks.publisher?.(publisher);
    return publisher;
  }

  /**
   * The genuine files: bytes hash of everything written through the system's transport (by the
   * publisher and by users' acknowledgements), by `stream/name`.
   */
  readonly genuine = new Map<string, string>();
  /**
   * The hashes of the genuine files of each user's update stream when an incarnation of its HSM was
   * provisioned, by `U#incarnation`: files sealed under the channel keys of an earlier provisioning.
   * A factory reset keeps the HSM's serial (`secubeFactory.ts`), so such a file still names the HSM,
   * which can no longer open it; a check that judges a file by the HSM it names leaves these out.
   */
  readonly streamWhenProvisioned = new Map<string, ReadonlySet<string>>();

  /** Records {@link streamWhenProvisioned} for `userId`'s HSM in its `incarnation`, just provisioned. */
  #noteProvisioned(userId: UserId, incarnation: number): void {
    const prefix = `${updateStream(userId)}/`;
    const hashes = [...this.genuine].filter(([path]) => path.startsWith(prefix)).map(([, hash]) => hash);
    this.streamWhenProvisioned.set(`${userId}#${incarnation}`, new Set(hashes));
  }
  /**
   * What the adversary has seen on the share, by stream and bytes hash: its recordings for replays,
   * the newest {@link SEEN_PER_STREAM} files of each stream. It sees every file as it is written
   * (the system's through {@link transport}): a file published and acknowledged between two looks
   * at the share, the usual case in a day, is seen all the same.
   */
  readonly seen = new Map<string, Map<string, Uint8Array>>();
  /**
   * The name the system first wrote each file of {@link seen} under, by stream and bytes hash (kept
   * as long as the recording): what an attack replaying a recording says it was, even once the system
   * wrote that name again with other bytes ({@link genuine} holds the last: an acknowledgement deleted
   * and sealed anew).
   */
  readonly wroteAs = new Map<string, Map<string, string>>();
  /** Files seen and not yet scanned for key bytes (`checkKeySecrecy` takes them). */
  #unscanned: Array<ShareFile> = [];

  #see(stream: string, name: string, bytes: Uint8Array, bySystem = false): void {
    const recorded = this.seen.get(stream) ?? new Map<string, Uint8Array>();
    this.seen.set(stream, recorded);
    const hash = hashOf(bytes);
    if (bySystem) {
      const names = this.wroteAs.get(stream) ?? new Map<string, string>();
      this.wroteAs.set(stream, names);
      if (!names.has(hash)) names.set(hash, name);
    }
    if (recorded.has(hash)) return;
    recorded.set(hash, bytes);
    if (recorded.size > SEEN_PER_STREAM) {
      const oldest = recorded.keys().next().value as string;
      recorded.delete(oldest);
      this.wroteAs.get(stream)?.delete(oldest);
    }
    this.#unscanned.push({ stream, name, bytes });
  }

  /** The files seen since the last call, each once: what the key-secrecy check must scan. */
  takeUnscanned(): ShareFile[] {
    const files = this.#unscanned;
    this.#unscanned = [];
    return files;
  }

  /** The adversary looks at every file on the share: what others (itself included) put there. */
  async observe(userIds: readonly UserId[]): Promise<void> {
    for (const userId of userIds) {
      for (const stream of [updateStream(userId), ackStream(userId)]) {
        for (const name of await this.share.list(stream)) {
          const bytes = await this.share.read(stream, name);
          if (bytes !== null) this.#see(stream, name, bytes);
        }
      }
    }
  }

  /** Whether every file in a user's update stream is one the system wrote, under the name it used. */
  async streamIsGenuine(userId: UserId): Promise<boolean> {
    const stream = updateStream(userId);
    for (const name of await this.share.list(stream)) {
      const bytes = await this.share.read(stream, name);
      if (bytes !== null && this.genuine.get(`${stream}/${name}`) !== hashOf(bytes)) return false;
    }
    return true;
  }

  /**
   * Factory-resets a user's HSM (from a logged-out or admin session, or once locked) and provisions
   * the same hardware again, with a new SD card: the recovery of a device whose PINs were lost.
   */
  async resetAndReprovision(userId: UserId): Promise<void> {
    const slot = this.slot(userId);
    const { userPin, adminPin, manufacturer } = this.devices;
    slot.user?.close();
    slot.user = null;
    slot.device.factoryReset({ userPin, adminPin, manufacturer });
    const meter = this.#hardwareOf(slot).meter;
    const card = new SdCard({ sectorCount: DEPLOYMENT_CARD_SECTORS, meter });
    slot.sd = card;
    slot.device = this.#boot(
      slot.flash,
      card,
      `${this.seed}-${userId}-reset-${slot.incarnation}-${this.#nextBoot()}`,
      slot.keyStore,
    );
    slot.incarnation += 1;
    slot.archive.length = 0;
    this.secrets.tap(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.login('admin', adminPin);
    const provisioning = provisionUser(this.admin, userId, slot.device);
    this.#noteProvisioned(userId, slot.incarnation);
    this.secrets.recordHeld(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.logout();
    slot.device.login('user', userPin);
    slot.user = await User.create({ provisioning, device: slot.device, sd: card, clock: this.userClock(userId) });
  }

  #boots = 0;

  /**
   * A fresh seed suffix for each device object built over existing flash: the simulator's TRNG is
   * seeded from the construction seed alone, so two boots with one seed would draw the same random
   * bytes (nonces equal to an earlier key's bytes, which key-secrecy rightly reports).
   */
  #nextBoot(): number {
    this.#boots += 1;
    return this.#boots;
  }

  /** A device object over existing flash and a card (a reboot with other media), its key store mounted as formatted. */
  #boot(flash: Flash, sdcard: SdCard, seed: string, keyStore?: SmallKeyStore): SecubeDevice {
    const { pinIterations } = this.devices;
    return new SecubeDevice({
      flash,
      sdcard,
      seed,
      testHooks: true,
      ...(pinIterations === undefined ? {} : { pinIterations }),
      ...(keyStore === undefined ? {} : { keyStore: keyStore.options }),
    });
  }

  /**
   * Closes the admin's and every replica's database and removes the temporary folder. Closing is
   * what frees a database: each holds an SQLite connection in sql.js's WebAssembly memory, out of
   * the garbage collector's reach.
   */
  dispose(): void {
    this.admin.close();
    for (const slot of this.users.values()) slot.user?.close();
    if (this.root !== null) rmSync(this.root, { recursive: true, force: true });
  }

  /** Records what the host saw (scanned by key-secrecy). */
  output(value: unknown): void {
    this.outputs.push(value);
  }

  /** The physical device a slot's flash belongs to. */
  #hardwareOf(slot: UserSlot): Hardware {
    for (const h of this.hardware.values()) if (h.flash === slot.flash) return h;
    throw new Error(`deployment bug: ${slot.userId}'s flash belongs to no known device`);
  }

  /**
   * Provisions a new HSM for `userId` (the first one, or a replacement for a lost one) and opens its
   * replica on a new SD card. Its key store is the device's default unless `keyStore` says otherwise.
   */
  async provision(userId: UserId, keyStore?: SmallKeyStore): Promise<UserSlot> {
    const old = this.users.get(userId);
    const incarnation = old === undefined ? 0 : old.incarnation + 1;
    let made = 0;
    for (const h of this.hardware.values()) if (h.name === userId || h.name.startsWith(`${userId}#`)) made += 1;
    const name = deviceName(userId, made);
    const meter = new CycleMeter();
    const card = new SdCard({ sectorCount: DEPLOYMENT_CARD_SECTORS, meter });
    const { device, flash } = newDevice(this.devices, `${this.seed}-${userId}-${incarnation}`, card, meter, keyStore);
    this.hardware.set(name, { name, role: 'user', meter, flash });
    this.secrets.tap(device, `${userId}#${incarnation}`);
    device.login('admin', this.devices.adminPin);
    const provisioning = provisionUser(this.admin, userId, device);
    this.#noteProvisioned(userId, incarnation);
    this.secrets.recordHeld(device, `${userId}#${incarnation}`);
    device.logout();
    device.login('user', this.devices.userPin);
    const user = await User.create({ provisioning, device, sd: card, clock: this.userClock(userId) });
    old?.user?.close();
    const ownKeys = device.listKeyIds().filter((n) => !isKmsDeviceKey(n)).length;
    const base = { userId, device, flash, sd: card, user, incarnation, archive: [] };
    const slot: UserSlot = keyStore === undefined ? base : { ...base, keyStore, ownKeys };
    this.users.set(userId, slot);
    return slot;
  }

  /** Reboots the admin HSM after a power cut and reopens the administrator. */
  async reopenAdmin(): Promise<void> {
    this.adminFlash.cancelPowerCut();
    this.adminCard.cancelPowerCut();
    this.adminDevice.cutPower();
    this.adminDevice.powerOn();
    this.adminDevice.login('admin', this.devices.adminPin);
    this.hooks.afterReboot?.(this.adminDevice);
    // The host lost its memory with the power: the old connection is gone (and must be freed).
    this.admin.close();
    this.admin = await Admin.open({ device: this.adminDevice, sd: this.adminCard, clock: this.clock });
    this.publisher = this.#newPublisher();
  }

  /** Reboots a user HSM after a power cut and reopens its replica (throws if it cannot). */
  async reopenUser(userId: UserId): Promise<User> {
    const slot = this.slot(userId);
    slot.flash.cancelPowerCut();
    slot.sd.cancelPowerCut();
    slot.device.cutPower();
    slot.device.powerOn();
    if (this.hooks.afterReboot) {
      slot.device.login('admin', this.devices.adminPin);
      this.hooks.afterReboot(slot.device);
      slot.device.logout();
    }
    slot.device.login('user', this.devices.userPin);
    slot.user?.close();
    slot.user = null;
    slot.user = await User.open({ device: slot.device, sd: slot.sd, clock: this.userClock(userId) });
    return slot.user;
  }

  /**
   * A power cut armed at the n-th update check (`openUpdate`) of a user's HSM, with the interface
   * of a medium's cut (`cutPowerAfter`, `cancelPowerCut`): the HSM loses power as it starts the check.
   * The check writes nothing, so a cut at a write never falls there. The admin checks no update:
   * armed on it, the cut is never reached.
   */
  updateCheckCut(target: 'admin' | UserId): { cutPowerAfter(n: number): void; cancelPowerCut(): void } {
    if (target === 'admin') return { cutPowerAfter: () => {}, cancelPowerCut: () => {} };
    const device = this.slot(target).device;
    const check = device.openUpdate;
    return {
      cutPowerAfter(n: number) {
        let calls = 0;
        device.openUpdate = (...args: Parameters<typeof check>) => {
          calls += 1;
          if (calls === n) device.cutPower();
          return check.apply(device, args);
        };
      },
      cancelPowerCut() {
        device.openUpdate = check;
      },
    };
  }

  /** The slot of a provisioned user. */
  slot(userId: UserId): UserSlot {
    const slot = this.users.get(userId);
    if (!slot) throw new Error(`deployment bug: ${userId} has no device`);
    return slot;
  }

  /** Older SD images of the admin device, newest last: what an attacker can put back. */
  readonly adminArchive: Uint8Array[] = [];

  /** Keeps the admin card's current image for later rollback attacks. */
  archiveAdmin(): void {
    this.adminArchive.push(this.adminCard.toImage());
    if (this.adminArchive.length > ARCHIVE_DEPTH) this.adminArchive.shift();
  }

  /**
   * Puts an old SD image into the admin HSM (an attacker, or a careless restore from backup) and
   * tries to open the administrator. Returns the error if refused, null if it opened.
   */
  async insertAdminCard(image: Uint8Array): Promise<unknown | null> {
    this.admin.close();
    this.adminCard = SdCard.fromImage(image, adminMeter(this));
    this.adminDevice = this.#boot(this.adminFlash, this.adminCard, `${this.seed}-admin-reboot-${this.#nextBoot()}`);
    this.secrets.tap(this.adminDevice, 'admin');
    this.adminDevice.login('admin', this.devices.adminPin);
    try {
      this.admin = await Admin.open({ device: this.adminDevice, sd: this.adminCard, clock: this.clock });
      this.publisher = this.#newPublisher();
      return null;
    } catch (error) {
      return error;
    }
  }

  /** Puts the admin's genuine card back and reopens the administrator. */
  async restoreAdmin(image: Uint8Array): Promise<void> {
    const refusal = await this.insertAdminCard(image);
    if (refusal !== null) throw refusal;
  }

  /** Keeps the current images of a user's device for later rollback attacks. */
  archive(userId: UserId): void {
    const slot = this.slot(userId);
    slot.archive.push({ flash: slot.flash.toImage(), sd: slot.sd.toImage() });
    if (slot.archive.length > ARCHIVE_DEPTH) slot.archive.shift();
  }

  /**
   * Puts an SD image into a user's slot (an attacker swapping cards) and tries to open it. Returns
   * the error if the device refused it; the caller restores the genuine card afterwards.
   */
  async insertCard(userId: UserId, image: Uint8Array, flashImage?: Uint8Array): Promise<unknown | null> {
    const slot = this.slot(userId);
    const hardware = this.#hardwareOf(slot);
    slot.user?.close();
    slot.user = null;
    slot.sd = SdCard.fromImage(image, { meter: hardware.meter });
    if (flashImage !== undefined && this.hooks.rollbackFlashToo === true) {
      slot.flash = Flash.fromImage(flashImage, { meter: hardware.meter });
      hardware.flash = slot.flash;
    }
    slot.device = this.#boot(slot.flash, slot.sd, `${this.seed}-${userId}-reboot-${this.#nextBoot()}`, slot.keyStore);
    this.secrets.tap(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.login('user', this.devices.userPin);
    try {
      slot.user = await User.open({ device: slot.device, sd: slot.sd, clock: this.userClock(userId) });
      return null;
    } catch (error) {
      return error;
    }
  }

  /** Restores a user's genuine images (after a refused attack) and reopens its replica. */
  async restoreDevice(userId: UserId, images: { flash: Uint8Array; sd: Uint8Array }): Promise<void> {
    const slot = this.slot(userId);
    const hardware = this.#hardwareOf(slot);
    slot.user?.close();
    slot.user = null;
    slot.sd = SdCard.fromImage(images.sd, { meter: hardware.meter });
    slot.flash = Flash.fromImage(images.flash, { meter: hardware.meter });
    hardware.flash = slot.flash;
    slot.device = this.#boot(slot.flash, slot.sd, `${this.seed}-${userId}-restore-${this.#nextBoot()}`, slot.keyStore);
    this.secrets.tap(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.login('user', this.devices.userPin);
    slot.user = await User.open({ device: slot.device, sd: slot.sd, clock: this.userClock(userId) });
  }

  /** A user syncs from the share. */
  async sync(userId: UserId): Promise<SyncReport> {
    const slot = this.slot(userId);
    let report: SyncReport;
    try {
      report = await openUser(slot).sync(this.transport);
    } catch (error) {
      if (!(error instanceof SyncStalledError) || this.hooks.stalledSync === undefined) throw error;
      report = await this.hooks.stalledSync(this, slot, error);
    }
    this.hooks.afterSync?.(this, slot);
    return report;
  }

  /** A user's key choice for `recipients` (`User.findKey`). */
  findKey(userId: UserId, recipients: readonly UserId[]): KeyChoice {
    const user = openUser(this.slot(userId));
    const choice = user.findKey(recipients);
    return this.hooks.findKey?.(user, recipients, choice) ?? choice;
  }

  /** A user decrypts a message. */
  decrypt(userId: UserId, message: Uint8Array): Uint8Array {
    const plain = openUser(this.slot(userId)).decrypt(message);
    return this.hooks.decrypt?.(plain) ?? plain;
  }

  /** KMS keys in a user's HSM, as model key IDs. */
  heldKeys(userId: UserId): string[] {
    return this.slot(userId)
      .device.listKeyIds()
      .filter(isKmsDeviceKey)
      .map((n) => `K${n}`);
  }

  /**
   * The device state `userId`'s HSM would boot with were its power to go now: its state record, read
   * from a copy of its flash (neither touched nor charged). Undefined for an HSM never initialized.
   */
  bootState(userId: UserId): DeviceState | undefined {
    return bootStateOf(this.slot(userId).flash);
  }

  /** {@link bootState} of the admin HSM. */
  adminBootState(): DeviceState | undefined {
    return bootStateOf(this.adminFlash);
  }

  /**
   * How many KMS keys a user's HSM has room for: what its key store admits less the HSM's own keys
   * (its wrapping and channel keys); unbounded for a store of the default size, which no run fills.
   */
  kmsRoom(userId: UserId): number {
    const slot = this.slot(userId);
    return slot.keyStore === undefined ? Number.POSITIVE_INFINITY : slot.keyStore.maxKeys - (slot.ownKeys ?? 0);
  }

  /** The latest sequence the admin committed to each user's stream (its database's `streams` table). */
  streamSequences(): Map<UserId, number> {
    const rows = this.admin.readDatabase(
      (db) => (db.exec('SELECT user_id, sequence FROM streams')[0]?.values ?? []) as Array<[string, number]>,
    );
    return new Map(rows.map(([u, s]) => [String(u), Number(s)]));
  }

  /** KMS keys in the admin HSM, as model key IDs. */
  adminKeys(): string[] {
    return this.adminDevice
      .listKeyIds()
      .filter(isKmsDeviceKey)
      .map((n) => `K${n}`);
  }
}

interface AdminParts {
  readonly secrets: SecretTap;
  readonly device: SecubeDevice;
  readonly flash: Flash;
  readonly card: SdCard;
  readonly admin: Admin;
  readonly clock: ManualClock;
  readonly meter: CycleMeter;
}

function adminMeter(d: Deployment): { meter: CycleMeter } {
  return { meter: (d.hardware.get('admin') as Hardware).meter };
}

/** A factory-initialised device on a metered flash (the flash's torn-write model seeded at 1). */
/** The state a device on `flash` boots with, read from an uncharged copy (`Flash.clone` without a meter). */
function bootStateOf(flash: Flash): DeviceState | undefined {
  return readStateRecord(new RecordArea({ flash: flash.clone(), sectors: DEFAULT_STATE_SECTORS }))?.state;
}

function newDevice(
  devices: DeviceFactory,
  seed: string,
  sdcard: SdCard,
  meter: CycleMeter,
  keyStore?: SmallKeyStore,
): { device: SecubeDevice; flash: Flash } {
  const flash = new Flash({ meter, seed: 1 });
  const { pinIterations } = devices;
  const device = new SecubeDevice({
    flash,
    sdcard,
    seed,
    testHooks: true,
    ...(pinIterations === undefined ? {} : { pinIterations }),
    ...(keyStore === undefined ? {} : { keyStore: keyStore.options }),
  });
  device.factoryInit({ userPin: devices.userPin, adminPin: devices.adminPin, manufacturer: devices.manufacturer });
  return { device, flash };
}

/** A user's open replica, or a bug of the caller. */
export function openUser(slot: UserSlot): User {
  if (slot.user === null) throw new Error(`deployment bug: ${slot.userId}'s replica is not open`);
  return slot.user;
}

/** The key a message names. */
export function messageKey(message: Uint8Array): string {
  return decodeMessage(message).keyId;
}

/**
 * Files of one stream the adversary keeps for replays: the newest, enough for every replay and
 * misdelivery to draw among many, bounded so that a simulation of years does not keep them all.
 */
export const SEEN_PER_STREAM = 64;

function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A file as it lay on the share: its stream, its name and its bytes. */
export interface ShareFile {
  readonly stream: string;
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * Records, by `stream/name`, the hash of what actually landed on the share for every write, and
 * shows the adversary (`see`) what landed.
 */
function recordingTransport(
  inner: Transport,
  share: Transport,
  genuine: Map<string, string>,
  see: (stream: string, name: string, bytes: Uint8Array) => void,
): Transport {
  return {
    list: (s) => inner.list(s),
    read: (s, n) => inner.read(s, n),
    remove: (s, n) => inner.remove(s, n),
    write: async (s, n, bytes) => {
      await inner.write(s, n, bytes);
      const landed = await share.read(s, n);
      if (landed === null) return;
      genuine.set(`${s}/${n}`, hashOf(landed));
      see(s, n, landed);
    },
  };
}
