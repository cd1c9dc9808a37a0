/**
 * Update files under attack and under power loss. The attacker owns the shared folder: it flips
 * bytes, truncates, appends bytes, reorders, replays old files, moves another user's file into a
 * stream, and seals files with a user device it controls. Every such file must be refused with a reason and leave
 * the user's replica, keys and sequence exactly as they were; authentic files are judged in the
 * order their headers claim, so a delivery of them under any names applies them all. A power cut at
 * every flash and SD write while a file is applied must leave the state before or after, and a
 * later sync must finish.
 * An operation (for `npm run properties`) is one sync of a tampered or authentic file.
 */
import fc from 'fast-check';
import { bytesEqual } from '../device/binaryCodec.ts';
import { describe, expect, test } from 'vitest';
import { USER_PIN } from '../device/secube.testkit.ts';
import type { GroupPolicy } from '../model/kms.ts';
import { ackStream, updateFileName, updateStream } from '../impl/protocol/streams.ts';
import { NO_PREVIOUS_FILE, assembleUpdateFile, encodeRecords } from '../impl/protocol/updateFile.ts';
import { UPDATE_SEQUENCE_COUNTER, User } from '../impl/kms/user.ts';
import { isKmsDeviceKey } from '../impl/protocol/deviceKeyIds.ts';
import { newWorld } from '../impl/kms/world.testkit.ts';
import type { World } from '../impl/kms/world.testkit.ts';
import { scaled } from '../testing/runConfig.ts';
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
  const w = await newWorld(Date.UTC(2026, 0, 1), seed);
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
});

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

function flashOpsOf(w: World, userId: string): number {
  const s = w.hardware.get(userId)?.flash.stats();
  return s ? s.programCalls + s.erases.reduce((a, b) => a + b, 0) : 0;
}
function sdWritesOf(w: World, userId: string): number {
  return w.hardware.get(userId)?.sd.stats().writes ?? 0;
}
