/**
 * The format vectors of `docs/vectors/formats.json` and the annotated hex of `docs/formats.md` cannot
 * drift from the code: every vector is parsed and its fields checked, re-encoded from those fields
 * and compared byte for byte, its hand-written layout must add up to the same bytes, the file must
 * equal what the encoders produce today, and the docs must show exactly the file's bytes.
 * Regenerate both after an intended change: `SEKEY_WRITE_VECTORS=1 npx vitest run impl/protocol/formatVectors`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { Writer, readAll } from '../../device/binaryCodec.ts';
import { decodeDeleteOrder, encodeDeleteOrder } from '../../device/deleteOrder.ts';
import { decodePinResetOrder, encodePinResetOrder } from '../../device/pinResetOrder.ts';
import { decodeDeviceState, encodeDeviceState } from '../../device/deviceState.ts';
import type { DeviceState } from '../../device/deviceState.ts';
import { aesGcmDecrypt, aesGcmEncrypt, aesKeyUnwrap } from '../../device/meteredCrypto.ts';
import { encodeAckHeader, parseAck } from './ackFile.ts';
import type { FormatVector, FormatVectors, Json } from './formatVectors.testkit.ts';
import {
  buildFormatVectors,
  deviceStateJson,
  fillMarkdown,
  markdownBlocks,
  recordJson,
} from './formatVectors.testkit.ts';
import { decodeMessage, encodeMessage, messageAad } from './message.ts';
import { assembleUpdateFile, decodeRecords, encodeRecords, parseUpdateFile } from './updateFile.ts';
import type { UpdateRecord } from './updateFile.ts';
import { encodeUpdateHeader } from '../../device/updateHeader.ts';

const VECTORS = new URL('../../docs/vectors/formats.json', import.meta.url);
const DOCS = new URL('../../docs/formats.md', import.meta.url);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
type Fields = { readonly [k: string]: Json };

if (process.env['SEKEY_WRITE_VECTORS']) {
  const built = buildFormatVectors();
  writeFileSync(VECTORS, `${JSON.stringify(built, null, 2)}\n`);
  writeFileSync(DOCS, fillMarkdown(readFileSync(DOCS, 'utf8'), markdownBlocks(built)));
}

const stored = JSON.parse(readFileSync(VECTORS, 'utf8')) as FormatVectors;
const docs = readFileSync(DOCS, 'utf8');

function vector(name: string): FormatVector {
  const v = stored.vectors.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no vector ${name}`);
  return v;
}

function recordFromJson(r: Fields): UpdateRecord {
  if (r['type'] === 'keyMaterial') return { ...r, blob: hexToBytes(String(r['blob'])) } as unknown as UpdateRecord;
  return r as unknown as UpdateRecord;
}

function deviceStateFromJson(f: Fields): DeviceState {
  const o = f as unknown as {
    serial: string;
    maxRetries: number;
    retriesLeft: { user: number; admin: number };
    pins: Record<'user' | 'admin', { salt: string; iterations: number; hash: string }>;
    identitySecret: string;
    attestation: { rootOfTrust: string; certificate: string };
    counters: Record<string, number>;
  };
  const pin = (p: { salt: string; iterations: number; hash: string }) => ({
    salt: hexToBytes(p.salt),
    iterations: p.iterations,
    hash: hexToBytes(p.hash),
  });
  return {
    serial: o.serial,
    maxRetries: o.maxRetries,
    retriesLeft: o.retriesLeft,
    pins: { user: pin(o.pins.user), admin: pin(o.pins.admin) },
    identitySecret: hexToBytes(o.identitySecret),
    attestation: {
      rootOfTrust: hexToBytes(o.attestation.rootOfTrust),
      certificate: hexToBytes(o.attestation.certificate),
    },
    counters: new Map(Object.entries(o.counters)),
  };
}

describe('format vectors (docs/vectors/formats.json)', () => {
  it('are what the encoders produce today', () => {
    expect(stored).toEqual(buildFormatVectors());
  });

  it('each vector is the concatenation of its documented fields', () => {
    for (const v of stored.vectors) expect(v.layout.map((f) => f.hex).join(''), v.name).toBe(v.hex);
  });

  it('varints decode to their values and re-encode to the same bytes', () => {
    for (const { value, hex: h } of stored.varints) {
      expect(readAll(hexToBytes(h), (r) => r.varint())).toBe(value);
      expect(hex(new Writer().varint(value).finish())).toBe(h);
    }
    expect(stored.varints.find((x) => x.value === 128)?.hex).toBe('8001');
  });

  it('update file: parses to its fields, the body opens to its records, and re-encodes to the same bytes', () => {
    const v = vector('update-file');
    const f = v.fields;
    const key = hexToBytes(String(v.testKeys['adminToUserKey']));
    const parsed = parseUpdateFile(hexToBytes(v.hex));
    expect({ ...parsed.header, previousHash: hex(parsed.header.previousHash) }).toEqual({
      kind: f['kind'],
      userId: f['userId'],
      serial: f['serial'],
      sequence: f['sequence'],
      previousHash: f['previousHash'],
    });
    const nonce = parsed.sealedBody.subarray(0, 12);
    expect(hex(nonce)).toBe(f['nonce']);
    const plaintext = aesGcmDecrypt(key, nonce, parsed.sealedBody.subarray(12), parsed.headerBytes);
    expect(hex(plaintext)).toBe(vector('update-records').hex);
    expect(decodeRecords(plaintext).map(recordJson)).toEqual(f['records']);
    const records = (f['records'] as Fields[]).map(recordFromJson);
    const body = encodeRecords(records);
    const bodyLength = 12 + body.length + 16;
    const again = assembleUpdateFile(
      parsed.header,
      (aad) => Uint8Array.from([...nonce, ...aesGcmEncrypt(key, nonce, body, aad)]),
      bodyLength,
    );
    expect(hex(again)).toBe(v.hex);
    expect(hex(encodeUpdateHeader(parsed.header, bodyLength))).toBe(hex(parsed.headerBytes));
  });

  it('update records: decode to their fields and re-encode to the same bytes', () => {
    const v = vector('update-records');
    const records = decodeRecords(hexToBytes(v.hex));
    expect(records.map(recordJson)).toEqual(v.fields['records']);
    expect(hex(encodeRecords((v.fields['records'] as Fields[]).map(recordFromJson)))).toBe(v.hex);
  });

  it("update records: K2001's blob unwraps to the key, its number and its file's sequence", () => {
    const v = vector('update-records');
    const material = decodeRecords(hexToBytes(v.hex)).find((r) => r.type === 'keyMaterial');
    const wrappingKey = hexToBytes(String(v.testKeys['wrappingKey']));
    const inside = aesKeyUnwrap(wrappingKey, (material as { blob: Uint8Array }).blob);
    expect(hex(inside)).toBe(`${String(v.testKeys['groupKey'])}${'000007d1'}${'00000001'}`);
    expect(vector('update-file').fields['sequence']).toBe(1);
  });

  it('acknowledgement: parses, opens under the user→admin key, and re-encodes', () => {
    const v = vector('ack-file');
    const key = hexToBytes(String(v.testKeys['userToAdminKey']));
    const { ack, header, seal } = parseAck(hexToBytes(v.hex));
    expect({ ...ack, fileHash: hex(ack.fileHash), nonce: hex(seal.subarray(0, 12)) }).toEqual(v.fields);
    expect(aesGcmDecrypt(key, seal.subarray(0, 12), seal.subarray(12), header)).toEqual(new Uint8Array(0));
    const f = v.fields;
    const again = encodeAckHeader({
      userId: String(f['userId']),
      serial: String(f['serial']),
      sequence: Number(f['sequence']),
      fileHash: hexToBytes(String(f['fileHash'])),
    });
    const nonce = hexToBytes(String(f['nonce']));
    expect(hex(again) + hex(nonce) + hex(aesGcmEncrypt(key, nonce, new Uint8Array(0), again))).toBe(v.hex);
    expect(f['fileHash']).toBe(hex(sha256(hexToBytes(vector('update-file').hex))));
  });

  it('message: decodes, decrypts to its text under K2001, and re-encodes', () => {
    const v = vector('message');
    const key = hexToBytes(String(v.testKeys['groupKey']));
    const m = decodeMessage(hexToBytes(v.hex));
    const text = new TextDecoder().decode(aesGcmDecrypt(key, m.nonce, m.ciphertext, messageAad(m.keyId)));
    expect({ keyId: m.keyId, nonce: hex(m.nonce), plaintext: text }).toEqual(v.fields);
    const ct = aesGcmEncrypt(key, m.nonce, new TextEncoder().encode(text), messageAad(m.keyId));
    expect(hex(encodeMessage(m.keyId, m.nonce, ct))).toBe(v.hex);
  });

  it('rescued message: decodes with its mark, decrypts under K2002 only with the mark, and re-encodes', () => {
    const v = vector('rescued-message');
    const key = hexToBytes(String(v.testKeys['groupKey']));
    const m = decodeMessage(hexToBytes(v.hex));
    const text = new TextDecoder().decode(
      aesGcmDecrypt(key, m.nonce, m.ciphertext, messageAad(m.keyId, m.rescuedFrom)),
    );
    expect({ keyId: m.keyId, rescuedFrom: m.rescuedFrom, nonce: hex(m.nonce), plaintext: text }).toEqual(v.fields);
    expect(() => aesGcmDecrypt(key, m.nonce, m.ciphertext, messageAad(m.keyId))).toThrow();
    const ct = aesGcmEncrypt(key, m.nonce, new TextEncoder().encode(text), messageAad(m.keyId, m.rescuedFrom));
    expect(hex(encodeMessage(m.keyId, m.nonce, ct, m.rescuedFrom))).toBe(v.hex);
  });

  it('device state: decodes to its fields and re-encodes', () => {
    const v = vector('device-state');
    expect(deviceStateJson(decodeDeviceState(hexToBytes(v.hex)))).toEqual(v.fields);
    expect(hex(encodeDeviceState(deviceStateFromJson(v.fields)))).toBe(v.hex);
  });

  it('delete order: decodes to its fields and re-encodes', () => {
    const v = vector('delete-order');
    expect(decodeDeleteOrder(hexToBytes(v.hex))).toEqual(v.fields);
    expect(
      hex(encodeDeleteOrder(String(v.fields['serial']), Number(v.fields['keyId']), Number(v.fields['sequence']))),
    ).toBe(v.hex);
  });

  it('PIN reset order: decodes to its fields and re-encodes', () => {
    const v = vector('pin-reset-order');
    const order = decodePinResetOrder(hexToBytes(v.hex));
    expect({ ...order, newPin: new TextDecoder().decode(order.newPin) }).toEqual(v.fields);
    const fields = { serial: String(v.fields['serial']), sequence: Number(v.fields['sequence']) };
    expect(hex(encodePinResetOrder({ ...fields, newPin: new TextEncoder().encode(String(v.fields['newPin'])) }))).toBe(
      v.hex,
    );
  });
});

describe('docs/formats.md', () => {
  it('shows every vector, and exactly the bytes of the vector file', () => {
    const blocks = markdownBlocks(stored);
    for (const [name, block] of blocks)
      expect(docs, `block ${name}`).toContain(`<!-- vector:${name} -->\n${block}\n<!-- /vector:${name} -->`);
    expect(docs).toBe(fillMarkdown(docs, blocks));
  });

  it('is linked from docs/update-format.md', () => {
    expect(readFileSync(new URL('../../docs/update-format.md', import.meta.url), 'utf8')).toContain('(formats.md)');
  });

  it('refuses a marker for an unknown vector', () => {
    expect(() => fillMarkdown('<!-- vector:nope -->\nx\n<!-- /vector:nope -->', new Map())).toThrow(
      /unknown vector 'nope'/,
    );
  });
});
