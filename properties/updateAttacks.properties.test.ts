/**
 * Update files under attack and under power loss. The attacker owns the shared folder: it flips
 * bytes, truncates, appends bytes, reorders, replays old files, moves another user's file into a
 * stream, and seals files with a user device it controls. Every such file must be refused with a reason and leave
 * the user's replica, keys and sequence exactly as they were; authentic files are judged in the
 * order their headers claim, so a delivery of them under any names applies them all. A power cut at
 * every flash and SD write while a file is applied must leave the state before or after, and a
 * later sync must finish.
 * A compromised user host, whose HSM is logged in, calls the HSM directly: the HSM's own checks must
 * refuse to acknowledge past its applied-update counter, to open a file sealed for its channel that names
 * another HSM, and to record any update but the one it authenticated last, leaving its flash untouched (the
 * honest host never asks, so no sync shows them).
 * A power cut between applying a file and the HSM recording it, then another file (junk, forged, or
 * authentic: alice's, bob's next, a restored admin's of the same number) under the applied file's name:
 * no sync throws or wedges, the HSM records only the file applied, and no acknowledgement names another.
 * Each run draws the seed that tears the counter write, and a test after the runs requires, at the CI seed,
 * torn counter writes that landed and torn ones that did not.
 * An operation (for `npm run properties`) is one sync of a tampered or authentic file, or one call of
 * the compromised host to its HSM.
 */
import fc from 'fast-check';
import { bytesEqual } from '../device/binaryCodec.ts';
import { afterAll, describe, expect, test } from 'vitest';
import { USER_PIN } from '../device/secube.testkit.ts';
import type { GroupPolicy } from '../model/kms.ts';
import { ackStream, sequenceOfName, updateFileName, updateStream } from '../impl/protocol/streams.ts';
import {
  NO_PREVIOUS_FILE,
  assembleUpdateFile,
  encodeRecords,
  fileHash,
  parseUpdateFile,
} from '../impl/protocol/updateFile.ts';
import type { UpdateHeader } from '../impl/protocol/updateFile.ts';
import type { RefusalReason } from '../model/updateProcessing.ts';
import { UPDATE_SEQUENCE_COUNTER } from '../device/acknowledgement.ts';
import { User } from '../impl/kms/user.ts';
import { Admin } from '../impl/kms/admin.ts';
import { Publisher } from '../impl/kms/publisher.ts';
import { MemoryTransport } from '../impl/protocol/transport.ts';
import { encodeAckHeader, parseAck } from '../impl/protocol/ackFile.ts';
import { isDeviceError } from '../device/deviceError.ts';
import { PowerLossError } from '../device/powerLossError.ts';
import type { SdCard } from '../device/sdcard.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { isKmsDeviceKey } from '../impl/protocol/deviceKeyIds.ts';
import { newTeam } from '../impl/kms/world.testkit.ts';
import type { World } from '../impl/kms/world.testkit.ts';
import { CI_SEED, replaying, scaled } from '../testing/runConfig.ts';
import { PropertyProgress } from './progress.testkit.ts';
import { deliveryText, refusedText } from './deliveryText.testkit.ts';
import type { Delivery } from './deliveryText.testkit.ts';

const DAY = 86_400_000;
const progress = new PropertyProgress('updateAttacks');

/** The length of the file the random-tampering property tampers with: the same in every run (a fixed scenario). */
let tamperedLength = 0;

/** The random-tampering property's flips in words: each drawn position taken modulo the file's length, as applied. */
function flipsText([flips]: [Array<[number, number]>]): string {
  const each = flips.map(
    ([at, mask]) => `byte ${tamperedLength > 0 ? at % tamperedLength : at} xor 0x${mask.toString(16)}`,
  );
  return `the authentic update file (${tamperedLength} bytes) with ${each.join(', ')}, synced by bob as five bad files`;
}
const policy: GroupPolicy = { maxKeys: 4, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY };

/** Alice, bob, carol in G1 with an active key, synced; then a change is published but not applied. */
async function scenario(seed = 'attacks'): Promise<{ w: World; pending: { name: string; bytes: Uint8Array } }> {
  const w = await newTeam(policy, Date.UTC(2026, 0, 1), seed);
  w.admin.activateKey(w.admin.addKey('G1', 'first'));
  await w.syncByFiles();
  // The next change: a new key and a rename, published to bob's stream but not yet applied.
  w.admin.activateKey(w.admin.addKey('G1', 'second'));
  w.admin.renameUser('U1', 'alice; DROP TABLE users;--');
  await w.publisher.publish();
  const [name] = await w.transport.list(updateStream('U2'));
  const bytes = await w.transport.read(updateStream('U2'), name as string);
  return { w, pending: { name: name as string, bytes: bytes as Uint8Array } };
}

/** Everything a user's state consists of. */
function state(user: User) {
  return JSON.stringify({
    groups: user.groups(),
    users: user.users(),
    keys: user.keys(),
    held: user.device.listKeyIds().filter(isKmsDeviceKey),
    sequence: user.appliedSequence,
  });
}

