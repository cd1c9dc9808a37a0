import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InstallationError } from './installationError.ts';
import {
  MANUFACTURER_FILE,
  createFactory,
  createManufacturerFile,
  openFactory,
  readManufacturerFile,
} from './manufacturerFile.ts';

const homes: string[] = [];
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-manufacturer-'));
  homes.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function expectBad(f: () => unknown, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e instanceof InstallationError && e.code === 'BadInstallation').toBe(true);
    expect(String(e)).toMatch(pattern);
    return;
  }
  expect.unreachable('accepted');
}

describe('manufacturer.json (the simulated factory)', () => {
  it('round-trips, owner-only, and says it is a simulation', () => {
    const dir = home();
    const made = createManufacturerFile(dir);
    expect(readManufacturerFile(dir).publicKey).toEqual(made.publicKey);
    const path = join(dir, MANUFACTURER_FILE);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/SIMULATION ONLY/);
    expect(createManufacturerFile(home()).publicKey).not.toEqual(made.publicKey);
    // Never over an existing one (it replaced it): a key already announced would be lost.
    expect(() => createManufacturerFile(dir)).toThrow(expect.objectContaining({ code: 'AlreadyInitialized' }));
    expect(readManufacturerFile(dir).publicKey).toEqual(made.publicKey);
  });

  it('refuses a missing, malformed or inconsistent file', () => {
    const dir = home();
    expectBad(() => readManufacturerFile(dir), /missing/);
    createManufacturerFile(dir);
    const path = join(dir, MANUFACTURER_FILE);
    const body = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...body, publicKey: '00'.repeat(32) }));
    expectBad(() => readManufacturerFile(dir), /does not give/);
    writeFileSync(path, JSON.stringify({ ...body, seed: 'zz' }));
    expectBad(() => readManufacturerFile(dir), /'seed'/);
    writeFileSync(path, JSON.stringify({ ...body, format: 2 }));
    expectBad(() => readManufacturerFile(dir), /format/);
    writeFileSync(path, '{');
    expectBad(() => readManufacturerFile(dir), /not JSON/);
    // A file named as the folder, and a folder where the file goes: in words, not open's ENOTDIR or EISDIR.
    expectBad(() => readManufacturerFile(path), /manufacturer\.json is a file, not a factory folder/);
    rmSync(path);
    mkdirSync(path);
    expectBad(() => readManufacturerFile(dir), /manufacturer\.json: a folder, not a file/);
  });

  it('a factory folder is made once, owner-only, and never opened from inside an installation home', () => {
    const base = home();
    const factory = join(base, 'home-factory');
    const made = createFactory(factory);
    if (process.platform !== 'win32') expect(statSync(factory).mode & 0o777).toBe(0o700);
    expect(() => createFactory(factory)).toThrow(/already holds a factory/);
    // A sibling whose name merely starts like the home is outside it.
    expect(openFactory(factory, join(base, 'home')).publicKey).toEqual(made.publicKey);
    // Inside: the home, folders in it (one whose name starts with '..' too), and a link into it.
    mkdirSync(join(base, 'home', '..factory'), { recursive: true });
    symlinkSync(join(base, 'home'), join(base, 'link-to-home'), 'dir');
    for (const inside of [
      join(base, 'home'),
      join(base, 'home', 'factory'),
      join(base, 'home', 'a', 'b'),
      join(base, 'home', '..factory'),
      join(base, 'link-to-home', 'factory'),
    ]) {
      expect(() => openFactory(inside, join(base, 'home'))).toThrow(expect.objectContaining({ code: 'UnsafeFactory' }));
    }
    // The home's parent is not inside the home: the check passes, and the folder holds no factory.
    expect(() => openFactory(base, factory)).toThrow(/missing: not a factory folder/);
  });

  it("is not made in an installation's home or share, nor in a folder of them: nothing is made there", () => {
    const base = home();
    const at = join(base, 'home');
    mkdirSync(join(at, 'share'), { recursive: true });
    writeFileSync(join(at, 'installation.json'), '{}');
    const elsewhere = join(base, 'shares', 'office');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(join(elsewhere, '.sekey-share'), 'ADMINSERIAL\n');
    for (const [dir, where] of [
      [at, `SEkey installation ${at}`],
      [join(at, 'factory'), `SEkey installation ${at}`],
      [join(at, 'share', 'a', 'factory'), `SEkey installation ${at}`],
      [join(elsewhere, 'factory'), `share ${elsewhere}`],
    ] as const) {
      expect(() => createFactory(dir)).toThrow(
        expect.objectContaining({
          code: 'UnsafeFactory',
          message: expect.stringContaining(`would be in the ${where}`),
        }),
      );
      expect(existsSync(join(dir, MANUFACTURER_FILE)), dir).toBe(false);
    }
    expect(existsSync(join(at, 'factory'))).toBe(false);
    // Beside them, as the help's example puts it, it is made.
    expect(createFactory(join(base, 'factory')).publicKey).toHaveLength(32);
  });

  it('is never opened where it and the share overlap: the share, a folder in it, or one that holds it', () => {
    const base = home();
    const factory = join(base, 'factory');
    createFactory(factory);
    const at = join(base, 'home');
    expect(openFactory(factory, at, join(base, 'share')).publicKey).toHaveLength(32);
    for (const share of [factory, base, join(factory, 'share')]) {
      expect(() => openFactory(factory, at, share)).toThrow(
        expect.objectContaining({ code: 'UnsafeFactory', message: expect.stringMatching(/overlap/) }),
      );
    }
  });

  // Mode bits and owners: what a POSIX system shows (Windows has no user IDs, and nothing is checked there).
  it.skipIf(process.getuid === undefined)(
    'is refused where someone else may change it: made or opened in a folder others may write to, or theirs',
    () => {
      const base = home();
      const factory = join(base, 'factory');
      createFactory(factory);
      const at = join(base, 'home');
      const unsafe = expect.objectContaining({ code: 'UnsafeFactory' });
      // Anyone could rename its manufacturer.json away and put one of theirs in its place.
      chmodSync(factory, 0o777);
      expect(() => openFactory(factory, at)).toThrow(unsafe);
      expect(() => openFactory(factory, at)).toThrow(/may be written to by .*others \(mode 777\)/);
      chmodSync(factory, 0o700);
      expect(openFactory(factory, at).publicKey).toHaveLength(32);
      // The file itself, copied or restored with a mode others may write, could be rewritten in place.
      chmodSync(join(factory, MANUFACTURER_FILE), 0o666);
      expect(() => openFactory(factory, at)).toThrow(unsafe);
      expect(() => openFactory(factory, at)).toThrow(/holds manufacturer\.json, which may be written to by its group/);
      chmodSync(join(factory, MANUFACTURER_FILE), 0o600);
      expect(openFactory(factory, at).publicKey).toHaveLength(32);
      // A folder already there keeps its mode: no key is written into one others may change.
      const open = join(base, 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      expect(() => createFactory(open)).toThrow(unsafe);
      expect(existsSync(join(open, MANUFACTURER_FILE))).toBe(false);
      // Another user's folder (root can make one to show it): that user chooses what is in it.
      if (process.getuid?.() === 0) {
        chownSync(factory, 65534, 65534);
        expect(() => openFactory(factory, at)).toThrow(/belongs to user ID 65534/);
      }
    },
  );
});
