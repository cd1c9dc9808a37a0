/**
 * Key secrecy's oracle, for a simulated deployment (`deployment.ts`): a tap on each simulated HSM's
 * key generation (and on the keys provisioning derives) records every key value, and a scanner looks
 * for any 8-byte window of them (raw, or as hex or base64 text) in host-visible bytes: SD images,
 * the hosts' plaintext databases, share files, messages, acknowledgements, command outputs and
 * error messages.
 *
 * Only a simulator can know the keys: the tap overrides `generateKey` on the device *instance* the
 * deployment built (with `testHooks: true`) and reads the new key through `testOnlyHooks`; the
 * implementation's code paths are untouched, and no real HSM offers this.
 * @module
 */
import type { SecubeDevice } from '../../device/secube.ts';
import { testOnlyHooks } from '../../device/secube.ts';
import type { SdCard } from '../../device/sdcard.ts';

/** Every key value generated so far, and a fast scanner for them. */
export class SecretTap {
  readonly #secrets: Array<{ label: string; bytes: Uint8Array }> = [];
  /** First 4 bytes of each 8-byte window → the windows starting with them. */
  readonly #raw = new Map<number, Array<{ window: Uint8Array; label: string }>>();
  /**
   * A bit for each value of a window's first two bytes, set when some window starts with them: the
   * scan tests it at every offset before it builds the 4-byte head and looks it up (most offsets of
   * host bytes start no window, and the map look-up was most of the scan's time).
   */
  readonly #firstTwo = new Uint8Array(65_536 / 8);
  /** Hex text of each 8-byte window → label. */
  readonly #hex = new Map<string, string>();

  /** How many secrets are known. */
  get size(): number {
    return this.#secrets.length;
  }

  /** The latest secret recorded (for deliberately broken variants only). */
  latest(): Uint8Array | undefined {
    return this.#secrets.at(-1)?.bytes;
  }

  /** Records a secret value. */
  add(label: string, bytes: Uint8Array): void {
    if (bytes.length < 8) return;
    const copy = bytes.slice();
    this.#secrets.push({ label, bytes: copy });
    for (let i = 0; i + 8 <= copy.length; i += 4) {
      const window = copy.subarray(i, i + 8);
      const head =
        ((window[0] as number) << 24) |
        ((window[1] as number) << 16) |
        ((window[2] as number) << 8) |
        (window[3] as number);
      const firstTwo = head >>> 16;
      this.#firstTwo[firstTwo >>> 3] = (this.#firstTwo[firstTwo >>> 3] as number) | (1 << (firstTwo & 7));
      const list = this.#raw.get(head >>> 0) ?? [];
      list.push({ window, label });
      this.#raw.set(head >>> 0, list);
      this.#hex.set(Buffer.from(window).toString('hex'), label);
    }
  }

  /**
   * Taps `device`: every key it generates from now on is recorded (its value read through the
   * simulator's test hooks). Keys it already holds are recorded by {@link recordHeld}.
   */
  tap(device: SecubeDevice, name: string): void {
    const hooks = testOnlyHooks(device);
    const original = device.generateKey.bind(device);
    const tapped: SecubeDevice['generateKey'] = (id, options) => {
      const info = original(id, options);
      this.add(`${name} key ${id}`, hooks.readKey(id));
      return info;
    };
    Object.defineProperty(device, 'generateKey', { value: tapped, configurable: true, writable: true });
  }

  /** Records every key `device` holds now (after provisioning) and its identity secret (needs a session). */
  recordHeld(device: SecubeDevice, name: string): void {
    const hooks = testOnlyHooks(device);
    for (const id of device.listKeyIds()) this.add(`${name} key ${id}`, hooks.readKey(id));
    this.add(`${name} identity`, hooks.readIdentitySecret());
  }

  /**
   * The first secret found in the sectors of an SD image (`SdCard.toImage`) that changed since the
   * last scan with the same `cache`, or null. A 32-byte key split across two sectors still leaves at
   * least two whole 8-byte windows in one of them, so scanning sector by sector misses nothing.
   */
  findInCardImage(image: Uint8Array, cache: Map<number, Uint8Array>): string | null {
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const count = view.getUint32(20, true);
    let at = 24;
    for (let i = 0; i < count; i++, at += 516) {
      const sector = view.getUint32(at, true);
      const data = image.subarray(at + 4, at + 516);
      const before = cache.get(sector);
      if (before !== undefined && Buffer.compare(before, data) === 0) continue;
      cache.set(sector, data.slice());
      const found = this.findInBytes(data);
      if (found !== null) return `${found} in sector ${sector}`;
    }
    return null;
  }

  readonly #dirty = new WeakMap<SdCard, Set<number>>();