describe('update files under attack', () => {
  test('every single-byte change, every truncation and bytes appended to a file are refused', async () => {
    const { w, pending } = await scenario();
    const bob = w.users.get('U2') as User;
    const before = state(bob);
    expect(bob.check(pending.bytes)).toBeNull();
    const masks = fc.sample(fc.integer({ min: 1, max: 255 }), { numRuns: pending.bytes.length, seed: 7 });
    const reasons = new Set<string>();
    for (let i = 0; i < pending.bytes.length; i++) {
      const bad = pending.bytes.slice();
      bad[i] = (bad[i] as number) ^ (masks[i] as number);
      const reason = bob.check(bad);
      expect(reason, `byte ${i} changed`).not.toBeNull();
      reasons.add(String(reason));
    }
    for (let length = 0; length < pending.bytes.length; length++) {
      const reason = bob.check(pending.bytes.slice(0, length));
      expect(['truncated', 'corrupt'], `cut to ${length} bytes`).toContain(reason);
    }
    // Header and seal intact, bytes after the sealed body: not the administrator's file either.
    for (const extra of [1, 2, 16, 1000]) {
      const longer = new Uint8Array(pending.bytes.length + extra);
      longer.set(pending.bytes);
      expect(bob.check(longer), `${extra} byte(s) appended`).toBe('corrupt');
    }
    expect([...reasons].sort()).toEqual(expect.arrayContaining(['corrupt', 'forged']));
    expect(state(bob)).toBe(before);
  });

  test(
    'random tampering through a real sync changes nothing; unsealed junk never blocks, and the authentic file ' +
      'still applies',
    async () => {
      await progress.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
          async (flips) => {
            const { w, pending } = await scenario();
            try {
              const bob = w.users.get('U2') as User;
              const before = state(bob);
              const bad = pending.bytes.slice();
              tamperedLength = bad.length;
              for (const [at, mask] of flips) bad[at % bad.length] = (bad[at % bad.length] as number) ^ mask;
              for (let attempt = 1; attempt <= 5; attempt++) {
                // Five different bad files in a row: the drawn flips alone first, so that a flip in the
                // sealed body meets the seal (a flip of its own in the header, as every file had, made
                // each one unparsable first: a sync taking a file whose seal fails went unseen), then
                // each with a byte of its own flipped too, spread over the file.
                const variant = bad.slice();
                const own = attempt === 1 ? -1 : Math.floor(((attempt - 1) * variant.length) / 5);
                if (own >= 0) variant[own] = (variant[own] as number) ^ 0x80;
                // A bad file must differ from the authentic one: the drawn flips may undo each other, or
                // its own flip one of them (a campaign drew [[1, 128]] when the own flip was at byte 1).
                if (bytesEqual(variant, pending.bytes)) {
                  const at = Math.max(own, 1);
                  variant[at] = (variant[at] as number) ^ 0xc0;
                }
                await w.transport.write(updateStream('U2'), pending.name, variant);
                const report = await bob.sync(w.transport);
                const alone = own < 0 ? 'the drawn flips alone' : `byte ${own} flipped too`;
                const which = `bad file ${attempt} of 5 (${alone})`;
                expect(report.applied, `${which}: applied`).toEqual([]);
                expect(report.refused, `${which}: refused`).toHaveLength(1);
                expect(state(bob), `${which}: bob's replica`).toBe(before);
                // Junk anyone can drop into the share does not count towards the block.
                expect(bob.blocked, `${which}: bob blocked`).toBe(false);
                if (attempt === 1) {
                  // The same bad file seen again is refused again (junk is not remembered: that would cost a
                  // commit), and still never counted.
                  expect((await bob.sync(w.transport)).refused, `${which}, synced again: refused`).toHaveLength(1);
                  expect(state(bob), `${which}, synced again: bob's replica`).toBe(before);
                  expect(bob.blocked, `${which}, synced again: bob blocked`).toBe(false);
                }
              }
              // Five bad files later, the untouched authentic file still applies.
              await w.transport.write(updateStream('U2'), pending.name, pending.bytes);
              expect((await bob.sync(w.transport)).applied).toHaveLength(1);
              expect(bob.blocked).toBe(false);
              expect(bob.users().find((u) => u.id === 'U1')?.name).toBe('alice; DROP TABLE users;--');
              // Five bad files (the first synced twice), then the authentic one.
              progress.ran(7);
            } finally {
              w.close();
            }
          },
        ),
        // The campaign's case first, at every run: a flip of byte 1, which attempt 1's own flip (then at
        // byte 1) undid; attempt 1 now carries it alone.
        { ...progress.params<[Array<[number, number]>]>(5, flipsText), examples: [[[[1, 128]]]] },
      );
    },
  );

  test('replayed, misaddressed and user-forged files are refused; reordered ones apply in order', async () => {
    const { w, pending } = await scenario();
    const bob = w.users.get('U2') as User;
    const alice = w.users.get('U1') as User;
    const next = (n: number) => updateFileName(bob.appliedSequence + n, 'incremental');
    // Replay: bob's already-applied files (kept by the attacker) under a fresh name.
    await bob.sync(w.transport);
    const applied = state(bob);
    const replayName = next(1);
    await w.transport.write(updateStream('U2'), replayName, pending.bytes);
    expect((await bob.sync(w.transport)).refused.map((r) => r.reason)).toEqual(['replayed']);
    expect(state(bob)).toBe(applied);
    await w.transport.remove(updateStream('U2'), replayName);

    // Rollback: five older authentic files, each one bob applied (an attacker kept them), a resync
    // among them, put back under fresh incremental names once bob is past them: each refused as rolled
    // back (a resync too: it replaces the replica, but never with an older one), and none counted
    // towards a block, so that old files anyone may have kept cannot block a user (a denial of service).
    const kept: Uint8Array[] = [pending.bytes];
    for (let i = 0; i < 5; i++) {
      if (i === 0) w.publisher.requestResync('U2');
      else w.admin.renameGroup('G1', `kept ${i}`);
      const listed = new Set(await w.transport.list(updateStream('U2')));
      await w.publisher.publish();
      const [latest] = (await w.transport.list(updateStream('U2'))).filter((n) => !listed.has(n));
      kept.push((await w.transport.read(updateStream('U2'), latest as string)) as Uint8Array);
      expect((await bob.sync(w.transport)).applied).toHaveLength(1);
    }
    const past = state(bob);
    const oldNames = kept.slice(0, 5).map((_, i) => next(i + 1));
    for (const [i, name] of oldNames.entries())
      await w.transport.write(updateStream('U2'), name, kept[i] as Uint8Array);
    const rolledBack = await bob.sync(w.transport);
    expect(rolledBack.refused.map((r) => r.reason)).toEqual([
      'rolledBack',
      'rolledBack',
      'rolledBack',
      'rolledBack',
      'rolledBack',
    ]);
    expect(bob.blocked).toBe(false);
    expect(state(bob)).toBe(past);
    for (const name of oldNames) await w.transport.remove(updateStream('U2'), name);

    // Reordering: two new files published, delivered in swapped names.
    w.admin.renameGroup('G1', 'one');
    await w.publisher.publish();
    w.admin.renameGroup('G1', 'two');
    await w.publisher.publish();
    const names = (await w.transport.list(updateStream('U2'))).slice(-2);
    const [a, b] = await Promise.all(names.map((n) => w.transport.read(updateStream('U2'), n)));
    await w.transport.write(updateStream('U2'), names[0] as string, b as Uint8Array);
    await w.transport.write(updateStream('U2'), names[1] as string, a as Uint8Array);
    // Judged in the order their headers claim (authenticated as each is opened): both apply. In name
    // order the newer file was a gap, and the older one applied alone.
    const swapped = await bob.sync(w.transport);
    expect(swapped.refused, `refused: ${refusedText(swapped.refused)}`).toEqual([]);
    expect(swapped.applied).toHaveLength(2);
    expect(bob.groups()[0]?.name).toBe('two');

    // One file renamed to sort after the files behind it: they still apply in order.
    for (const name of ['three', 'four', 'five']) {
      w.admin.renameGroup('G1', name);
      await w.publisher.publish();
    }
    const [first] = (await w.transport.list(updateStream('U2'))).slice(-3);
    const firstBytes = (await w.transport.read(updateStream('U2'), first as string)) as Uint8Array;
    await w.transport.remove(updateStream('U2'), first as string);
    await w.transport.write(updateStream('U2'), next(9), firstBytes);
    const renamed = await bob.sync(w.transport);
    expect(renamed.refused, `refused: ${refusedText(renamed.refused)}`).toEqual([]);
    expect(renamed.applied).toHaveLength(3);
    expect(bob.groups()[0]?.name).toBe('five');

    // A file for alice moved into bob's stream.
    const aliceFiles = await w.transport.list(updateStream('U1'));
    const aliceFile = await w.transport.read(updateStream('U1'), aliceFiles.at(-1) as string);
    const here = state(bob);
    expect(bob.check(aliceFile as Uint8Array)).toMatch(/forged|wrongRecipient/);
    // A file forged by alice's device: it can seal under neither channel key (admin→user opens only,
    // user→admin seals acknowledgements only), so under a data key it made itself.
    const body = encodeRecords([{ type: 'userUpsert', id: 'U2', name: 'pwned' }]);
    const header = {
      kind: 'resync' as const,
      userId: 'U2',
      serial: bob.device.serial,
      sequence: 999,
      previousHash: NO_PREVIOUS_FILE,
    };
    expect(() => alice.device.seal(alice.keyIds.adminToUserKeyId, body, new Uint8Array(1))).toThrow(/purpose/i);
    expect(() => alice.device.seal(alice.keyIds.userToAdminKeyId, body, new Uint8Array(1))).toThrow(/purpose/i);
    const ownKey = 500_000_000;
    alice.device.generateKey(ownKey);
    const forged = assembleUpdateFile(header, (aad) => alice.device.seal(ownKey, body, aad), body.length + 28);
    expect(bob.check(forged, true)).toBe('forged');
    // Bob's own host cannot forge one either.
    expect(() => bob.device.seal(bob.keyIds.adminToUserKeyId, body, new Uint8Array(1))).toThrow(/purpose/i);
    expect(state(bob)).toBe(here);
    // A forged acknowledgement is ignored by the admin.
    await w.transport.write(ackStream('U2'), '000000000999.ack', forged);
    const audited = w.admin.auditLog().length;
    const acks = (await w.publisher.collectAcknowledgements()).accepted;
    expect(acks.filter((x) => x.sequence === 999)).toEqual([]);
    // A forged acknowledgement costs no commit: the audit log does not grow with junk (a round of
    // authentic acknowledgements is one entry).
    expect(w.admin.auditLog().length).toBe(audited + (acks.length > 0 ? 1 : 0));
  });

  test("a file the admin HSM sealed for bob's HSM but naming alice is refused as wrongRecipient", async () => {
    // Only the admin HSM can seal for bob's channel, so an adversary cannot make this file; an admin that
    // misaddressed one could. Seal and serial are bob's: the user ID in the header alone says it is not his.
    await refusedInPlaceOfPending('misaddressed by name', 'wrongRecipient', (header) => ({ ...header, userId: 'U1' }));
  });

  test("an authentic incremental file at bob's next number that does not chain to his last is refused", async () => {
    // Sealed by the admin HSM, for bob, numbered right after his last file, naming another predecessor:
    // what an admin HSM restored from a backup publishes (restoredAdmin.properties.test.ts), and what no
    // single-byte change reaches (the header is the seal's AAD). Only the chain tells it from the real one.
    await refusedInPlaceOfPending('off the chain', 'forged', (header) => ({
      ...header,
      previousHash: new Uint8Array(32).fill(7),
    }));
  });
});

