import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  hasDeviceImages,
  loadDeviceImages,
  peekDeviceImages,
  saveDeviceCheckpoint,
  saveDeviceImages,
} from './deviceImages.ts';

const images = (n: number) => ({ flash: Uint8Array.of(n, 1), sd: Uint8Array.of(n, 2) });
const root = mkdtempSync(join(tmpdir(), 'sekey-img-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('device images', () => {
  test('save then load gives both images back; nothing is left behind', () => {
    const dir = join(root, 'dev');
    expect(hasDeviceImages(dir)).toBe(false);
    saveDeviceImages(dir, images(1));
    saveDeviceImages(dir, images(2));
    expect(loadDeviceImages(dir)).toMatchObject(images(2));
    expect(readdirSync(dir).sort()).toEqual(['flash.img', 'sd.img']);
  });

  test.skipIf(process.platform === 'win32')('a device is owner-only: its folder, images and checkpoints', () => {
    const dir = join(root, 'private', 'dev');
    saveDeviceImages(dir, images(1));
    saveDeviceCheckpoint(dir, images(2));
    const mode = (name: string) => statSync(join(dir, name)).mode & 0o777;
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect([mode('flash.img'), mode('sd.img'), mode('checkpoint.0')]).toEqual([0o600, 0o600, 0o600]);
  });

  test('a save cut before its commit marker is rolled back; after it, rolled forward', () => {
    const dir = join(root, 'cut');
    saveDeviceImages(dir, images(1));
    // Cut after both new images were written, before the marker: the old pair stays.
    writeFileSync(join(dir, 'flash.img.new'), images(2).flash);
    writeFileSync(join(dir, 'sd.img.new'), images(2).sd);
    expect(loadDeviceImages(dir)).toMatchObject(images(1));
    expect(existsSync(join(dir, 'flash.img.new'))).toBe(false);
    // Cut after the marker and one rename: the new pair is completed.
    writeFileSync(join(dir, 'sd.img.new'), images(3).sd);
    writeFileSync(join(dir, 'flash.img'), images(3).flash);
    writeFileSync(join(dir, 'COMMIT'), '');
    expect(hasDeviceImages(dir)).toBe(true);
    expect(loadDeviceImages(dir)).toMatchObject(images(3));
    expect(readdirSync(dir).sort()).toEqual(['flash.img', 'sd.img']);
  });

  test('a peek gives what a load would, and finishes or discards nothing (another process may be saving)', () => {
    const dir = join(root, 'peek');
    expect(peekDeviceImages(dir)).toBeNull();
    saveDeviceImages(dir, images(1));
    expect(peekDeviceImages(dir)).toEqual(images(1));
    // A save in progress: both new images written, no marker yet. Its files must stay where they are.
    writeFileSync(join(dir, 'flash.img.new'), images(2).flash);
    writeFileSync(join(dir, 'sd.img.new'), images(2).sd);
    expect(peekDeviceImages(dir)).toEqual(images(1));
    expect(readdirSync(dir).sort()).toEqual(['flash.img', 'flash.img.new', 'sd.img', 'sd.img.new']);
    // One image written so far: the same.
    rmSync(join(dir, 'sd.img.new'));
    expect(peekDeviceImages(dir)).toEqual(images(1));
    expect(readdirSync(dir).sort()).toEqual(['flash.img', 'flash.img.new', 'sd.img']);
    // Committed, one rename done: the new pair, and the renames are left to the saver.
    writeFileSync(join(dir, 'sd.img'), images(2).sd);
    writeFileSync(join(dir, 'COMMIT'), '');
    expect(peekDeviceImages(dir)).toEqual(images(2));
    expect(readdirSync(dir).sort()).toEqual(['COMMIT', 'flash.img', 'flash.img.new', 'sd.img']);
    expect(loadDeviceImages(dir)).toMatchObject(images(2));
    // A checkpoint wins over the pair, as for a load; a committed save supersedes it.
    saveDeviceCheckpoint(dir, images(3));
    expect(peekDeviceImages(dir)).toEqual(images(3));
    writeFileSync(join(dir, 'flash.img.new'), images(4).flash);
    writeFileSync(join(dir, 'sd.img.new'), images(4).sd);
    writeFileSync(join(dir, 'COMMIT'), '');
    expect(peekDeviceImages(dir)).toEqual(images(4));
    expect(loadDeviceImages(dir)).toMatchObject(images(4));
  });

  test('checkpoints: the newest valid one wins over the pair; a torn one falls back to the other slot', () => {
    const dir = join(root, 'ckpt');
    saveDeviceImages(dir, images(1));
    saveDeviceCheckpoint(dir, images(2));
    expect(loadDeviceImages(dir)).toMatchObject(images(2));
    saveDeviceCheckpoint(dir, images(3));
    saveDeviceCheckpoint(dir, images(4));
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.0', 'checkpoint.1', 'flash.img', 'sd.img']);
    expect(loadDeviceImages(dir)).toMatchObject(images(4));
    // Slots alternate: 2 → .0, 3 → .1, 4 → .0, 5 → .1. A kill in the middle of writing 5 leaves it
    // torn: 4 still holds.
    saveDeviceCheckpoint(dir, images(5));
    expect(loadDeviceImages(dir)).toMatchObject(images(5));
    const bytes = readFileSync(join(dir, 'checkpoint.1'));
    writeFileSync(join(dir, 'checkpoint.1'), bytes.subarray(0, bytes.length - 1));
    expect(loadDeviceImages(dir)).toMatchObject(images(4));
    writeFileSync(join(dir, 'checkpoint.1'), 'garbage, not a checkpoint at all');
    expect(loadDeviceImages(dir)).toMatchObject(images(4));
    saveDeviceCheckpoint(dir, images(6));
    expect(loadDeviceImages(dir)).toMatchObject(images(6));
    // A save supersedes them all, and removes them.
    saveDeviceImages(dir, images(7));
    expect(readdirSync(dir).sort()).toEqual(['flash.img', 'sd.img']);
    expect(loadDeviceImages(dir)).toMatchObject(images(7));
  });

  test('a checkpoint whose card differs from the saved one says a change was not saved; counters alone do not', () => {
    const dir = join(root, 'unsaved');
    saveDeviceImages(dir, images(1));
    expect(loadDeviceImages(dir).unsavedChange).toBe(false);
    // A spent PIN try, then a kill: the flash moved, the card did not.
    saveDeviceCheckpoint(dir, { flash: Uint8Array.of(9, 9), sd: images(1).sd });
    expect(loadDeviceImages(dir)).toEqual({ flash: Uint8Array.of(9, 9), sd: images(1).sd, unsavedChange: false });
    // A commit (the card synced), then a kill.
    saveDeviceCheckpoint(dir, images(2));
    expect(loadDeviceImages(dir)).toEqual({ ...images(2), unsavedChange: true });
    // Saved at the end of the next session: the checkpoints go, and so does the word of a change.
    saveDeviceImages(dir, images(2));
    expect(loadDeviceImages(dir).unsavedChange).toBe(false);
  });

  test('a save cut before its marker keeps the checkpoints (newer); cut after it, they are gone', () => {
    const dir = join(root, 'ckpt-cut');
    saveDeviceImages(dir, images(1));
    saveDeviceCheckpoint(dir, images(2));
    writeFileSync(join(dir, 'flash.img.new'), images(3).flash);
    writeFileSync(join(dir, 'sd.img.new'), images(3).sd);
    expect(loadDeviceImages(dir)).toMatchObject(images(2));
    const copy = join(root, 'ckpt-cut-copy');
    cpSync(dir, copy, { recursive: true });
    // A checkpoint in a directory this process never loaded finds its slots first.
    saveDeviceCheckpoint(copy, images(8));
    expect(loadDeviceImages(copy)).toMatchObject(images(8));
    writeFileSync(join(dir, 'flash.img.new'), images(3).flash);
    writeFileSync(join(dir, 'sd.img.new'), images(3).sd);
    writeFileSync(join(dir, 'COMMIT'), '');
    expect(loadDeviceImages(dir)).toMatchObject(images(3));
    expect(existsSync(join(dir, 'checkpoint.0'))).toBe(false);
    saveDeviceCheckpoint(dir, images(9));
    expect(loadDeviceImages(dir)).toMatchObject(images(9));
  });
});
