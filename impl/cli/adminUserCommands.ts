/**
 * `sekey admin` commands about users and their HSMs: add, delete, rename, inspect, provision.
 * @module
 */
import type { Admin } from '../kms/admin.ts';
import { keysHeldByDevice, userDeviceOf } from '../kms/distribution.ts';
import { findRetiredHsm, usersServed } from '../kms/retiredHsms.ts';
import type { ForgottenHsm, HsmFate } from '../kms/retiredHsms.ts';
import type { UnrecordedHsm } from '../kms/acknowledgementCollector.ts';
import {
  describeAcknowledged,
  describeSetAside,
  describeUnrecordedRemoved,
  warnAboutHsms,
} from './acknowledgementLines.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import type { AdminCommand } from './adminCommand.ts';
import { asking } from './adminCommand.ts';
import { messageOf } from '../../model/codedError.ts';
import { checkId } from '../../model/kms.ts';
import type { UserId } from '../../model/kms.ts';
import { peekDeviceImages } from '../host/deviceImages.ts';
import { isShareFailure } from '../host/sessionEnd.ts';
import type { Installation } from '../host/installation.ts';
import { UsageError } from './args.ts';
import { NEW_PINS_WARNING, pinToSet, requirePinsToSet, settledPin } from './pinCommands.ts';
import { fields, ids, json, quoted, table } from './format.ts';
import { requireFactory } from './globalOptions.ts';
import { openFactory } from '../host/manufacturerFile.ts';

/**
 * Whether `dir` holds a device, looked at from outside the home's lock without recovering anything
 * (`peekDeviceImages`). A save finishing while it reads may make the read fail: the folder holds a
 * device then, so the answer is yes (and the command asks).
 */
function holdsDevice(dir: string): boolean {
  try {
    return peekDeviceImages(dir) !== null;
  } catch {
    return true;
  }
}

/**
 * A user's HSM on record, or null: `inService` is false for the HSM of a deleted user, which is kept
 * only to receive its erase order — also when the same user ID was added again, until a new HSM is
 * provisioned for it.
 */
export function deviceOf(admin: Admin, userId: string): { serial: string; inService: boolean } | null {
  try {
    return admin.readDatabase((db) => {
      const { serial, inService } = userDeviceOf(db, userId);
      return { serial, inService };
    });
  } catch (error) {
    if (error instanceof SekeyError && error.code === 'NotProvisioned') return null;
    throw error;
  }
}

/** The HSM column of a user: its serial, `-`, or that it needs a new one (its last one retired). */
function deviceCell(device: { serial: string; inService: boolean } | null): string {
  if (device === null) return '-';
  return device.inService ? device.serial : `needs a new HSM (${device.serial} retired)`;
}

/**
 * What a replaced HSM keeps: provisioning rekeys nothing, so the old HSM opens whatever is protected
 * under these keys while they stay active. Said at the moment it matters, with the remedy for a lost
 * HSM (an active key compromised is replaced at once; the others can never protect again).
 */
function keptLine(serial: string, kept: readonly string[]): string {
  if (kept.length === 0) return `  the replaced HSM ${serial} holds no key that can still protect`;
  const keeps = `  the replaced HSM ${serial} keeps ${ids(kept)}, which can still protect`;
  return `${keeps}; if it was lost: sekey admin forget-hsm ${serial} --lost (compromises every key it holds)`;
}

/** The question `forget-hsm` asks: the HSM as named, and in the session by its serial with the users it served. */
function forgetQuestion(hsm: string, fate: HsmFate, served: readonly string[]): string {
  const whose = served.length === 0 ? '' : ` (served ${ids(served)})`;
  return fate === 'lost'
    ? `forget HSM ${hsm}${whose} as lost: every key it may hold is marked compromised?`
    : `forget HSM ${hsm}${whose} as destroyed: nothing is published to it any more?`;
}