/**
 * A file the admin HSM seals for bob's channel under the pending file's header as `changed`, put in
 * the pending file's place: bob refuses it for `reason` and keeps his state, and the genuine file,
 * back under its name, still applies.
 */
async function refusedInPlaceOfPending(
  seed: string,
  reason: RefusalReason,
  changed: (header: UpdateHeader) => UpdateHeader,
): Promise<void> {
  const { w, pending } = await scenario(seed);
  try {
    const bob = w.users.get('U2') as User;
    const body = encodeRecords([{ type: 'userUpsert', id: 'U2', name: `bob, renamed (${seed})` }]);
    const file = assembleUpdateFile(
      changed(parseUpdateFile(pending.bytes).header),
      (aad) => w.adminDevice.seal(bob.keyIds.adminToUserKeyId, body, aad),
      body.length + 28,
    );
    const before = state(bob);
    expect(bob.check(file), `the file (${seed})`).toBe(reason);
    await w.transport.write(updateStream('U2'), pending.name, file);
    const report = await bob.sync(w.transport);
    expect(report.applied, 'files applied').toEqual([]);
    expect(
      report.refused.map((r) => r.reason),
      `refused: ${refusedText(report.refused)}`,
    ).toEqual([reason]);
    expect(state(bob), "bob's replica, HSM and sequence").toBe(before);
    await w.transport.write(updateStream('U2'), pending.name, pending.bytes);
    expect((await bob.sync(w.transport)).applied).toHaveLength(1);
  } finally {
    w.close();
  }
}

describe('a file name carries no authority', () => {
  test('a file withheld and the next offered under a resync name: still a gap, nothing applied', async () => {
    const { w } = await scenario('renamed resync');
    try {
      const bob = w.users.get('U2') as User;
      await bob.sync(w.transport);
      w.admin.renameGroup('G1', 'one');
      await w.publisher.publish();
      w.admin.renameGroup('G1', 'two');
      await w.publisher.publish();
      const stream = updateStream('U2');
      const [withheld, next] = (await w.transport.list(stream)).slice(-2) as [string, string];
      const bytes = (await w.transport.read(stream, next)) as Uint8Array;
      await w.transport.remove(stream, withheld);
      await w.transport.remove(stream, next);
      // The name claims a resync one past the newest file; the authenticated header says it is the
      // incremental file after the one withheld. Trusting the name would skip the gap check.
      const renamed = updateFileName(bob.appliedSequence + 3, 'resync');
      await w.transport.write(stream, renamed, bytes);
      const before = state(bob);
      const result = await bob.sync(w.transport);
      expect(result.applied).toEqual([]);
      expect(result.refused.map((r) => [r.name, r.reason])).toEqual([[renamed, 'gap']]);
      expect(state(bob)).toBe(before);
      expect(bob.check(bytes, true)).toBe('gap');
      progress.ran(1);
    } finally {
      w.close();
    }
  });
});