  /**
   * The first secret found on an SD card, or null: the whole card the first time it is seen (its
   * image), then only the sectors written since (a tap on the card instance's `write`).
   */
  findOnCard(card: SdCard): string | null {
    const dirty = this.#dirty.get(card);
    if (dirty === undefined) {
      const found = this.findInCardImage(card.toImage(), new Map());
      const set = new Set<number>();
      this.#dirty.set(card, set);
      const write = card.write.bind(card);
      Object.defineProperty(card, 'write', {
        value: (sector: number, data: Uint8Array) => {
          for (let i = 0; i < data.length / 512; i++) set.add(sector + i);
          return write(sector, data);
        },
        configurable: true,
        writable: true,
      });
      return found;
    }
    if (!card.powered || dirty.size === 0) return null;
    for (const sector of dirty) {
      const found = this.findInBytes(card.read(sector));
      if (found !== null) return `${found} in sector ${sector}`;
    }
    dirty.clear();
    return null;
  }

  /**
   * The first secret found in the pages of `image` (a database image, 4 KiB pages) that differ from
   * `before`'s, or in all of it without `before`; each changed page is scanned with 64 bytes of its
   * neighbours, so a value (or its text) across a page boundary is found too.
   */
  findInImageChanges(image: Uint8Array, before: Uint8Array | undefined): string | null {
    const page = 4096;
    const margin = 64;
    for (let at = 0; at < image.length; at += page) {
      const end = Math.min(at + page, image.length);
      if (before !== undefined && end <= before.length) {
        if (Buffer.compare(image.subarray(at, end), before.subarray(at, end)) === 0) continue;
      }
      const found = this.findInBytes(image.subarray(Math.max(0, at - margin), Math.min(image.length, end + margin)));
      if (found !== null) return `${found} in page ${at / page + 1}`;
    }
    return null;
  }

  /** The first secret found in `bytes` (raw, or as hex or base64 text), or null. */
  findInBytes(bytes: Uint8Array): string | null {
    const raw = this.#findRaw(bytes);
    if (raw !== null) return `${raw.label} (raw bytes at offset ${raw.at})`;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    return this.#findHex(text) ?? this.#findBase64(text);
  }

  /**
   * A secret in base64 or base64url text: each run of 12 or more such characters decoded from each
   * of its first four characters (a run found inside other text may not start where its encoding
   * did) and its bytes scanned raw. Node's base64 decoder reads both alphabets.
   */
  #findBase64(text: string): string | null {
    for (const match of text.matchAll(/[A-Za-z0-9+/_-]{12,}/g)) {
      for (let skip = 0; skip < 4; skip++) {
        const decoded = Buffer.from(match[0].slice(skip), 'base64');
        if (decoded.length < 8) break;
        const found = this.#findRaw(decoded);
        if (found !== null) return `${found.label} (as base64 text)`;
      }
    }
    return null;
  }

  /** The first 8-byte window of a secret in `bytes`, and where. */
  #findRaw(bytes: Uint8Array): { readonly label: string; readonly at: number } | null {
    const n = bytes.length;
    for (let i = 0; i + 8 <= n; i++) {
      if (!this.#startsWindow(bytes[i] as number, bytes[i + 1] as number)) continue;
      const head =
        (((bytes[i] as number) << 24) |
          ((bytes[i + 1] as number) << 16) |
          ((bytes[i + 2] as number) << 8) |
          (bytes[i + 3] as number)) >>>
        0;
      const candidates = this.#raw.get(head);
      if (candidates === undefined) continue;
      for (const c of candidates) {
        if (
          c.window[4] === bytes[i + 4] &&
          c.window[5] === bytes[i + 5] &&
          c.window[6] === bytes[i + 6] &&
          c.window[7] === bytes[i + 7]
        ) {
          return { label: c.label, at: i };
        }
      }
    }
    return null;
  }

  /** Whether some window starts with the bytes `first`, `second` (each 0 to 255). */
  #startsWindow(first: number, second: number): boolean {
    const firstTwo = (first << 8) | second;
    return ((this.#firstTwo[firstTwo >>> 3] as number) & (1 << (firstTwo & 7))) !== 0;
  }

  #findHex(text: string): string | null {
    for (const match of text.matchAll(/[0-9a-fA-F]{16,}/g)) {
      const run = match[0].toLowerCase();
      for (let i = 0; i + 16 <= run.length; i++) {
        const label = this.#hex.get(run.slice(i, i + 16));
        if (label !== undefined) return `${label} (as hex text)`;
      }
    }
    return null;
  }

  /** The first secret found in `text` as hex (any case), base64 or latin1 bytes, or null. */
  findInText(text: string): string | null {
    const encoded = this.#findHex(text) ?? this.#findBase64(text);
    if (encoded !== null) return encoded;
    for (let i = 0; i + 8 <= text.length; i++) {
      const first = text.charCodeAt(i);
      const second = text.charCodeAt(i + 1);
      if (first > 255 || second > 255 || !this.#startsWindow(first, second)) continue;
      const head =
        ((text.charCodeAt(i) << 24) |
          (text.charCodeAt(i + 1) << 16) |
          (text.charCodeAt(i + 2) << 8) |
          text.charCodeAt(i + 3)) >>>
        0;
      const candidates = this.#raw.get(head);
      if (candidates === undefined || text.charCodeAt(i) > 255) continue;
      for (const c of candidates) {
        let same = true;
        for (let j = 0; j < 8 && same; j++) same = c.window[j] === text.charCodeAt(i + j);
        if (same) return `${c.label} (as latin1 text at ${i})`;
      }
    }
    return null;
  }
}
