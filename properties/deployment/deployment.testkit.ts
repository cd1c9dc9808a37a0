/**
 * A real SEkey deployment for the model-based suite: the admin HSM with its encrypted database on
 * its SD card, user HSMs provisioned from it with their own encrypted databases, and the directory
 * transport in a temporary folder (the share). Devices are simulated (flash with power cuts, SD
 * cards with torn writes), everything else is the production code.
 *
 * Deliberately broken variants ({@link Mutant}) live here too — switches of this test kit, never
 * of production code — so that each invariant of the suite can be shown to bite.
 * Test support only.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { SecubeDevice } from '../../device/secube.ts';
import { ADMIN_PIN, TEST_MANUFACTURER, USER_PIN, makeDevice } from '../../device/secube.testkit.ts';
import { ackStream, updateStream } from '../../impl/protocol/streams.ts';
import type { GroupId, UserId } from '../../model/kms.ts';
import { Admin } from '../../impl/kms/admin.ts';
import { ManualClock } from '../../impl/kms/clock.ts';
import { provisionUser } from '../../impl/kms/distribution.ts';
import { Publisher } from '../../impl/kms/publisher.ts';
import { User } from '../../impl/kms/user.ts';
import type { KeyChoice, SyncReport } from '../../impl/kms/user.ts';
import { DirectoryTransport } from '../../impl/host/directoryTransport.ts';
import type { Transport } from '../../impl/protocol/transport.ts';
import { deviceKeyNumber, isKmsDeviceKey } from '../../impl/protocol/deviceKeyIds.ts';
import { decodeMessage } from '../../impl/protocol/message.ts';
import { TEST_CARD_SECTORS } from '../../impl/kms/world.testkit.ts';
import { BROKEN_REKEY } from './brokenRekey.testkit.ts';
import { SecretTap } from './secretTap.testkit.ts';

/**
 * Deliberately broken variants, one per invariant, to show that each invariant bites:
 * - `leakKeyIntoShare` (key-secrecy): every update file written to the share carries the latest
 *   generated key's bytes at its end.
 * - `foreignKeyToUser` (need-to-know): after each sync the admin HSM also wraps a key of a group the
 *   user is not in, and the user's HSM imports it.
 * - `decryptLies` (readability): `User.decrypt` returns the plaintext with its last byte flipped.
 * - `findKeyLargestGroup` (smallest-group): `User.findKey` prefers the largest common group.
 * - `rollbackWholeDevice` (integrity): an SD rollback also rolls back the HSM's flash (a device
 *   without anti-rollback storage), so the old replica opens.
 * - `keyLostOnPowerCut` (durability): after a power cut the rebooted HSM loses one KMS key.
 * - `resyncIgnored` (convergence): the publisher ignores resync requests, so a blocked (or stuck)
 *   user is never brought back.
 * - `noRekeyOnLeave` (forward-secrecy) and `noRekeyOnJoin` (backward-secrecy): membership changes
 *   without the rekey in the model and in the implementation alike (`brokenRekey.testkit.ts`; the
 *   implementation's rule is switched through `vi.mock`, so only test files that mock it run them).
 * - `adminSkipsRekey` (model-agreement): the implementation alone skips the rekey on leave (same
 *   switch); the model still rekeys.
 */
export const MUTANTS = [
  'leakKeyIntoShare',
  'foreignKeyToUser',
  'decryptLies',
  'findKeyLargestGroup',
  'rollbackWholeDevice',
  'keyLostOnPowerCut',
  'resyncIgnored',
  'noRekeyOnLeave',
  'noRekeyOnJoin',
  'adminSkipsRekey',
] as const;
/** A deliberately broken variant. */
export type Mutant = (typeof MUTANTS)[number];

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
}

/** How many old images an attacker keeps per device. */
const ARCHIVE_DEPTH = 3;

/** Options of a deployment. */
export interface DeploymentOptions {
  readonly seed: string;
  readonly start: number;
  readonly mutant?: Mutant | undefined;
}