describe('update files delivered under any names', () => {
  test('every file present applies in one sync, in order, whatever names above the last it lies under', async () => {
    // Names are hints: files are judged in the order their headers claim. A shuffled, renamed or
    // resync-named delivery of the same authentic files must apply them all, refuse none, block
    // nobody, and end where the untouched delivery ends (`expected`, computed on an untouched world).
    // Bob's last applied file, the same in every run: what the counterexample's names count from.
    let last: number | null = null;
    await progress.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 5 }).chain((count) =>
          fc.record({
            count: fc.constant(count),
            // Each file's new name: a distinct sequence among the next 3 × count, and its kind.
            sequences: fc.uniqueArray(fc.integer({ min: 1, max: 3 * count }), { minLength: count, maxLength: count }),
            resync: fc.array(fc.boolean(), { minLength: count, maxLength: count }),
          }),
        ),
        async ({ count, sequences, resync }) => {
          const { w } = await scenario('names');
          try {
            const bob = w.users.get('U2') as User;
            for (let i = 1; i < count; i++) {
              w.admin.renameGroup('G1', `name ${i}`);
              await w.publisher.publish();
            }
            const stream = updateStream('U2');
            const names = await w.transport.list(stream);
            expect(names).toHaveLength(count);
            const files = await Promise.all(names.map((n) => w.transport.read(stream, n)));
            for (const name of names) await w.transport.remove(stream, name);
            const applied = bob.appliedSequence;
            last = applied;
            for (const [i, bytes] of files.entries()) {
              const name = updateFileName(applied + (sequences[i] as number), resync[i] ? 'resync' : 'incremental');
              await w.transport.write(stream, name, bytes as Uint8Array);
            }
            const report = await bob.sync(w.transport);
            expect(report.refused, `bob's sync refused ${refusedText(report.refused)}`).toEqual([]);
            expect(report.applied, "the files bob's sync applied, in order").toEqual(
              Array.from({ length: count }, (_, i) => applied + 1 + i),
            );
            expect(bob.blocked).toBe(false);
            expect(bob.groups()[0]?.name).toBe(`name ${count - 1}`);
            expect(bob.users().find((u) => u.id === 'U1')?.name).toBe('alice; DROP TABLE users;--');
            progress.ran(1);
          } finally {
            w.close();
          }
        },
      ),
      progress.params<[Delivery]>(5, ([delivery]) => `${deliveryText(delivery, last)}\nthen bob syncs once`),
    );
  });
});

describe('power loss while applying an update', () => {
  test('a cut at every flash and SD write leaves the state before or after; the next sync finishes', async () => {
    // Probe: how many flash operations and SD writes bob's sync of the pending file makes.
    const probe = await scenario('power');
    const bob0 = probe.w.users.get('U2') as User;
    const beforeState = state(bob0);
    const { flashOps, sdWrites } = await (async () => {
      const f0 = flashOpsOf(probe.w, 'U2');
      const s0 = sdWritesOf(probe.w, 'U2');
      await bob0.sync(probe.w.transport);
      return { flashOps: flashOpsOf(probe.w, 'U2') - f0, sdWrites: sdWritesOf(probe.w, 'U2') - s0 };
    })();
    const afterState = state(bob0);
    expect(afterState).not.toBe(beforeState);
    const cuts = [
      ...Array.from({ length: flashOps }, (_, i) => ({ where: 'flash' as const, n: i + 1 })),
      ...Array.from({ length: sdWrites }, (_, i) => ({ where: 'sd' as const, n: i + 1 })),
    ];
    const limit = scaled(cuts.length);
    for (const cut of cuts.slice(0, limit)) {
      const { w } = await scenario('power');
      let reopened: User | null = null;
      try {
        const bob = w.users.get('U2') as User;
        const target = w.hardware.get('U2') as {
          flash: import('../device/flash.ts').Flash;
          sd: import('../device/sdcard.ts').SdCard;
        };
        if (cut.where === 'flash') target.flash.cutPowerAfter(cut.n);
        else target.sd.cutPowerAfter(cut.n);
        await expect(bob.sync(w.transport), `cut at ${cut.where} #${cut.n}`).rejects.toThrow();
        bob.device.cutPower();
        bob.device.powerOn();
        bob.device.login('user', USER_PIN);
        reopened = await User.open({ device: bob.device, sd: target.sd, clock: w.clock });
        expect([beforeState, afterState], `cut at ${cut.where} #${cut.n}`).toContain(state(reopened));
        await reopened.sync(w.transport);
        expect(state(reopened), `after resuming from ${cut.where} #${cut.n}`).toBe(afterState);
        // The HSM recorded the update (shown the file again if the cut fell before it could) and
        // acknowledged it: the administrator sees bob up to date.
        expect(bob.device.counterRead(UPDATE_SEQUENCE_COUNTER), `counter after ${cut.where} #${cut.n}`).toBe(
          reopened.appliedSequence,
        );
        await w.publisher.collectAcknowledgements();
        expect(
          w.publisher.publicationStates().find((p) => p.userId === 'U2')?.state,
          `ack after ${cut.where} #${cut.n}`,
        ).toBe('acknowledged');
      } finally {
        w.close();
        reopened?.close();
      }
    }
    expect(cuts.length).toBeGreaterThan(10);
  });
});

/**
 * The installation the hostile-host and cut-before-recording properties fork from (`World.fork`, one copy a run),
 * built once: bob (U2) applied and recorded his files up to `applied`, and the admin published him the next three
 * (`applied` + 1 … + 3), unapplied. Beside it, files to attack with: every file bob was sent (`authentic`, by
 * sequence), alice's latest file, a file for bob forged by alice's HSM under a key of its own, and `restored`:
 * file `applied` + 1 for bob as an admin HSM restored from a backup taken before it was published makes it
 * (authentic, sealed for bob, another content), and `otherSerial`: file `applied` + 1 sealed by the admin HSM
 * under bob's channel key, its header naming alice's HSM (authentic for bob's channel: only the HSM's own
 * serial check refuses it).
 */
interface HostileBase {
  readonly w: World;
  readonly applied: number;
  readonly authentic: ReadonlyMap<number, Uint8Array>;
  readonly alices: Uint8Array;
  readonly forgedByAlice: Uint8Array;
  readonly restored: Uint8Array;
  readonly otherSerial: Uint8Array;
}

let hostileBaseBuilt: Promise<HostileBase> | null = null;
// Its databases live in sql.js's WebAssembly memory, which only closing frees (`World.close`).
afterAll(async () => (await hostileBaseBuilt)?.w.close());
/** {@link HostileBase}, built by the first property that asks (the same seeded HSMs as `scenario`'s). */
function hostileBase(): Promise<HostileBase> {
  hostileBaseBuilt ??= buildHostileBase();
  return hostileBaseBuilt;
}

