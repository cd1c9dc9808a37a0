/**
 * Model of the original SEcube firmware key store (SEcube SDK 1.5.x, `se3_flash.c`, `se3_keys.c`),
 * run on the same flash simulator so that its wear and modelled time compare like for like with
 * `device/keyStore.ts`. Only what drives flash traffic is modelled:
 *
 * - two 128 KiB sectors in bank 1, sector 10 (0x080C_0000) and 11 (0x080E_0000), used in ping-pong;
 * - per sector: 32-byte magic, 2016-byte index (one type byte per block: 0xFF free, 0x00 invalid,
 *   0xFE continuation, else node type), then 2016 blocks of 64 bytes;
 * - a node is a 2-byte size then data; a key node's data is id u32, length u16, key, so a 256-bit key
 *   takes 40 bytes, i.e. one block; system nodes (serial, two PIN records, user info) take a block each;
 * - every program is a byte program (x8: 16 µs each); erases run at x32;
 * - insert: index type byte, then the size, then the data, appended at the first free block;
 * - delete: the node's index bytes are programmed to 0x00 — the key bytes stay in flash;
 * - when a node does not fit, a swap erases the other sector, zeroes the unused index bytes of the
 *   current one, copies every valid node byte by byte, writes the magic and zeroes the old magic's
 *   first byte.
 *
 * Simplifications: lookups use an in-memory map instead of the firmware's linear index scan, but the
 * scan's flash reads are still charged to the meter; boot, crash behaviour and multi-block key nodes
 * (keys over 58 bytes) are not modelled.
 * @module
 */
import type { Flash } from '../device/flash.ts';

/** Blocks (and index entries) per sector. */
export const ORIGINAL_BLOCKS_PER_SECTOR = 2016;
/** Block size in bytes. */
export const ORIGINAL_BLOCK_BYTES = 64;
/** Firmware sectors of the original store (RM0090 numbering). */
export const ORIGINAL_SECTORS: readonly [number, number] = [10, 11];
/** Serial, admin PIN, user PIN and user-info nodes present on every device. */
export const ORIGINAL_SYSTEM_NODES = 4;

const MAGIC_BYTES = 32;
const INDEX_OFFSET = 32;
const DATA_OFFSET = 2048;
const TYPE_KEY = 100;
const SYSTEM_TYPES = [1, 0xf0, 0xf0, 117];

/** The original store's layout bound on 256-bit keys: one per 64-byte block, minus system nodes. */
export const ORIGINAL_KEY_CAPACITY = ORIGINAL_BLOCKS_PER_SECTOR - ORIGINAL_SYSTEM_NODES;

interface Node {
  readonly type: number;
  readonly data: Uint8Array;
}

/** The original firmware's flash key store, for benches. */
export class OriginalKeyStore {
  readonly #flash: Flash;
  #active = 0;
  #firstFree = 0;
  /** Valid nodes of the active sector by first block. */
  #nodes = new Map<number, Node>();
  #keys = new Map<number, number>();

  /** Erases both sectors and writes the magic and the system nodes, as a factory-fresh device. */
  constructor(flash: Flash) {
    this.#flash = flash;
    for (const s of ORIGINAL_SECTORS) flash.eraseSector(s, 'x32');
    this.#program(this.#base(0), new Uint8Array(MAGIC_BYTES).fill(0x5a));
    for (const type of SYSTEM_TYPES) this.#append({ type, data: new Uint8Array(32).fill(type) });
  }

  /** Keys stored. */
  get size(): number {
    return this.#keys.size;
  }

  /** Inserts a key node (the caller deletes any previous key with the same id first). */
  insert(id: number, key: Uint8Array): void {
    const data = new Uint8Array(6 + key.length);
    const view = new DataView(data.buffer);
    view.setUint32(0, id, true);
    view.setUint16(4, key.length, true);
    data.set(key, 6);
    this.#append({ type: TYPE_KEY, data });
    this.#keys.set(id, this.#firstFree - 1);
  }

  /** Deletes a key: zeroes its index byte only. Returns false when absent. */
  delete(id: number): boolean {
    const block = this.#keys.get(id);
    if (block === undefined) return false;
    this.#chargeScan(block);
    this.#program(this.#base(this.#active) + INDEX_OFFSET + block, Uint8Array.of(0));
    this.#nodes.delete(block);
    this.#keys.delete(id);
    return true;
  }

  #append(node: Node): void {
    const blocks = Math.ceil((node.data.length + 2) / ORIGINAL_BLOCK_BYTES);
    if (this.#firstFree + blocks > ORIGINAL_BLOCKS_PER_SECTOR) this.#swap(blocks);
    const block = this.#firstFree;
    const base = this.#base(this.#active);
    this.#writeNode(base, block, node);
    this.#nodes.set(block, node);
    this.#firstFree = block + blocks;
  }

  #writeNode(base: number, block: number, node: Node): void {
    const blocks = Math.ceil((node.data.length + 2) / ORIGINAL_BLOCK_BYTES);
    const index = new Uint8Array(blocks).fill(0xfe);
    index[0] = node.type;
    this.#program(base + INDEX_OFFSET + block, index);
    const size = new Uint8Array(2);
    new DataView(size.buffer).setUint16(0, node.data.length, true);
    const at = base + DATA_OFFSET + block * ORIGINAL_BLOCK_BYTES;
    this.#program(at, size);
    this.#program(at + 2, node.data);
  }

  /** flash_swap: erase the other sector, retire this one, copy valid nodes compactly. */
  #swap(needed: number): void {
    const live = [...this.#nodes.values()].reduce(
      (n, node) => n + Math.ceil((node.data.length + 2) / ORIGINAL_BLOCK_BYTES),
      0,
    );
    if (live + needed > ORIGINAL_BLOCKS_PER_SECTOR) throw new RangeError('original key store is full');
    const from = this.#active;
    const to = 1 - from;
    this.#flash.eraseSector(this.#flash.sectorAt(this.#base(to)).index, 'x32');
    if (this.#firstFree < ORIGINAL_BLOCKS_PER_SECTOR) {
      this.#program(
        this.#base(from) + INDEX_OFFSET + this.#firstFree,
        new Uint8Array(ORIGINAL_BLOCKS_PER_SECTOR - this.#firstFree),
      );
    }
    this.#chargeScan(ORIGINAL_BLOCKS_PER_SECTOR);
    const moved = new Map<number, Node>();
    let next = 0;
    const inOrder = [...this.#nodes].sort((a, b) => a[0] - b[0]).map(([, node]) => node);
    for (const node of inOrder) {
      this.#writeNode(this.#base(to), next, node);
      moved.set(next, node);
      if (node.type === TYPE_KEY) this.#keys.set(new DataView(node.data.buffer).getUint32(0, true), next);
      next += Math.ceil((node.data.length + 2) / ORIGINAL_BLOCK_BYTES);
    }
    this.#program(this.#base(to), new Uint8Array(MAGIC_BYTES).fill(0x5a));
    this.#program(this.#base(from), Uint8Array.of(0));
    this.#active = to;
    this.#nodes = moved;
    this.#firstFree = next;
  }

  /** The firmware finds nodes by a linear scan of the index and of each candidate's id. */
  #chargeScan(blocks: number): void {
    this.#flash.meter?.charge('flash.read', Math.ceil(blocks / 16) + blocks);
  }

  #program(address: number, data: Uint8Array): void {
    this.#flash.program(address, data, 'x8');
  }

  #base(which: number): number {
    return this.#flash.sector(ORIGINAL_SECTORS[which === 0 ? 0 : 1]).address;
  }
}
