import { describe, expect, it } from 'vitest';
import { CycleMeter } from './costModel.ts';
import { Flash } from './flash.ts';
import { KeyStore } from './keyStore.ts';
import { churnUntilCompaction, hex, storeContents } from './keyStore.testkit.ts';
import { LAYOUT_VERSION, LEGACY_LAYOUT_VERSION, readHeader, storeLayout } from './keyStoreLayout.ts';
import { KEY_STORE_V1_IMAGE, KEY_STORE_V1_KEYS, KEY_STORE_V1_OPTIONS } from './keyStoreV1Image.testkit.ts';
import { PowerLossError } from './powerLossError.ts';
import { SeededPrng } from './seededPrng.ts';

const OPTIONS = { ...KEY_STORE_V1_OPTIONS, sectors: [...KEY_STORE_V1_OPTIONS.sectors] };
const LAYOUT = storeLayout(1024, 4);
const v1Image = (): Uint8Array => new Uint8Array(Buffer.from(KEY_STORE_V1_IMAGE.join(''), 'base64'));
const v1Keys = (): Map<number, string> => new Map(Object.entries(KEY_STORE_V1_KEYS).map(([id, k]) => [Number(id), k]));

/** Layout version of each store sector's header, or 'erased' / 'invalid'. */
function versions(flash: Flash): (number | string)[] {
  return OPTIONS.sectors.map((i) => {
    const s = flash.sector(i);
    const r = readHeader(LAYOUT, flash.read(s.address, s.size));
    return r.kind === 'valid' ? r.header.version : r.kind;
  });
}

describe('a store written at layout version 1 (5 bits of CRC-32 per record)', () => {
  it('mounts with all its keys and nothing to repair', () => {
    const flash = Flash.fromImage(v1Image());
    expect(versions(flash).filter((v) => v === LEGACY_LAYOUT_VERSION)).toHaveLength(3);
    const store = KeyStore.mount(flash, OPTIONS);
    expect(storeContents(store)).toEqual(v1Keys());
    expect(store.lastMount).toEqual({
      erasedSectors: [],
      rolledBackCompaction: false,
      completedCompaction: false,
      scrubbedSlots: 0,
      duplicatesResolved: 0,
    });
    // Mount wrote nothing: the version-1 sectors stay as they were.
    expect(flash.toImage()).toEqual(Flash.fromImage(v1Image()).toImage());
  });

  it('appends to its active version-1 sector with the old check, and rotation makes every sector version 2', () => {
    const meter = new CycleMeter();
    const flash = Flash.fromImage(v1Image(), { meter });
    let store = KeyStore.mount(flash, OPTIONS);
    const model = v1Keys();
    const prng = new SeededPrng(41);
    const before = versions(flash);
    const key = prng.bytes(32);
    store.put(100, key);
    model.set(100, hex(key));
    expect(versions(flash)).toEqual(before); // no sector opened: the append went to the version-1 one
    store = KeyStore.mount(flash, OPTIONS);
    expect(storeContents(store)).toEqual(model);

    // Only hot IDs rotate: the cold keys (15..29) move into version-2 sectors by compaction alone.
    meter.reset();
    let puts = 0;
    while (versions(flash).some((v) => v !== LAYOUT_VERSION && v !== 'erased')) {
      expect(puts).toBeLessThan(5000);
      const id = prng.int(15);
      const k = prng.bytes([16, 24, 32][prng.int(3)] ?? 32);
      store.put(id, k);
      model.set(id, hex(k));
      puts++;
    }
    expect(versions(flash).filter((v) => v === LAYOUT_VERSION).length).toBeGreaterThanOrEqual(2);
    expect(storeContents(store)).toEqual(model);
    expect(storeContents(KeyStore.mount(flash, OPTIONS))).toEqual(model);
    // Version-2 records are checked in software (one CRC-5 per record: slot and code byte).
    expect((meter.snapshot().byOp['crc5.byte']?.units ?? 0) % 37).toBe(0);
    expect(meter.snapshot().byOp['crc5.byte']?.units).toBeGreaterThanOrEqual(37 * puts);
  });

  it('survives a cut at every operation of a compaction out of a version-1 sector', () => {
    const base = Flash.fromImage(v1Image());
    const store = KeyStore.mount(base, OPTIONS);
    const model = v1Keys();
    const kept = (id: number, key: Uint8Array) => void model.set(id, hex(key));
    const { image, compactingOps } = churnUntilCompaction(base, store, new SeededPrng(43), {
      ids: 15,
      limit: 500,
      kept,
    });
    expect(versions(Flash.fromImage(image))).toContain(LEGACY_LAYOUT_VERSION);
    for (let cut = 1; ; cut++) {
      const flash = Flash.fromImage(image, { seed: cut });
      const replay = KeyStore.mount(flash, OPTIONS);
      flash.cutPowerAfter(cut);
      try {
        replay.put(999, new Uint8Array(24).fill(9));
        expect(cut).toBeGreaterThan(compactingOps - 2);
        break;
      } catch (e) {
        expect(e).toBeInstanceOf(PowerLossError);
      }
      flash.powerOn();
      const mounted = KeyStore.mount(flash, OPTIONS);
      const expected = new Map(model);
      if (mounted.has(999)) expected.set(999, hex(new Uint8Array(24).fill(9)));
      expect(storeContents(mounted)).toEqual(expected);
      expect(KeyStore.mount(flash, OPTIONS).lastMount).toMatchObject({ erasedSectors: [], scrubbedSlots: 0 });
    }
  });
});