async function buildHostileBase(): Promise<HostileBase> {
  const w = await newTeam(policy, Date.UTC(2026, 0, 1), 'attacks');
  const stream = updateStream('U2');
  const authentic = new Map<number, Uint8Array>();
  // Every file bob is sent, kept before the admin removes it once acknowledged: a hostile host keeps them too.
  const keep = async () => {
    for (const name of await w.transport.list(stream)) {
      const bytes = (await w.transport.read(stream, name)) as Uint8Array;
      authentic.set(parseUpdateFile(bytes).header.sequence, bytes);
    }
  };
  // Three files, so that bob's HSM journals its counter's next advance as one bit of an open tally
  // (device/counterJournal.ts): a cut tears that one-bit program either way. Were it an 8-byte journal
  // entry, a torn one would almost never land (its Berger check fails unless every bit was cleared), and
  // the power-cut property below would judge only the counter writes that did not.
  for (const name of ['first', 'second', 'third']) {
    w.admin.activateKey(w.admin.addKey('G1', name));
    await w.publisher.publish();
    await keep();
    await w.syncByFiles();
  }
  const bob = w.users.get('U2') as User;
  const applied = bob.appliedSequence;
  expect(bob.device.counterRead(UPDATE_SEQUENCE_COUNTER)).toBe(applied);
  const backup = w.adminDevice.simulatorClone().device;
  for (const name of ['one', 'two', 'three']) {
    w.admin.renameGroup('G1', name);
    await w.publisher.publish();
  }
  await keep();
  for (let s = applied + 1; s <= applied + 3; s++) expect(authentic.has(s), `bob's file ${s}`).toBe(true);
  const alices = (await w.transport.read(
    updateStream('U1'),
    (await w.transport.list(updateStream('U1'))).at(-1) as string,
  )) as Uint8Array;
  // Alice's HSM can seal under no channel key, so under a key it made itself (as the forging test above).
  const alice = w.users.get('U1') as User;
  const body = encodeRecords([{ type: 'userUpsert', id: 'U2', name: 'pwned' }]);
  const ownKey = 500_000_000;
  alice.device.generateKey(ownKey);
  /** Bob's next incremental in form: `content`, naming the HSM `serial`, sealed by `seal`. */
  const nextFile = (serial: string, content: Uint8Array, seal: (aad: Uint8Array) => Uint8Array) =>
    assembleUpdateFile(
      {
        kind: 'incremental',
        userId: 'U2',
        serial,
        sequence: applied + 1,
        previousHash: fileHash(authentic.get(applied) as Uint8Array),
      },
      seal,
      content.length + 28,
    );
  const forgedByAlice = nextFile(bob.device.serial, body, (aad) => alice.device.seal(ownKey, body, aad));
  // Sealed where only the admin HSM can seal, for bob's channel, but naming another HSM: the seal verifies
  // on bob's HSM, so its serial check alone stands between it and the counter (a file of every other kind
  // fails the seal first, and a bug that dropped the check passed every run before).
  const otherBody = encodeRecords([{ type: 'userUpsert', id: 'U2', name: 'bob on another HSM' }]);
  const otherSerial = nextFile(alice.device.serial, otherBody, (aad) =>
    w.adminDevice.seal(bob.keyIds.adminToUserKeyId, otherBody, aad),
  );
  expect(alice.device.serial, "alice's HSM is another").not.toBe(bob.device.serial);
  {
    // Sealed for bob's channel indeed: the seal verifies on his HSM (on a copy, whose RAM an accepted open
    // would change). Not its answer, which the property judges: a missing serial check must fail there.
    const copy = await w.fork();
    const { headerBytes, sealedBody } = parseUpdateFile(otherSerial);
    const other = copy.users.get('U2') as User;
    try {
      const code = outcomeOf(() => other.device.openUpdate(other.keyIds.adminToUserKeyId, headerBytes, sealedBody));
      expect(code, "bob's HSM checks the seal of the file naming alice's HSM").not.toBe('AuthFailed');
    } finally {
      copy.close();
    }
  }
  // The admin HSM put back from the backup publishes its own file applied + 1 (to a share of its own, so
  // that bob's stays as it was): bob's number, sealed for bob, but not the file bob applied.
  const restoredAdmin = await Admin.open({ device: backup, sd: backup.sdcard as SdCard, clock: w.clock });
  let restored: Uint8Array | undefined;
  try {
    restoredAdmin.renameUser('U2', 'bob, as the restored admin has him');
    const share = new MemoryTransport();
    await new Publisher(restoredAdmin, share).publish();
    for (const name of await share.list(stream)) {
      const bytes = (await share.read(stream, name)) as Uint8Array;
      if (parseUpdateFile(bytes).header.sequence === applied + 1) restored = bytes;
    }
  } finally {
    restoredAdmin.close();
  }
  expect(restored, "the restored admin's file for bob").toBeDefined();
  expect(bytesEqual(restored as Uint8Array, authentic.get(applied + 1) as Uint8Array)).toBe(false);
  return { w, applied, authentic, alices, forgedByAlice, restored: restored as Uint8Array, otherSerial };
}

/** What bob's compromised host hands its HSM to open: one of his authentic files, or a file made from one. */
type Opened =
  | { readonly kind: 'authentic' }
  | { readonly kind: 'flipped'; readonly at: number; readonly mask: number }
  | { readonly kind: 'spliced'; readonly other: number }
  | { readonly kind: 'alices' }
  | { readonly kind: 'forgedByAlice' }
  | { readonly kind: 'otherSerial' };

/** A call bob's compromised host makes to its logged-in HSM. */
type HostileCall =
  | { readonly call: 'open'; readonly sequence: number; readonly file: Opened }
  | { readonly call: 'record'; readonly ahead: number }
  | { readonly call: 'acknowledge'; readonly ahead: number }
  | { readonly call: 'relogin' | 'reboot' };

/** `call` in words; sequences `ahead` of the counter count from its value when the call is made. */
function hostileCallText(c: HostileCall): string {
  const signed = (n: number) => (n < 0 ? `- ${-n}` : `+ ${n}`);
  switch (c.call) {
    case 'open': {
      const f = c.file;
      const what =
        f.kind === 'authentic'
          ? `bob's file ${c.sequence}`
          : f.kind === 'flipped'
            ? `bob's file ${c.sequence} with byte ${f.at} (mod its length) xor 0x${f.mask.toString(16)}`
            : f.kind === 'spliced' && f.other !== c.sequence
              ? `the header of bob's file ${c.sequence} on the sealed body of his file ${f.other}`
              : f.kind === 'spliced'
                ? `bob's file ${c.sequence} with the first byte of its sealed body xor 0x1`
                : f.kind === 'alices'
                  ? "alice's latest file"
                  : f.kind === 'otherSerial'
                    ? `bob's next file as the admin HSM sealed it for his channel, but naming alice's HSM`
                    : "a file for bob forged by alice's HSM";
      return `openUpdate(${what})`;
    }
    case 'record':
      return `recordUpdateApplied(counter ${signed(c.ahead)})`;
    case 'acknowledge':
      return `acknowledge(a header for counter ${signed(c.ahead)})`;
    default:
      return c.call === 'relogin' ? 'logout, login' : 'power cut, power on, login';
  }
}

