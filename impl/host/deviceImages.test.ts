import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { hasDeviceImages, loadDeviceImages, saveDeviceImages } from './deviceImages.ts';

const images = (n: number) => ({ flash: Uint8Array.of(n, 1), sd: Uint8Array.of(n, 2) });
const root = mkdtempSync(join(tmpdir(), 'sekey-img-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('device images', () => {
  test('save then load gives both images back; nothing is left behind', () => {
    const dir = join(root, 'dev');
    expect(hasDeviceImages(dir)).toBe(false);
    saveDeviceImages(dir, images(1));
    saveDeviceImages(dir, images(2));
    expect(loadDeviceImages(dir)).toEqual(images(2));
    expect(readdirSync(dir).sort()).toEqual(['flash.img', 'sd.img']);
  });

  test('a save cut before its commit marker is rolled back; after it, rolled forward', () => {
    const dir = join(root, 'cut');
    saveDeviceImages(dir, images(1));
    // Cut after both new images were written, before the marker: the old pair stays.
    writeFileSync(join(dir, 'flash.img.new'), images(2).flash);
    writeFileSync(join(dir, 'sd.img.new'), images(2).sd);
    expect(loadDeviceImages(dir)).toEqual(images(1));
    expect(existsSync(join(dir, 'flash.img.new'))).toBe(false);
    // Cut after the marker and one rename: the new pair is completed.
    writeFileSync(join(dir, 'sd.img.new'), images(3).sd);
    writeFileSync(join(dir, 'flash.img'), images(3).flash);
    writeFileSync(join(dir, 'COMMIT'), '');
    expect(hasDeviceImages(dir)).toBe(true);
    expect(loadDeviceImages(dir)).toEqual(images(3));
    expect(readdirSync(dir).sort()).toEqual(['flash.img', 'sd.img']);
  });
});