/** The real system under test. */
export class Deployment {
  readonly root: string;
  readonly clock: ManualClock;
  readonly secrets: SecretTap;
  readonly share: DirectoryTransport;
  readonly transport: Transport;
  readonly users = new Map<UserId, UserSlot>();
  readonly mutant: Mutant | undefined;
  readonly seed: string;
  adminDevice: SecubeDevice;
  adminFlash: Flash;
  adminCard: SdCard;
  admin: Admin;
  publisher: Publisher;
  /** Everything the host printed or got back in the current command: scanned for secrets. */
  readonly outputs: unknown[] = [];

  private constructor(
    options: DeploymentOptions,
    secrets: SecretTap,
    device: SecubeDevice,
    flash: Flash,
    card: SdCard,
    admin: Admin,
    root: string,
    clock: ManualClock,
  ) {
    this.secrets = secrets;
    this.seed = options.seed;
    this.mutant = options.mutant;
    this.root = root;
    this.clock = clock;
    this.adminDevice = device;
    this.adminFlash = flash;
    this.adminCard = card;
    this.admin = admin;
    this.share = new DirectoryTransport(join(root, 'share'));
    const inner = this.mutant === 'leakKeyIntoShare' ? leakingTransport(this.share, this.secrets) : this.share;
    this.transport = recordingTransport(inner, this.share, this.genuine);
    this.publisher = this.#newPublisher();
  }

  /** A fresh installation: an admin HSM, its database, an empty share in a temporary folder. */
  static async create(options: DeploymentOptions): Promise<Deployment> {
    const root = mkdtempSync(join(tmpdir(), 'sekey-deploy-'));
    BROKEN_REKEY.leave = options.mutant === 'noRekeyOnLeave' || options.mutant === 'adminSkipsRekey';
    BROKEN_REKEY.join = options.mutant === 'noRekeyOnJoin';
    const clock = new ManualClock(options.start);
    const card = new SdCard({ sectorCount: TEST_CARD_SECTORS });
    const { device, flash } = makeDevice(`${options.seed}-admin`, { sdcard: card });
    const secrets = new SecretTap();
    secrets.tap(device, 'admin');
    device.login('admin', ADMIN_PIN);
    secrets.recordHeld(device, 'admin');
    const admin = await Admin.create({ device, sd: card, clock });
    return new Deployment(options, secrets, device, flash, card, admin, root, clock);
  }