/** The DeviceError code `run` throws, or 'accepted'. Anything but a DeviceError is thrown on. */
function outcomeOf(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (!isDeviceError(error)) throw error;
    return error.code;
  }
}

describe('a compromised user host calls its HSM directly', () => {
  test(
    'the HSM acknowledges only up to its counter and records only the update it authenticated last; each refusal ' +
      'leaves its flash untouched',
    async () => {
      const base = await hostileBase();
      const { applied } = base;
      const last = applied + 3;
      const sequence = fc.integer({ min: 1, max: last });
      const call: fc.Arbitrary<HostileCall> = fc.oneof(
        { weight: 4, arbitrary: fc.record({ call: fc.constant('open' as const), sequence, file: opened(last) }) },
        {
          weight: 3,
          arbitrary: fc.record({ call: fc.constant('record' as const), ahead: fc.integer({ min: -1, max: 3 }) }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ call: fc.constant('acknowledge' as const), ahead: fc.integer({ min: -1, max: 3 }) }),
        },
        { weight: 1, arbitrary: fc.record({ call: fc.constantFrom('relogin' as const, 'reboot' as const) }) },
      );
      const open = (s: number, file: Opened = { kind: 'authentic' }): HostileCall => ({
        call: 'open',
        sequence: s,
        file,
      });
      await progress.assert(
        fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 8 }), async (calls) => {
          const w = await base.w.fork();
          try {
            const device = (w.users.get('U2') as User).device;
            const { adminToUserKeyId, userToAdminKeyId } = (w.users.get('U2') as User).keyIds;
            const flash = (w.hardware.get('U2') as { flash: import('../device/flash.ts').Flash }).flash;
            // The rule as designed (secubeUpdates.ts, secubeAcknowledge.ts): the counter moves only to the
            // sequence the HSM authenticated last since it was powered on or logged in (a file whose seal
            // fails is not authenticated, so it does not displace that one), never backwards; an
            // acknowledgement is sealed only for a sequence from 1 to the counter.
            // Bob's own syncs authenticated files up to `applied` in this session (a fork keeps the HSM's RAM):
            // any of them is at or below the counter, which the rule refuses or takes as done, so none counts.
            let counter = applied;
            let lastAuthenticated: number | undefined;
            const done: string[] = [];
            for (const c of calls) {
              const ops = flash.operations;
              let expected: string;
              let got: string;
              if (c.call === 'open') {
                const { header, body } = openedBytes(base, c.sequence, c.file);
                // A file authentic for bob's channel that names another HSM is refused for that, by its code:
                // any other refusal would be the seal's, which it passes.
                expected =
                  c.file.kind === 'authentic'
                    ? 'accepted'
                    : c.file.kind === 'otherSerial'
                      ? 'NotForThisDevice'
                      : 'refused';
                got = outcomeOf(() => device.openUpdate(adminToUserKeyId, header, body));
                if (got === 'accepted') lastAuthenticated = c.sequence;
                else if (expected === 'refused') got = 'refused';
              } else if (c.call === 'record') {
                const s = Math.max(1, counter + c.ahead);
                expected =
                  s < counter
                    ? 'CounterRollback'
                    : s === counter || s === lastAuthenticated
                      ? 'accepted'
                      : 'UpdateNotAuthenticated';
                got = outcomeOf(() => device.recordUpdateApplied(s));
                if (got === 'accepted') counter = s;
              } else if (c.call === 'acknowledge') {
                const s = Math.max(1, counter + c.ahead);
                const hash = fileHash(base.authentic.get(s) ?? new Uint8Array(0));
                const header = encodeAckHeader({ userId: 'U2', serial: device.serial, sequence: s, fileHash: hash });
                expected = s <= counter ? 'accepted' : 'NotApplied';
                got = outcomeOf(() => device.acknowledge(userToAdminKeyId, header));
              } else {
                if (c.call === 'reboot') {
                  device.cutPower();
                  device.powerOn();
                } else device.logout();
                device.login('user', USER_PIN);
                lastAuthenticated = undefined;
                expected = got = 'accepted';
              }
              done.push(`${hostileCallText(c)}: ${got}`);
              const story = `bob's host, from counter ${applied}:\n  ${done.join('\n  ')}`;
              expect(got, `${story}\n(expected ${expected})`).toBe(expected);
              expect(device.counterRead(UPDATE_SEQUENCE_COUNTER), `${story}\nthe HSM's counter`).toBe(counter);
              // A refused call writes nothing: no counter of the HSM moves (they all live in its flash).
              if (got !== 'accepted') expect(flash.operations - ops, `${story}\nflash operations`).toBe(0);
            }
            progress.ran(calls.length);
          } finally {
            w.close();
          }
        }),
        {
          ...progress.params<[HostileCall[]]>(30, ([calls]) => calls.map((c) => hostileCallText(c)).join(', then ')),
          // The attacks the review named, at every run: an acknowledgement one past the counter; file N + 1
          // authenticated and N + 2 recorded; N + 1 authenticated, a forged file refused, N + 1 recorded
          // (accepted: only an authenticated file displaces the one to record); N + 1 then N + 2
          // authenticated, N + 1 recorded (refused: the last authenticated is the one recorded).
          examples: [
            [[{ call: 'acknowledge', ahead: 1 }]],
            [[open(applied + 1), { call: 'record', ahead: 2 }]],
            [
              [
                open(applied + 1),
                open(applied + 2, { kind: 'flipped', at: 100, mask: 1 }),
                { call: 'record', ahead: 1 },
              ],
            ],
            [[open(applied + 1), open(applied + 2), { call: 'record', ahead: 1 }, { call: 'record', ahead: 2 }]],
          ],
        },
      );
    },
  );
});

/** What lies under the applied file's name once power was cut before the HSM recorded it. */
type Replacement =
  | { readonly kind: 'junk'; readonly bytes: Uint8Array }
  | { readonly kind: 'flipped'; readonly at: number; readonly mask: number }
  | { readonly kind: 'alices' | 'forgedByAlice' | 'bobsNext' | 'restored' };