/** The lines of `forget-hsm`: what was forgotten, and for a lost HSM what became of the keys it may hold. */
export function forgottenLines(f: ForgottenHsm): string[] {
  const served = f.users.length === 0 ? '' : ` (served ${ids(f.users)})`;
  const lines = [
    f.previously === null
      ? `forgot HSM ${f.serial}${served} as ${f.fate}: nothing is published to it any more`
      : `HSM ${f.serial}${served}, forgotten as ${f.previously}, is recorded as ${f.fate} after all`,
  ];
  if (f.fate === 'destroyed') return lines;
  if (f.compromised.length > 0) lines.push(`  compromised, as a lost HSM may hold them: ${ids(f.compromised)}`);
  if (f.skipped.length > 0) {
    const skipped = f.skipped.map((s) => `${s.keyId} (${s.state})`).join(', ');
    lines.push(`  left as they were, compromised already: ${skipped}`);
  }
  if (f.keysUnknown) {
    lines.push(
      '  its keys were not recorded when it was replaced (before this version): compromise those it held by hand ' +
        '(sekey admin compromise-key K)',
    );
  } else if (f.compromised.length === 0 && f.skipped.length === 0) {
    lines.push('  it holds no key the admin knows of: nothing to compromise');
  }
  return lines;
}

/** The user commands. */
export const ADMIN_USER_COMMANDS: readonly AdminCommand[] = [
  {
    name: 'add-user',
    args: 'U NAME',
    summary: 'add a user (IDs: U and a number from 1, no leading zero)',
    examples: ['sekey admin add-user U5 erin'],
    mutates: true,
    prepare: (args) => {
      const [id, name] = [args.positional('user ID'), args.positional('name')];
      return async ({ session, io, report, did }) => {
        report(session.admin.addUser(id, name));
        did({ user: id });
        io.out(
          `added user ${id} ${quoted(name)} (provision its HSM with ` +
            `\`sekey admin provision ${id} --user-pin PIN --device-admin-pin PIN\`)`,
        );
      };
    },
  },
  {
    name: 'delete-user',
    args: 'U',
    summary: 'delete a user: its groups are rekeyed and its HSM is told to erase every key',
    examples: ['sekey admin delete-user U4 --yes'],
    mutates: true,
    destructive: true,
    prepare: (args) => {
      const id = args.positional('user ID');
      const question = `delete user ${id}: its HSM erases every key it holds (old messages included)?`;
      return asking(
        () => question,
        async ({ session, io, report, did, confirm }) => {
          session.admin.userInfo(id);
          await confirm(question);
          report(session.admin.deleteUser(id));
          did({ user: id });
          io.out(`deleted user ${id}`);
        },
      );
    },
  },
  {
    name: 'rename-user',
    args: 'U NAME',
    summary: "change a user's name",
    examples: ['sekey admin rename-user U3 caroline'],
    mutates: true,
    prepare: (args) => {
      const [id, name] = [args.positional('user ID'), args.positional('name')];
      return async ({ session, io, report, did }) => {
        report(session.admin.renameUser(id, name));
        did({ user: id, name });
        io.out(`renamed user ${id} to ${quoted(name)}`);
      };
    },
  },
  {
    name: 'user-info',
    args: 'U',
    summary: 'a user: name, groups, HSM and publication state (counting acknowledgements waiting on the share)',
    examples: ['sekey admin user-info U2'],
    mutates: false,
    lists: true,
    prepare: (args, { json: asJson }) => {
      const id = args.positional('user ID');
      return async ({ session, io }) => {
        const info = session.admin.userInfo(id);
        const device = deviceOf(session.admin, id);
        // The retired HSM of a deleted user whose ID was added again is not this user's.
        const serial = device?.inService === true ? device.serial : null;
        // As `status` and `stale` count it: an acknowledgement still on the share is one the user sent.
        const publication =
          serial === null
            ? null
            : (session.publisher
                .publicationStates(await session.publisher.waitingAcknowledgements())
                .find((p) => p.userId === id) ?? null);
        if (asJson) {
          io.out(json({ ...info, serial, needsDevice: device?.inService === false, publication }));
          return;
        }
        const pub =
          publication === null
            ? '-'
            : `${publication.state} (published #${publication.published}, acknowledged #${publication.acknowledged})`;
        fields([
          ['user', `${info.id} ${quoted(info.name)}`],
          ['groups', ids(info.groups)],
          ['HSM', device === null ? 'not provisioned' : deviceCell(device)],
          ['updates', pub],
        ]).forEach((l) => io.out(l));
      };
    },
  },
  {
    name: 'users',
    args: '',
    summary: 'list users',
    examples: ['sekey admin users'],
    mutates: false,
    lists: true,
    prepare:
      (_args, { json: asJson }) =>
      async ({ session, io }) => {
        const users = session.admin.listUsers().map((u) => {
          const device = deviceOf(session.admin, u.id);
          return { ...u, serial: device?.inService ? device.serial : null, needsDevice: device?.inService === false };
        });
        if (asJson) {
          io.out(json(users));
          return;
        }
        table(
          ['ID', 'NAME', 'GROUPS', 'HSM'],
          users.map((u) => [u.id, u.name, ids(u.groups), deviceCell(deviceOf(session.admin, u.id))]),
        ).forEach((l) => io.out(l));
      },
  },
  {
    name: 'provision',
    args: 'U [--user-pin PIN] [--device-admin-pin PIN] [--factory DIR]',
    summary: 'factory-initialise a new HSM for a user and pair it with the admin HSM (replaces any earlier one)',
    help: [
      'The new HSM gets its PINs (--user-pin for its user, --device-admin-pin for its admin level), makes',
      'its X25519 identity inside, and derives the channel and wrapping keys with the admin HSM: no key',
      'crosses the host. Compare the two fingerprints out of band. It is stored under users/U/.',
      'Provisioning again replaces the device: the new one gets everything by a resync; the old one learns',
      'no new key but keeps the keys it holds, and opens whatever is protected under them while they stay',
      'active. They are listed after provisioning: if the old HSM was lost or stolen, compromise them.',
      'The acknowledgements waiting on the share are collected first (as collect-acks does); after,',
      "what HSMs the database has no record of left in U's stream goes (see publish).",
      // One line, wrapped by the help printer (helpText.ts); the example is run by newHsmPins.test.ts.
      NEW_PINS_WARNING,
      '  SEKEY_NEW_USER_PIN=erin-pin-5 SEKEY_NEW_DEVICE_ADMIN_PIN=erin-hsm-admin-5 sekey admin provision U5',
      "  --user-pin PIN          the new HSM's user PIN, 4 to 64 bytes (else $SEKEY_NEW_USER_PIN, else asked twice " +
        'on a terminal): U logs in with it',
      "  --device-admin-pin PIN  the new HSM's own admin-level PIN (else $SEKEY_NEW_DEVICE_ADMIN_PIN, else asked " +
        'twice on a terminal)',
      '  --factory DIR           the factory that certifies the new HSM (default $SEKEY_FACTORY; created by',
      '                          `sekey factory init`, outside the installation, the same as at `admin init`)',
    ].join('\n'),
    examples: [
      'sekey admin add-user U5 erin --no-publish',
      'sekey admin provision U5 --user-pin erin-pin-5 --device-admin-pin erin-hsm-admin-5 --yes',
    ],
    mutates: true,
    destructive: true,
    prepare: (args, options) => {
      // The options' working folder is read only for a relative --factory (it may be gone: NoWorkingFolder).
      const { env, terminal } = options;
      const userPinOption = args.option('--user-pin');
      const deviceAdminPinOption = args.option('--device-admin-pin');
      const factory = requireFactory(args.option('--factory'), env, options, 'provision');
      const id = args.positional('user ID');
      const pins = [
        pinToSet('--user-pin', 'user', `${id}'s new HSM`, userPinOption, env),
        pinToSet('--device-admin-pin', 'admin', `${id}'s new HSM`, deviceAdminPinOption, env),
      ] as const;
      // Refused before the admin PIN is asked for, as a missing --yes is.
      requirePinsToSet(pins, terminal, "provision sets the new HSM's PINs");
      // Before the session, only the folder is known: also a new user whose ID a deleted one had.
      const inService = 'one in service learns no new key, keeps those it has';
      const question = `provision ${id}, replacing the HSM in its folder (${inService})?`;
      // Before the session, an HSM in the user's folder is what says it is provisioned again; the
      // session asks when the admin has one in service (its images may be gone: a lost HSM). Looked
      // at without recovering anything (`peekDeviceImages`): this runs outside the home's lock, where
      // a recovery would delete another process's save in flight (a sync reporting an update
      // applied, its acknowledgement sent, and its images thrown away).
      // An HSM left by a provisioning that did not finish was never in service: said as such.
      const again = (installation: Installation): string | null => {
        if (checkId('user', id) !== null || !holdsDevice(installation.userDir(id))) return null;
        const unfinished = installation.unfinishedProvisioning(id as UserId);
        return unfinished === null
          ? question
          : `provision ${id}, replacing the HSM in its folder (${unfinished}), whose provisioning did not ` +
              `finish (if \`sekey admin user-info ${id}\` shows that HSM, the admin paired it before stopping, ` +
              'and `sekey admin publish` is all it needs)?';
      };
      return asking(again, async ({ session, io, installation, did, confirm }) => {
        const manufacturer = openFactory(factory, installation.home, installation.sharePath());
        const replaced = deviceOf(session.admin, id);
        // Read before the replacement forgets what the old HSM was given.
        const kept = replaced?.inService === true ? session.admin.readDatabase((db) => keysHeldByDevice(db, id)) : [];
        // In the session the admin knows the HSM in service, also one lost with its images.
        if (replaced?.inService === true)
          await confirm(
            `provision ${id} again: HSM ${replaced.serial}, in service, is replaced (it learns no new key, ` +
              'keeps those it has)?',
          );
        // Typed (when not given) by the administrator logged in, the replacement confirmed, and for a
        // user who exists: not typed four times to hear of an unknown ID (UnknownUser) after.
        if (pins.some((p) => p.given === undefined)) session.admin.userInfo(id);
        const unchanged = `${id} was not provisioned`;
        const userPin = await settledPin(pins[0], io, unchanged);
        const deviceAdminPin = await settledPin(pins[1], io, unchanged);
        // The acknowledgements waiting on the share first (as forget-hsm does): a deleted user's HSM
        // that acknowledged erasing its keys before its ID got this new one is recorded as having done
        // so, not as holding them (a later forget-hsm --lost would compromise them for nothing).
        // A first provisioning is done face to face and need not wait on the share: one that cannot
        // be read leaves the acknowledgements for the next publish, said on standard error. Not so
        // when the ID has an HSM on record: once a new one serves the ID, the old one's
        // acknowledgements are no longer accepted, and a later forget-hsm --lost would compromise
        // the keys it acknowledged erasing. Then the share failure refuses the provisioning.
        let collected: Awaited<ReturnType<typeof session.publisher.collectAcknowledgements>> = {
          accepted: [],
          setAside: [],
          ahead: [],
          unrecordedHsms: [],
        };
        let shareRead = true;
        try {
          collected = await session.publisher.collectAcknowledgements();
        } catch (error) {
          if (!isShareFailure(error) || replaced !== null) throw error;
          io.err(`acknowledgements not collected (${messageOf(error)}): the next publish collects them`);
          shareRead = false;
        }
        const { accepted: acknowledged, setAside, ahead, unrecordedHsms } = collected;
        const r = await session.provision(id, { userPin, deviceAdminPin }, manufacturer);
        // What HSMs the database has no record of left in this user's stream stands for nothing now
        // that a new HSM serves the user (the warning's remedy). Looked for whatever the collection
        // found: one made before the user had an HSM on record (a user added again after a restored
        // backup) did not read the user's stream. The provisioning is done: a share failure here
        // leaves them (the next collection warns again), said.
        let removedUnrecorded: UnrecordedHsm[] = [];
        if (shareRead) {
          try {
            removedUnrecorded = await session.publisher.removeUnrecordedHsmAcknowledgements(id);
          } catch (error) {
            if (!isShareFailure(error)) throw error;
            io.err(`the acknowledgements of HSMs not on record were not removed (${messageOf(error)})`);
          }
        }
        did({
          user: id,
          serial: r.userSerial,
          adminSerial: r.adminSerial,
          fingerprints: { admin: r.adminFingerprint, user: r.userFingerprint },
          ...(replaced?.inService === true ? { replaced: { serial: replaced.serial, keeps: kept } } : {}),
          acknowledged,
          setAside,
          ahead,
          unrecordedHsms,
          unrecordedHsmFilesRemoved: removedUnrecorded,
        });
        if (acknowledged.length > 0) io.out(describeAcknowledged(acknowledged));
        if (setAside.length > 0) io.out(describeSetAside(setAside));
        io.out(`provisioned ${id}: HSM ${r.userSerial}, paired with admin HSM ${r.adminSerial}`);
        io.out(`  fingerprints — admin ${r.adminFingerprint}, user ${r.userFingerprint}`);
        if (replaced?.inService === true) io.out(keptLine(replaced.serial, kept));
        if (removedUnrecorded.length > 0) io.out(describeUnrecordedRemoved(removedUnrecorded));
        // The HSM replaced now was ahead of the database, or unknown to it: this provisioning is the
        // remedy the warning gives.
        warnAboutHsms(io, {
          ahead: ahead.filter((a) => a.userId !== id),
          unrecordedHsms: unrecordedHsms.filter((u) => u.userId !== id),
        });
      });
    },
  },
  {
    name: 'forget-hsm',
    args: 'SERIAL|U --destroyed|--lost',
    summary: 'forget a retired HSM that will never sync again (destroyed, or lost: its keys are compromised)',
    help: [
      "A retired HSM serves no one: a deleted user's is owed a last file ordering it to erase its keys",
      '(its user stays stale until it acknowledges it); a replaced one gets nothing and keeps its keys.',
      'One that will never sync again (destroyed, lost, factory-reset) is forgotten here: nothing more',
      'is published to it and `stale` no longer names its user. Name it by its serial, or by the user ID',
      'it served when that names one retired HSM. An HSM in service is refused: retire it first (delete',
      'its user, or provision a replacement). One forgotten as destroyed that turns out lost (found, or',
      'offered for sale) is forgotten again with --lost: the keys it may hold, recorded then, are',
      'compromised. Either way, the acknowledgements waiting on the share are collected first.',
      '  --destroyed             it was destroyed (or its keys erased): it holds no key',
      '  --lost                  it was lost or stolen: every key it may hold (what was published to it and',
      '                          not acknowledged as erased) is marked compromised, an active one replaced',
      '                          (NIST SP 800-57 Pt 1), a destroyed one made destroyedCompromised; keys',
      '                          compromised already are left so',
    ].join('\n'),
    examples: ['sekey admin delete-user U3 --yes --no-publish', 'sekey admin forget-hsm U3 --lost --yes'],
    mutates: true,
    destructive: true,
    prepare: (args) => {
      const destroyed = args.flag('--destroyed');
      const lost = args.flag('--lost');
      const hsm = args.positional('HSM serial or user ID');
      if (destroyed === lost)
        throw new UsageError('forget-hsm needs what became of the HSM: --destroyed or --lost (one of them)');
      const fate = destroyed ? 'destroyed' : 'lost';
      return asking(
        () => forgetQuestion(hsm, fate, []),
        async ({ session, io, report, did, confirm }) => {
          // Refused (unknown, in service, forgotten already) before the question is asked, which
          // names the HSM by its serial and the users it served, whatever named it.
          const found = session.admin.readDatabase((db) => findRetiredHsm(db, hsm, fate));
          await confirm(forgetQuestion(found.serial, fate, usersServed(found)));
          // An HSM that acknowledged erasing keys, its acknowledgement still on the share, does not
          // hold them: collected first, for either fate, so that they are not compromised for nothing,
          // now (lost) or later from the keys recorded with a destroyed one (then known lost).
          const collected = await session.publisher.collectAcknowledgements();
          const { accepted: acknowledged, setAside, ahead, unrecordedHsms } = collected;
          warnAboutHsms(io, collected);
          const forgotten = session.admin.forgetHsm(found.serial, fate);
          report(forgotten.changes);
          const { changes: _changes, ...what } = forgotten;
          did({ forgotten: what, acknowledged, setAside, ahead, unrecordedHsms });
          if (acknowledged.length > 0) io.out(describeAcknowledged(acknowledged));
          if (setAside.length > 0) io.out(describeSetAside(setAside));
          forgottenLines(forgotten).forEach((l) => io.out(l));
        },
      );
    },
  },
];
