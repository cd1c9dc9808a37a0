import { describe, expect, it } from 'vitest';
import { scaled } from '../testing/runConfig.ts';
import { isDeviceError } from './deviceError.ts';
import { PowerLossError } from './powerLossError.ts';
import { DEFAULT_STATE_SECTORS } from './secube.ts';
import type { SecubeDevice } from './secube.ts';
import { ADMIN_PIN, USER_PIN, makeDevice, reboot } from './secube.testkit.ts';

/** What a reboot may show: the counters and tries left. */
interface Seen {
  readonly counters: Readonly<Record<string, number>>;
  readonly left: { readonly user: number; readonly admin: number };
}
const NAMES = ['db.intent', 'db.generation'];

/** Reads what a rebooted device holds: tries first (no session needed), then counters through an admin session. */
function seen(device: SecubeDevice): Seen {
  const left = device.retriesLeft;
  device.login('admin', ADMIN_PIN);
  const counters = Object.fromEntries(NAMES.map((n) => [n, device.counterRead(n)]));
  device.logout();
  return { counters, left };
}

/**
 * The counter path of a database commit and of logins: an intent advance (a jump of 2^20) and a
 * generation advance (+1) per commit, logins that spend a try and restore it, one wrong PIN. Before
 * each step, calls `mark` with the states its durable writes leave, in order.
 */
function script(device: SecubeDevice, commits: number, mark: (states: readonly Seen[]) => void): void {
  const counters: Record<string, number> = { 'db.intent': 0, 'db.generation': 0 };
  const left = { user: 3, admin: 3 };
  const now = (): Seen => ({ counters: { ...counters }, left: { ...left } });
  const login = (pin: string): void => {
    left.user -= 1;
    const spent = now();
    left.user = 3;
    mark(pin === USER_PIN ? [spent, now()] : [spent]);
    if (pin !== USER_PIN) left.user = spent.left.user;
    try {
      device.login('user', pin);
    } catch (e) {
      if (!isDeviceError(e, 'WrongPin')) throw e;
    }
  };
  login(USER_PIN);
  for (let c = 1; c <= commits; c++) {
    counters['db.intent'] = c * 2 ** 20 + 1;
    mark([now()]);
    device.counterAdvance('db.intent', c * 2 ** 20 + 1);
    counters['db.generation'] = c;
    mark([now()]);
    device.counterAdvance('db.generation', c);
    if (c % 3 === 0) {
      device.logout();
      login('wrong-pin');
      login(USER_PIN);
    }
  }
}

describe('counters and PIN tries in the record area journal', () => {
  it('cost no erase and a few bits each: 600 commits and 100 logins fit in the first sector', () => {
    const t = makeDevice('journal-wear');
    const before = t.flash.eraseCounts();
    const fresh = t.flash.stats().freshBytes;
    t.device.login('admin', ADMIN_PIN);
    for (let c = 1; c <= 600; c++) {
      t.device.counterAdvance('db.intent', c * 2 ** 20 + 1);
      t.device.counterAdvance('db.generation', c);
    }
    for (let i = 0; i < 100; i++) {
      t.device.logout();
      t.device.login('user', USER_PIN);
    }
    const state = DEFAULT_STATE_SECTORS as readonly number[];
    const erases = t.flash.eraseCounts().map((n, i) => (state.includes(i) ? n - (before[i] ?? 0) : 0));
    // Two new counter names each save a new base (one erase at most); then nothing but journal bits.
    expect(erases.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2);
    // Well under 1,400 advances x a 368-byte record; about 2,000 bits of tallies plus entries.
    expect(t.flash.stats().freshBytes - fresh).toBeLessThan(2_000);
    const back = reboot(t);
    expect(back.retriesLeft).toEqual({ user: 3, admin: 3 });
    back.login('admin', ADMIN_PIN);
    expect(back.counterRead('db.generation')).toBe(600);
    expect(back.counterRead('db.intent')).toBe(600 * 2 ** 20 + 1);
  });

  it('under a power cut at every flash operation of the counter path, a reboot shows a state it passed through', () => {
    const commits = scaled(7);
    const dry = makeDevice('journal-cut');
    const start = dry.flash.operations;
    script(dry.device, commits, () => {});
    const operations = dry.flash.operations - start;
    expect(operations).toBeGreaterThan(3 * commits);
    for (const flashSeed of [1, 2]) {
      for (let cutAt = 1; cutAt <= operations; cutAt++) {
        const t = makeDevice('journal-cut', { flashSeed });
        const groups: string[][] = [
          [JSON.stringify({ counters: { 'db.intent': 0, 'db.generation': 0 }, left: { user: 3, admin: 3 } })],
        ];
        t.flash.cutPowerAfter(cutAt);
        try {
          script(t.device, commits, (states) => groups.push(states.map((s) => JSON.stringify(s))));
        } catch (e) {
          expect(e).toBeInstanceOf(PowerLossError);
        }
        t.flash.cancelPowerCut();
        t.flash.powerOn();
        const after = JSON.stringify(seen(reboot(t)));
        // The state before the step in flight, or one its writes left.
        const legal = [...(groups.at(-2)?.slice(-1) ?? []), ...(groups.at(-1) ?? [])];
        if (!legal.includes(after)) expect({ cutAt, flashSeed, after }).toEqual({ cutAt, flashSeed, after: legal });
      }
    }
  });
});

describe('counter names', () => {
  it('are well-formed Unicode: a lone surrogate, which flash would keep as U+FFFD, is refused', () => {
    const t = makeDevice('counter-names');
    const { device } = t;
    device.login('user', USER_PIN);
    for (const name of ['a\uD800', 'a\uDC00', '\uD800x'])
      expect(() => device.counterAdvance(name, 1)).toThrow(expect.objectContaining({ code: 'BadArgument' }));
    // Before the check, two such names became one record, and a counter sorted after them took the
    // advances journalled for another: db.generation read 5 after a reboot, having reached 9.
    device.counterAdvance('db.generation', 5);
    device.counterAdvance('zz', 1);
    device.counterAdvance('db.generation', 9);
    // A surrogate pair is one code point: a name like any other, kept across reboots.
    device.counterAdvance('key \u{1F511}', 3);
    const again = reboot(t);
    again.login('user', USER_PIN);
    expect([again.counterRead('db.generation'), again.counterRead('zz'), again.counterRead('key \u{1F511}')]).toEqual([
      9, 1, 3,
    ]);
  });
});