/** How the genuine files come back after the replaced one was synced. */
type Recovery = 'genuine file back' | 'next files only' | 'admin publishes';

interface CutCase {
  readonly cut: 'before the counter write' | 'in the counter write';
  /** The seed of bob's flash fault generator in this run's fork: which cells a torn counter write leaves. */
  readonly faultSeed: number;
  readonly replacement: Replacement;
  readonly syncs: number;
  readonly recovery: Recovery;
}

function replacementText(r: Replacement): string {
  switch (r.kind) {
    case 'junk':
      return `${r.bytes.length} bytes of junk`;
    case 'flipped':
      return `the applied file with byte ${r.at} (mod its length) xor 0x${r.mask.toString(16)}`;
    case 'alices':
      return "alice's latest file";
    case 'forgedByAlice':
      return "a file for bob forged by alice's HSM";
    case 'bobsNext':
      return "bob's next authentic file";
    default:
      return "the restored admin's authentic file of the same number";
  }
}

function replacementBytes(base: HostileBase, r: Replacement): Uint8Array {
  switch (r.kind) {
    case 'junk':
      return r.bytes;
    case 'flipped': {
      const bytes = (base.authentic.get(base.applied + 1) as Uint8Array).slice();
      bytes[r.at % bytes.length] = (bytes[r.at % bytes.length] as number) ^ r.mask;
      return bytes;
    }
    case 'alices':
      return base.alices;
    case 'forgedByAlice':
      return base.forgedByAlice;
    case 'bobsNext':
      return base.authentic.get(base.applied + 2) as Uint8Array;
    default:
      return base.restored;
  }
}

/** Runs of the power-cut property at CI size. */
const CUT_CI_RUNS = 20;

/** How the power-cut property's torn counter writes ended, in the runs of its last property. */
const tornWrites = { landed: 0, lost: 0 };

/** The power-cut property's runs (fast-check's count), its seed, and whether it failed or did not end. */
let cutRuns: { runs: number; seed: number | undefined; failed: boolean } = { runs: 0, seed: undefined, failed: true };