  #newPublisher(): Publisher {
    const publisher = new Publisher(this.admin, this.transport);
    if (this.mutant === 'resyncIgnored') {
      Object.defineProperty(publisher, 'requestResync', { value: () => undefined });
    }
    return publisher;
  }

  /**
   * The genuine files: bytes hash of everything written through the system's transport (by the
   * publisher and by users' acknowledgements), by `stream/name`.
   */
  readonly genuine = new Map<string, string>();
  /** Everything the adversary has seen on the share, by stream: its recordings for replays. */
  readonly seen = new Map<string, Map<string, Uint8Array>>();

  /** The adversary records every file on the share (after each command). */
  async observe(userIds: readonly UserId[]): Promise<void> {
    for (const userId of userIds) {
      for (const stream of [updateStream(userId), ackStream(userId)]) {
        const recorded = this.seen.get(stream) ?? new Map<string, Uint8Array>();
        for (const name of await this.share.list(stream)) {
          const bytes = await this.share.read(stream, name);
          if (bytes !== null) recorded.set(hashOf(bytes), bytes);
        }
        this.seen.set(stream, recorded);
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
    slot.user?.close();
    slot.user = null;
    slot.device.factoryReset({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    const card = new SdCard({ sectorCount: TEST_CARD_SECTORS });
    slot.sd = card;
    slot.device = new SecubeDevice({
      flash: slot.flash,
      sdcard: card,
      seed: `${this.seed}-${userId}-reset-${slot.incarnation}-${this.#nextBoot()}`,
      pinIterations: 10,
      testHooks: true,
    });
    slot.incarnation += 1;
    slot.archive.length = 0;
    this.secrets.tap(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.login('admin', ADMIN_PIN);
    const provisioning = provisionUser(this.admin, userId, slot.device);
    this.secrets.recordHeld(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.logout();
    slot.device.login('user', USER_PIN);
    slot.user = await User.create({ provisioning, device: slot.device, sd: card, clock: this.clock });
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

  /** Removes the temporary folder. */
  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Records what the host saw (scanned by key-secrecy). */
  output(value: unknown): void {
    this.outputs.push(value);
  }

  /**
   * Provisions a new HSM for `userId` (the first one, or a replacement for a lost one) and opens its
   * replica on a new SD card.
   */
  async provision(userId: UserId): Promise<UserSlot> {
    const old = this.users.get(userId);
    const incarnation = old === undefined ? 0 : old.incarnation + 1;
    const card = new SdCard({ sectorCount: TEST_CARD_SECTORS });
    const { device, flash } = makeDevice(`${this.seed}-${userId}-${incarnation}`, { sdcard: card });
    this.secrets.tap(device, `${userId}#${incarnation}`);
    device.login('admin', ADMIN_PIN);
    const provisioning = provisionUser(this.admin, userId, device);
    this.secrets.recordHeld(device, `${userId}#${incarnation}`);
    device.logout();
    device.login('user', USER_PIN);
    const user = await User.create({ provisioning, device, sd: card, clock: this.clock });
    old?.user?.close();
    const slot: UserSlot = { userId, device, flash, sd: card, user, incarnation, archive: [] };
    this.users.set(userId, slot);
    return slot;
  }

  /** Reboots the admin HSM after a power cut and reopens the administrator. */
  async reopenAdmin(): Promise<void> {
    this.adminFlash.cancelPowerCut();
    this.adminCard.cancelPowerCut();
    this.adminDevice.cutPower();
    this.adminDevice.powerOn();
    this.adminDevice.login('admin', ADMIN_PIN);
    if (this.mutant === 'keyLostOnPowerCut') loseOneKey(this.adminDevice);
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
    if (this.mutant === 'keyLostOnPowerCut') {
      slot.device.login('admin', ADMIN_PIN);
      loseOneKey(slot.device);
      slot.device.logout();
    }
    slot.device.login('user', USER_PIN);
    slot.user = null;
    slot.user = await User.open({ device: slot.device, sd: slot.sd, clock: this.clock });
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
    if (!slot) throw new Error(`test bug: ${userId} has no device`);
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
    this.adminCard = SdCard.fromImage(image);
    this.adminDevice = new SecubeDevice({
      flash: this.adminFlash,
      sdcard: this.adminCard,
      seed: `${this.seed}-admin-reboot-${this.#nextBoot()}`,
      pinIterations: 10,
      testHooks: true,
    });
    this.secrets.tap(this.adminDevice, 'admin');
    this.adminDevice.login('admin', ADMIN_PIN);
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
    slot.user?.close();
    slot.user = null;
    slot.sd = SdCard.fromImage(image);
    if (flashImage !== undefined && this.mutant === 'rollbackWholeDevice') {
      slot.flash = Flash.fromImage(flashImage);
    }
    slot.device = new SecubeDevice({
      flash: slot.flash,
      sdcard: slot.sd,
      seed: `${this.seed}-${userId}-reboot-${this.#nextBoot()}`,
      pinIterations: 10,
      testHooks: true,
    });
    this.secrets.tap(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.login('user', USER_PIN);
    try {
      slot.user = await User.open({ device: slot.device, sd: slot.sd, clock: this.clock });
      return null;
    } catch (error) {
      return error;
    }
  }

  /** Restores a user's genuine images (after a refused attack) and reopens its replica. */
  async restoreDevice(userId: UserId, images: { flash: Uint8Array; sd: Uint8Array }): Promise<void> {
    const slot = this.slot(userId);
    slot.user?.close();
    slot.user = null;
    slot.sd = SdCard.fromImage(images.sd);
    slot.flash = Flash.fromImage(images.flash);
    slot.device = new SecubeDevice({
      flash: slot.flash,
      sdcard: slot.sd,
      seed: `${this.seed}-${userId}-restore-${this.#nextBoot()}`,
      pinIterations: 10,
      testHooks: true,
    });
    this.secrets.tap(slot.device, `${userId}#${slot.incarnation}`);
    slot.device.login('user', USER_PIN);
    slot.user = await User.open({ device: slot.device, sd: slot.sd, clock: this.clock });
  }

  /** A user syncs from the share (through the broken variant, if one is on). */
  async sync(userId: UserId): Promise<SyncReport> {
    const slot = this.slot(userId);
    const user = openUser(slot);
    const report = await user.sync(this.transport);
    if (this.mutant === 'foreignKeyToUser') this.#giveForeignKey(slot);
    return report;
  }

  #giveForeignKey(slot: UserSlot): void {
    const user = openUser(slot);
    const mine = new Set(user.groups().map((g) => g.id));
    const foreign = this.admin
      .listKeys()
      .find(
        (k) =>
          !mine.has(k.owner) &&
          !k.holders.includes(slot.userId) &&
          k.state !== 'destroyed' &&
          k.state !== 'destroyedCompromised',
      );
    if (!foreign) return;
    const n = deviceKeyNumber(foreign.id);
    if (slot.device.listKeyIds().includes(n)) return;
    const { blob } = this.adminDevice.exportWrapped(n, user.keyIds.wrappingKeyId);
    slot.device.importWrapped(n, blob, user.keyIds.wrappingKeyId);
  }

  /** A user's key choice (through the broken variant, if one is on). */
  findKey(userId: UserId, recipients: readonly UserId[]): KeyChoice {
    const user = openUser(this.slot(userId));
    const choice = user.findKey(recipients);
    if (this.mutant !== 'findKeyLargestGroup') return choice;
    const everyone = new Set([userId, ...recipients]);
    const groups = user
      .groups()
      .filter((g) => [...everyone].every((u) => g.members.includes(u)))
      .sort((a, b) => b.members.length - a.members.length);
    for (const g of groups) {
      try {
        return user.findKeyInGroup(g.id as GroupId);
      } catch {
        // no usable key in that group
      }
    }
    return choice;
  }

  /** A user decrypts a message (through the broken variant, if one is on). */
  decrypt(userId: UserId, message: Uint8Array): Uint8Array {
    const plain = openUser(this.slot(userId)).decrypt(message);
    if (this.mutant === 'decryptLies' && plain.length > 0) {
      const lie = plain.slice();
      lie[lie.length - 1] = (lie[lie.length - 1] as number) ^ 1;
      return lie;
    }
    return plain;
  }

  /** KMS keys in a user's HSM, as model key IDs. */
  heldKeys(userId: UserId): string[] {
    return this.slot(userId)
      .device.listKeyIds()
      .filter(isKmsDeviceKey)
      .map((n) => `K${n}`);
  }

  /** KMS keys in the admin HSM, as model key IDs. */
  adminKeys(): string[] {
    return this.adminDevice
      .listKeyIds()
      .filter(isKmsDeviceKey)
      .map((n) => `K${n}`);
  }
}

/** A user's open replica, or a test bug. */
export function openUser(slot: UserSlot): User {
  if (slot.user === null) throw new Error(`test bug: ${slot.userId}'s replica is not open`);
  return slot.user;
}

/** The key a message names. */
export function messageKey(message: Uint8Array): string {
  return decodeMessage(message).keyId;
}

function loseOneKey(device: SecubeDevice): void {
  const victim = device.listKeyIds().filter(isKmsDeviceKey)[0];
  if (victim !== undefined) device.deleteKey(victim);
}

function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Records, by `stream/name`, the hash of what actually landed on the share for every write. */
function recordingTransport(inner: Transport, share: Transport, genuine: Map<string, string>): Transport {
  return {
    list: (s) => inner.list(s),
    read: (s, n) => inner.read(s, n),
    remove: (s, n) => inner.remove(s, n),
    write: async (s, n, bytes) => {
      await inner.write(s, n, bytes);
      const landed = await share.read(s, n);
      if (landed !== null) genuine.set(`${s}/${n}`, hashOf(landed));
    },
  };
}

function leakingTransport(inner: Transport, secrets: SecretTap): Transport {
  return {
    list: (s) => inner.list(s),
    read: (s, n) => inner.read(s, n),
    remove: (s, n) => inner.remove(s, n),
    write: async (s, n, bytes) => {
      const secret = secrets.latest();
      if (!s.startsWith('updates/') || secret === undefined) return inner.write(s, n, bytes);
      const out = new Uint8Array(bytes.length + secret.length);
      out.set(bytes);
      out.set(secret, bytes.length);
      return inner.write(s, n, out);
    },
  };
}