describe('power cut between applying a file and recording it, then another file under its name', () => {
  test(
    'syncs neither throw nor wedge, the HSM records only the file applied, and no acknowledgement names ' +
      'another file',
    async () => {
      // Designed (impl/kms/userSync.ts, #recordAfterReboot): after the cut, the next sync shows the HSM the
      // file under the applied name only if its hash is the applied file's; anything else there is passed
      // over, and the counter waits for the genuine file or moves past it with the next file applied.
      const base = await hostileBase();
      const first = base.applied + 1;
      const genuine = base.authentic.get(first) as Uint8Array;
      const replacement: fc.Arbitrary<Replacement> = fc.oneof(
        fc.record({ kind: fc.constant('junk' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
        fc.record({ kind: fc.constant('flipped' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
        fc.record({
          kind: fc.constantFrom('alices' as const, 'forgedByAlice' as const, 'bobsNext' as const, 'restored' as const),
        }),
      );
      const cutCase: fc.Arbitrary<CutCase> = fc.record({
        cut: fc.constantFrom('before the counter write' as const, 'in the counter write' as const),
        // Unbiased: a biased draw repeats a few small and extreme seeds, so the same few tears.
        faultSeed: fc.noBias(fc.integer()),
        replacement,
        syncs: fc.integer({ min: 1, max: 2 }),
        recovery: fc.constantFrom<Recovery>('genuine file back', 'next files only', 'admin publishes'),
      });
      tornWrites.landed = tornWrites.lost = 0;
      const params = {
        ...progress.params<[CutCase]>(
          CUT_CI_RUNS,
          ([c]) =>
            `power cut ${c.cut} of bob's next file (fault seed ${c.faultSeed}); ` +
            `${replacementText(c.replacement)} under its name; ${c.syncs} sync(s); then ${c.recovery}`,
        ),
        // At every run, the authentic file of the same number from a restored admin: the one replacement
        // the HSM itself cannot tell from the applied file.
        examples: [
          [
            {
              cut: 'before the counter write' as const,
              faultSeed: 1,
              replacement: { kind: 'restored' as const },
              syncs: 1,
              recovery: 'genuine file back' as const,
            },
          ],
        ] satisfies [CutCase][],
      };
      cutRuns = { runs: 0, seed: params.seed, failed: true };
      await progress.assert(
        fc.asyncProperty(cutCase, async ({ cut, faultSeed, replacement: r, syncs, recovery }) => {
          const w = await base.w.fork();
          let reopened: User | null = null;
          try {
            const stream = updateStream('U2');
            const nameOf = async (sequence: number) =>
              (await w.transport.list(stream)).find((n) => sequenceOfName(n)?.sequence === sequence) as string;
            const name = await nameOf(first);
            const later = [await nameOf(first + 1), await nameOf(first + 2)];
            // Only the first file is there to apply: the next two come back at the recovery.
            for (const n of later) await w.transport.remove(stream, n);
            const bob = w.users.get('U2') as User;
            const { device } = bob;
            const { flash, sd } = w.hardware.get('U2') as {
              flash: import('../device/flash.ts').Flash;
              sd: import('../device/sdcard.ts').SdCard;
            };
            // Every fork copies the base's fault generator: without a seed of the run's own, every torn
            // counter write would tear alike, and the counter land in every run or in none.
            flash.reseedFaults(faultSeed);
            const record = device.recordUpdateApplied.bind(device);
            device.recordUpdateApplied = (n: number) => {
              // The power goes as the host asks the HSM to record the file: before its counter's one
              // flash program, or during it (the program torn: its cells anywhere between old and new).
              if (cut === 'before the counter write') device.cutPower();
              else flash.cutPowerAfter(1);
              return record(n);
            };
            await expect(bob.sync(w.transport), 'the sync cut').rejects.toThrow(PowerLossError);
            device.recordUpdateApplied = record;
            device.cutPower();
            device.powerOn();
            device.login('user', USER_PIN);
            reopened = await User.open({ device, sd, clock: w.clock });
            const user = reopened;
            expect(user.appliedSequence, 'applied before the cut').toBe(first);
            const counted = device.counterRead(UPDATE_SEQUENCE_COUNTER);
            expect([base.applied, first], 'the counter after the cut').toContain(counted);
            if (cut === 'in the counter write') tornWrites[counted === first ? 'landed' : 'lost'] += 1;
            await w.transport.write(stream, name, replacementBytes(base, r));
            const story = [`power cut ${cut} of file ${first} (counter ${counted} after it)`];
            story.push(`${name} replaced by ${replacementText(r)}`);
            const says = (what: string) => `${story.join('; ')}\n${what}`;
            // Every acknowledgement of bob's on the share names the file of that number that bob was sent.
            const acksTrue = async () => {
              for (const ackName of await w.transport.list(ackStream('U2'))) {
                const { ack } = parseAck((await w.transport.read(ackStream('U2'), ackName)) as Uint8Array);
                const sent = base.authentic.get(ack.sequence);
                if (sent === undefined) continue;
                expect(bytesToHex(ack.fileHash), says(`the acknowledgement ${ackName}'s file hash`)).toBe(
                  bytesToHex(fileHash(sent)),
                );
              }
            };
            const syncing = async (what: string) => {
              story.push(what);
              try {
                return await user.sync(w.transport);
              } catch (error) {
                throw new Error(says(`the sync threw: ${String(error)}`));
              }
            };
            for (let i = 1; i <= syncs; i++) {
              const report = await syncing(`sync ${i}`);
              expect(report.applied, says('applied')).toEqual([]);
              await acksTrue();
              expect(user.appliedSequence, says("bob's replica")).toBe(first);
              expect(device.counterRead(UPDATE_SEQUENCE_COUNTER), says("the HSM's counter")).toBe(counted);
            }
            let expected: number;
            if (recovery === 'genuine file back') {
              await w.transport.write(stream, name, genuine);
              expect((await syncing('the genuine file back, sync')).applied, says('applied')).toEqual([]);
              expected = first;
            } else if (recovery === 'next files only') {
              for (const [i, n] of later.entries())
                await w.transport.write(stream, n, base.authentic.get(first + 1 + i) as Uint8Array);
              const report = await syncing('the next two files back, sync');
              expect(report.applied, says('applied')).toEqual([first + 1, first + 2]);
              expected = first + 2;
            } else {
              w.admin.renameGroup('G1', 'after the cut');
              await w.publisher.publish();
              const report = await syncing('the admin publishes its next file, sync');
              expect(report.applied, says('applied')).toEqual([first + 1, first + 2, first + 3]);
              expected = first + 3;
            }
            expect(device.counterRead(UPDATE_SEQUENCE_COUNTER), says("the HSM's counter")).toBe(expected);
            await acksTrue();
            // Not wedged: with every file of the admin's back on the share, bob ends up to date and
            // acknowledged.
            await w.publisher.collectAcknowledgements();
            await w.publisher.flush();
            await syncing('every file back, sync');
            await w.publisher.collectAcknowledgements();
            expect(device.counterRead(UPDATE_SEQUENCE_COUNTER), says("the HSM's counter")).toBe(user.appliedSequence);
            expect(w.publisher.publicationStates().find((p) => p.userId === 'U2')?.state, says('bob')).toBe(
              'acknowledged',
            );
            await acksTrue();
            // The sync cut, the syncs of the replaced file, the recovery and the last.
            progress.ran(syncs + 3);
          } finally {
            reopened?.close();
            w.close();
          }
        }),
        params,
      );
      cutRuns = { runs: progress.runs, seed: params.seed, failed: false };
    },
  );

  // A replay is one run, a failed property stopped early, a smaller run or another seed may draw no torn
  // write of one kind with nothing wrong: the claim is about the CI seed's runs at CI size.
  test.skipIf(replaying())('the torn counter writes of the runs both landed and were lost', (ctx) => {
    if (cutRuns.failed) ctx.skip('the property failed or did not run: the reach of its runs is not judged');
    if (cutRuns.runs < CUT_CI_RUNS) ctx.skip(`${cutRuns.runs} runs, fewer than CI size (${CUT_CI_RUNS})`);
    if (cutRuns.seed !== CI_SEED) ctx.skip(`seed ${cutRuns.seed ?? 'drawn at random'}: the reach is the CI seed's`);
    // Each outcome is where one bug shows: a landed write the reboot ignores or counts twice, a lost
    // one taken as recorded; with every run's tear alike, the runs judged one of them only. At the CI seed,
    // 3 landed and 5 were lost of the 8 runs cut in the counter write (one in two lands, the draw unbiased).
    expect(tornWrites.landed, 'torn counter writes that landed (counter = the file applied)').toBeGreaterThan(0);
    expect(tornWrites.lost, 'torn counter writes that were lost (counter as before)').toBeGreaterThan(0);
  });
});

/** What bob's host may hand its HSM to open, for a file of bob's among `1 … last`. */
function opened(last: number): fc.Arbitrary<Opened> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: 'authentic' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('flipped' as const),
        at: fc.nat(),
        mask: fc.integer({ min: 1, max: 255 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('spliced' as const), other: fc.integer({ min: 1, max: last }) }),
    },
    { weight: 1, arbitrary: fc.constantFrom({ kind: 'alices' as const }, { kind: 'forgedByAlice' as const }) },
    // Authentic for bob's channel, another serial in the header the seal covers: what reaches the HSM's
    // serial check, which no other kind does (each fails the seal first).
    { weight: 1, arbitrary: fc.constant({ kind: 'otherSerial' as const }) },
  );
}

/**
 * The header and sealed body bob's host hands its HSM for `file`. A flipped byte falls in the header or the
 * body, split where the authentic file splits; a spliced body is another file's (its own file's, a flip).
 */
function openedBytes(base: HostileBase, sequence: number, file: Opened): { header: Uint8Array; body: Uint8Array } {
  const split = (bytes: Uint8Array) => {
    const { headerBytes, sealedBody } = parseUpdateFile(bytes);
    return { header: headerBytes, body: sealedBody };
  };
  const own = base.authentic.get(sequence) as Uint8Array;
  switch (file.kind) {
    case 'authentic':
      return split(own);
    case 'flipped': {
      const { header } = split(own);
      const bytes = own.slice();
      const at = file.at % bytes.length;
      bytes[at] = (bytes[at] as number) ^ file.mask;
      return { header: bytes.slice(0, header.length), body: bytes.slice(header.length) };
    }
    case 'spliced': {
      const { header, body } = split(own);
      if (file.other !== sequence) return { header, body: split(base.authentic.get(file.other) as Uint8Array).body };
      const flipped = body.slice();
      flipped[0] = (flipped[0] as number) ^ 1;
      return { header, body: flipped };
    }
    case 'alices':
      return split(base.alices);
    case 'otherSerial':
      return split(base.otherSerial);
    default:
      return split(base.forgedByAlice);
  }
}

function flashOpsOf(w: World, userId: string): number {
  const s = w.hardware.get(userId)?.flash.stats();
  return s ? s.programCalls + s.erases.reduce((a, b) => a + b, 0) : 0;
}
function sdWritesOf(w: World, userId: string): number {
  return w.hardware.get(userId)?.sd.stats().writes ?? 0;
}
