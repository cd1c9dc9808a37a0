/**
 * Byte-exact examples of every SEkey file format (noble-ciphers style test vectors), built from
 * fixed inputs, fixed test keys and fixed nonces so that anyone can reproduce them.
 *
 * `buildFormatVectors()` produces what `docs/vectors/formats.json` must hold; each vector carries,
 * besides its bytes, a field-by-field `layout` written here by hand from the documented formats,
 * *not* with the codec, so the test that checks "layout concatenated = encoder output" compares two
 * independent descriptions. `renderVector()` turns a vector into the annotated hex block that
 * `docs/formats.md` shows between `<!-- vector:NAME -->` markers.
 *
 * Regenerate after an intended format change: `SEKEY_WRITE_VECTORS=1 npx vitest run impl/protocol/formatVectors`.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { encodeDeleteOrder } from '../../device/deleteOrder.ts';
import { encodeDeviceState } from '../../device/deviceState.ts';
import { encodePinResetOrder } from '../../device/pinResetOrder.ts';
import type { DeviceState } from '../../device/deviceState.ts';
import { aesGcmEncrypt, aesKeyWrap } from '../../device/meteredCrypto.ts';
import { encodeAckHeader } from './ackFile.ts';
import { encodeMessage, messageAad } from './message.ts';
import { NO_PREVIOUS_FILE, assembleUpdateFile, encodeRecords } from './updateFile.ts';
import type { UpdateHeader, UpdateRecord } from './updateFile.ts';
import { encodeUpdateHeader } from '../../device/updateHeader.ts';

/** JSON values of the vector file. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [k: string]: Json };

/** One field of a vector, in order. */
export interface LayoutField {
  readonly field: string;
  readonly hex: string;
}

/** One byte-exact example. */
export interface FormatVector {
  /** Marker name in `docs/formats.md`. */
  readonly name: string;
  readonly title: string;
  /** What the bytes say, decoded (byte strings as hex). */
  readonly fields: { readonly [k: string]: Json };
  /** Test-only keys that reproduce the seals (never real keys). */
  readonly testKeys: { readonly [k: string]: string };
  readonly hex: string;
  readonly layout: readonly LayoutField[];
}

/** The whole vector file. */
export interface FormatVectors {
  readonly comment: string;
  readonly varints: ReadonlyArray<{ readonly value: number; readonly hex: string }>;
  readonly vectors: readonly FormatVector[];
}

const hex = (b: Uint8Array): string => bytesToHex(b);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
/** 0x`from`, 0x`from`+1, … (`n` bytes): recognisable test keys and nonces. */
const counting = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const filled = (byte: number, n: number): Uint8Array => new Uint8Array(n).fill(byte);

/** The layout oracle's own LEB128 (the codec is what is being checked). */
function leb128(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  do {
    out.push((v % 128) | (v >= 128 ? 0x80 : 0));
    v = Math.floor(v / 128);
  } while (v > 0);
  return Uint8Array.from(out);
}
function be(n: number, width: number): Uint8Array {
  return Uint8Array.from({ length: width }, (_, i) => Math.floor(n / 2 ** (8 * (width - 1 - i))) % 256);
}
function le(n: number, width: number): Uint8Array {
  return be(n, width).reverse();
}

class Layout {
  readonly fields: LayoutField[] = [];
  add(field: string, bytes: Uint8Array): this {
    this.fields.push({ field, hex: hex(bytes) });
    return this;
  }
  /** A varint length and the UTF-8 bytes of `s`. */
  str(what: string, s: string): this {
    const b = ascii(s);
    const shown = s.length > 40 ? `${s.slice(0, 36)}…` : `"${s}"`;
    return this.add(`${what}: length ${b.length} (varint)`, leb128(b.length)).add(`${what}: ${shown}`, b);
  }
}

/** Fixed inputs shared by the vectors. */
export const VECTOR_INPUTS = {
  serial: '0123456789ABCDEFGHIJKLMNOPQRSTUV',
  userId: 'U1',
  /** admin→user channel key (seals update files and delete orders). */
  adminToUserKey: counting(0x00, 32),
  /** user→admin channel key (seals acknowledgements). */
  userToAdminKey: counting(0x20, 32),
  /** The user's wrapping key (AES-KW of key material, RFC 3394). */
  wrappingKey: counting(0x40, 32),
  /** The group key K2001 itself, delivered wrapped and then used for the message. */
  groupKey: counting(0x60, 32),
  updateNonce: counting(0xa0, 12),
  ackNonce: counting(0xb0, 12),
  messageNonce: counting(0xc0, 12),
  /** K2002, the group's key that replaced K2001 once compromised: the rescued message's. */
  rescueKey: counting(0xe0, 32),
  rescueNonce: counting(0xd0, 12),
  /** A `keyUpsert` life-cycle snapshot as `impl/kms/distribution.ts` writes it (captured once). */
  lifecycle:
    '{"value":"preActivation","context":{"id":"K2001","cryptoperiodMs":2592000000,"createdAt":1767225600000,' +
    '"activatedAt":null,"expiresAt":null,' +
    '"suspendedAt":null,"resumedAt":null,"deactivatedAt":null,"compromisedAt":null,"destroyedAt":null,"history":[]}}',
  message: 'hello, staff',
} as const;

const THIRTY_DAYS = 30 * 24 * 3600 * 1000;
/** The heartbeat of the example: issued 2026-01-01T00:00Z, freshness window 3 days. */
const ISSUED_AT = Date.UTC(2026, 0, 1);
const THREE_DAYS = 3 * 24 * 3600 * 1000;

/**
 * What the device wraps for a key (`device/secubeWrap.ts`): the key, its key number (u32be) and the
 * sequence (u32be) of the update file that carries it, written out here byte by byte so that the
 * vector does not take the device's word for its own layout.
 */
function boundKey(key: Uint8Array, keyNumber: number, sequence: number): Uint8Array {
  return Uint8Array.from([...key, ...be(keyNumber, 4), ...be(sequence, 4)]);
}

function updateRecords(): UpdateRecord[] {
  const I = VECTOR_INPUTS;
  return [
    { type: 'userUpsert', id: 'U1', name: 'alice' },
    {
      type: 'groupUpsert',
      id: 'G1',
      name: 'staff',
      policy: { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: THIRTY_DAYS },
      shareHistory: false,
      members: ['U1', 'U2'],
    },
    { type: 'keyUpsert', id: 'K2001', name: 'staff-1', owner: 'G1', algorithm: 'AES-256-GCM', lifecycle: I.lifecycle },
    { type: 'keyMaterial', keyNumber: 2001, blob: aesKeyWrap(I.wrappingKey, boundKey(I.groupKey, 2001, 1)) },
    { type: 'heartbeat', issuedAt: ISSUED_AT, freshnessWindowMs: THREE_DAYS },
  ];
}

function recordsVector(): FormatVector {
  const records = updateRecords();
  const bytes = encodeRecords(records);
  const L = new Layout();
  const body = (type: number, name: string, f: Layout): void => {
    const len = f.fields.reduce((n, x) => n + x.hex.length / 2, 0);
    L.add(`record type ${type} = ${name} (varint)`, leb128(type)).add(`${name}: length ${len} (varint)`, leb128(len));
    L.fields.push(...f.fields);
  };
  body(1, 'userUpsert', new Layout().str('id', 'U1').str('name', 'alice'));
  body(
    3,
    'groupUpsert',
    new Layout()
      .str('id', 'G1')
      .str('name', 'staff')
      .add('maxKeys 3 (varint)', leb128(3))
      .str('algorithm', 'AES-256-GCM')
      .add(`defaultCryptoperiodMs ${THIRTY_DAYS} (varint)`, leb128(THIRTY_DAYS))
      .add('shareHistory 0 (u8)', Uint8Array.of(0))
      .add('member count 2 (varint)', leb128(2))
      .str('member', 'U1')
      .str('member', 'U2'),
  );
  body(
    5,
    'keyUpsert',
    new Layout()
      .str('id', 'K2001')
      .str('name', 'staff-1')
      .str('owner', 'G1')
      .str('algorithm', 'AES-256-GCM')
      .str('life cycle (JSON)', VECTOR_INPUTS.lifecycle),
  );
  const blob = (records[3] as { blob: Uint8Array }).blob;
  body(
    7,
    'keyMaterial',
    new Layout()
      .add('key number 2001 (u32be)', be(2001, 4))
      .add('AES-KW blob (RFC 3394, 48 bytes): K2001 ‖ 2001 (u32be) ‖ update 1 (u32be), wrapped', blob),
  );
  body(
    9,
    'heartbeat',
    new Layout()
      .add(`issuedAt ${ISSUED_AT} = ${new Date(ISSUED_AT).toISOString()} (varint)`, leb128(ISSUED_AT))
      .add(`freshnessWindowMs ${THREE_DAYS} = 3 days (varint)`, leb128(THREE_DAYS)),
  );
  return {
    name: 'update-records',
    title: 'Update body plaintext (the records of the update-file example)',
    fields: { records: records.map(recordJson) },
    testKeys: { wrappingKey: hex(VECTOR_INPUTS.wrappingKey), groupKey: hex(VECTOR_INPUTS.groupKey) },
    hex: hex(bytes),
    layout: L.fields,
  };
}

/** An update record as JSON (byte strings as hex). */
export function recordJson(r: UpdateRecord): { readonly [k: string]: Json } {
  switch (r.type) {
    case 'keyMaterial':
      return { ...r, blob: hex(r.blob) };
    case 'eraseOrder':
      return { ...r, order: hex(r.order) };
    case 'groupUpsert':
      return { ...r, policy: { ...r.policy }, members: [...r.members] };
    default:
      return { ...r };
  }
}

function updateFileVector(): FormatVector {
  const I = VECTOR_INPUTS;
  const header: UpdateHeader = {
    kind: 'incremental',
    userId: I.userId,
    serial: I.serial,
    sequence: 1,
    previousHash: NO_PREVIOUS_FILE,
  };
  const plaintext = encodeRecords(updateRecords());
  const bodyLength = 12 + plaintext.length + 16;
  const sealed = (aad: Uint8Array): Uint8Array =>
    Uint8Array.from([...I.updateNonce, ...aesGcmEncrypt(I.adminToUserKey, I.updateNonce, plaintext, aad)]);
  const file = assembleUpdateFile(header, sealed, bodyLength);
  const ct = sealed(encodeUpdateHeader(header, bodyLength)).subarray(12);
  const L = new Layout()
    .add('magic "SKUP"', ascii('SKUP'))
    .add('version 1 (u8)', Uint8Array.of(1))
    .add('kind 0 = incremental (u8)', Uint8Array.of(0))
    .str('recipient user ID', I.userId)
    .str('recipient device serial', I.serial)
    .add('sequence 1 (u64be)', be(1, 8))
    .add('SHA-256 of the previous file (none: zeros)', NO_PREVIOUS_FILE)
    .add(`body length ${bodyLength} (u32be)`, be(bodyLength, 4))
    .add('body: nonce (12)', I.updateNonce)
    .add(`body: AES-256-GCM ciphertext of the ${plaintext.length} record bytes`, ct.subarray(0, plaintext.length))
    .add('body: GCM tag (16)', ct.subarray(plaintext.length));
  return {
    name: 'update-file',
    title: 'Update file (incremental, sequence 1)',
    fields: {
      kind: header.kind,
      userId: header.userId,
      serial: header.serial,
      sequence: header.sequence,
      previousHash: hex(header.previousHash),
      nonce: hex(I.updateNonce),
      records: updateRecords().map(recordJson),
    },
    testKeys: { adminToUserKey: hex(I.adminToUserKey) },
    hex: hex(file),
    layout: L.fields,
  };
}

function ackVector(updateFile: Uint8Array): FormatVector {
  const I = VECTOR_INPUTS;
  const fileHash = sha256(updateFile);
  const header = encodeAckHeader({ userId: I.userId, serial: I.serial, sequence: 1, fileHash });
  const tag = aesGcmEncrypt(I.userToAdminKey, I.ackNonce, new Uint8Array(0), header);
  const L = new Layout()
    .add('magic "SKAK"', ascii('SKAK'))
    .add('version 1 (u8)', Uint8Array.of(1))
    .str('user ID', I.userId)
    .str('device serial', I.serial)
    .add('sequence 1 (u64be)', be(1, 8))
    .add('SHA-256 of the update-file example', fileHash)
    .add('seal: nonce (12)', I.ackNonce)
    .add('seal: GCM tag over an empty plaintext (16)', tag);
  return {
    name: 'ack-file',
    title: 'Acknowledgement of the update-file example',
    fields: { userId: I.userId, serial: I.serial, sequence: 1, fileHash: hex(fileHash), nonce: hex(I.ackNonce) },
    testKeys: { userToAdminKey: hex(I.userToAdminKey) },
    hex: hex(Uint8Array.from([...header, ...I.ackNonce, ...tag])),
    layout: L.fields,
  };
}

/**
 * A message of the example's text under `number` (K2001: the update file's group key), or, given
 * `rescuedFrom`, re-protected from that compromised key (`SKM2`): its number joins the additional
 * data, so the mark cannot be taken off.
 */
function messageVector(key: Uint8Array, nonce: Uint8Array, number: number, rescuedFrom: number | null): FormatVector {
  const I = VECTOR_INPUTS;
  const [keyId, from] = [`K${number}`, rescuedFrom === null ? null : `K${rescuedFrom}`];
  const ct = aesGcmEncrypt(key, nonce, ascii(I.message), messageAad(keyId, from));
  const L = new Layout();
  if (rescuedFrom === null) L.add('magic "SKM1" (AAD)', ascii('SKM1'));
  else L.add('magic "SKM2": rescued from a compromised key (AAD)', ascii('SKM2'));
  L.add(`key number ${number} = ${keyId} (u32be, AAD)`, be(number, 4));
  if (rescuedFrom !== null)
    L.add(`compromised key it came from: ${rescuedFrom} = ${from} (u32be, AAD)`, be(rescuedFrom, 4));
  L.add('nonce (12)', nonce)
    .add(`AES-256-GCM ciphertext of "${I.message}"`, ct.subarray(0, ct.length - 16))
    .add('GCM tag (16)', ct.subarray(ct.length - 16));
  return {
    name: from === null ? 'message' : 'rescued-message',
    title:
      from === null
        ? `Message "${I.message}" under ${keyId}`
        : `Message "${I.message}" re-protected from the compromised ${from} to ${keyId}`,
    fields: { keyId, ...(from === null ? {} : { rescuedFrom: from }), nonce: hex(nonce), plaintext: I.message },
    testKeys: { groupKey: hex(key) },
    hex: hex(encodeMessage(keyId, nonce, ct, from)),
    layout: L.fields,
  };
}

/** The device state of the example (dummy verifier, secret and attestation bytes). */
export function vectorDeviceState(): DeviceState {
  return {
    serial: VECTOR_INPUTS.serial,
    maxRetries: 3,
    retriesLeft: { user: 2, admin: 3 },
    pins: {
      user: { salt: filled(0x11, 16), iterations: 1000, hash: filled(0x22, 32) },
      admin: { salt: filled(0x33, 16), iterations: 1000, hash: filled(0x44, 32) },
    },
    identitySecret: filled(0x55, 32),
    attestation: { rootOfTrust: filled(0x66, 32), certificate: filled(0x77, 64) },
    counters: new Map([['updates.sequence', 1]]),
  };
}

/** A device state as JSON (byte strings as hex, counters as an object). */
export function deviceStateJson(s: DeviceState): { readonly [k: string]: Json } {
  const pin = (v: DeviceState['pins']['user']): Json => ({
    salt: hex(v.salt),
    iterations: v.iterations,
    hash: hex(v.hash),
  });
  return {
    serial: s.serial,
    maxRetries: s.maxRetries,
    retriesLeft: { ...s.retriesLeft },
    pins: { user: pin(s.pins.user), admin: pin(s.pins.admin) },
    identitySecret: hex(s.identitySecret),
    attestation: s.attestation && {
      rootOfTrust: hex(s.attestation.rootOfTrust),
      certificate: hex(s.attestation.certificate),
    },
    counters: Object.fromEntries(s.counters),
  };
}

function deviceStateVector(): FormatVector {
  const s = vectorDeviceState();
  const L = new Layout()
    .add('format version 2 (u8)', Uint8Array.of(2))
    .add(`serial "${s.serial}" (32 bytes)`, ascii(s.serial))
    .add('maxRetries 3 (u8)', Uint8Array.of(3))
    .add('user tries left 2 (u8)', Uint8Array.of(2))
    .add('admin tries left 3 (u8)', Uint8Array.of(3));
  for (const level of ['user', 'admin'] as const) {
    const v = s.pins[level];
    L.add(`${level} PIN salt (16)`, v.salt)
      .add(`${level} PIN iterations 1000 (u32le)`, le(1000, 4))
      .add(`${level} PIN hash (32)`, v.hash);
  }
  L.add('identity secret (32, X25519)', s.identitySecret)
    .add('attestation present (u8)', Uint8Array.of(1))
    .add('root of trust (32, Ed25519 public key)', filled(0x66, 32))
    .add('certificate (64, Ed25519 signature)', filled(0x77, 64))
    .add('counter count 1 (varint)', leb128(1))
    .str('counter name', 'updates.sequence')
    .add('counter value 1 (u64le)', le(1, 8));
  return {
    name: 'device-state',
    title: 'Device state record (format 2)',
    fields: deviceStateJson(s),
    testKeys: {},
    hex: hex(encodeDeviceState(s)),
    layout: L.fields,
  };
}

function deleteOrderVector(): FormatVector {
  const serial = VECTOR_INPUTS.serial;
  const L = new Layout()
    .add('serial length 32 (u8)', Uint8Array.of(32))
    .add(`serial "${serial}"`, ascii(serial))
    .add('key ID 2001 (u32be)', be(2001, 4))
    .add('update sequence 3 (u64be): the file that carries it', be(3, 8));
  return {
    name: 'delete-order',
    title: 'Delete order plaintext (key 2001 on the example device, carried by update 3)',
    fields: { serial, keyId: 2001, sequence: 3 },
    testKeys: {},
    hex: hex(encodeDeleteOrder(serial, 2001, 3)),
    layout: L.fields,
  };
}

function pinResetOrderVector(): FormatVector {
  const serial = VECTOR_INPUTS.serial;
  const newPin = 'new-pin-1234';
  const L = new Layout()
    .add('serial length 32 (u8)', Uint8Array.of(32))
    .add(`serial "${serial}"`, ascii(serial))
    .add('sequence 1 (u64be)', be(1, 8))
    .add('PIN length 12 (u8)', Uint8Array.of(12))
    .add(`new PIN "${newPin}" (a test PIN)`, ascii(newPin));
  return {
    name: 'pin-reset-order',
    title: 'PIN reset order plaintext (order 1 for the example device)',
    fields: { serial, sequence: 1, newPin },
    testKeys: {},
    hex: hex(encodePinResetOrder({ serial, sequence: 1, newPin: ascii(newPin) })),
    layout: L.fields,
  };
}

/** Varint examples shown in the docs (DWARF 5 §7.6 and the edges). */
const VARINT_EXAMPLES = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER];

/** Everything `docs/vectors/formats.json` must hold. */
export function buildFormatVectors(): FormatVectors {
  const update = updateFileVector();
  const updateBytes = Uint8Array.from(Buffer.from(update.hex, 'hex'));
  return {
    comment:
      'Byte-exact examples of the SEkey-TS formats, documented in docs/formats.md. Generated by ' +
      'impl/protocol/formatVectors.testkit.ts and checked by impl/protocol/formatVectors.test.ts; keys and nonces ' +
      'are test values, never real ones.',
    varints: VARINT_EXAMPLES.map((value) => ({ value, hex: hex(leb128(value)) })),
    vectors: [
      update,
      recordsVector(),
      ackVector(updateBytes),
      messageVector(VECTOR_INPUTS.groupKey, VECTOR_INPUTS.messageNonce, 2001, null),
      // The same text rescued from K2001, once compromised, to K2002, the key that replaced it.
      messageVector(VECTOR_INPUTS.rescueKey, VECTOR_INPUTS.rescueNonce, 2002, 2001),
      deviceStateVector(),
      deleteOrderVector(),
      pinResetOrderVector(),
    ],
  };
}

/** The annotated hex block of a vector: offset, up to 16 bytes, field name. */
export function renderVector(v: FormatVector): string {
  const lines = ['offset  bytes                                            field'];
  let offset = 0;
  for (const f of v.layout) {
    const bytes = f.hex.match(/../g) ?? [];
    for (let i = 0; i < bytes.length || i === 0; i += 16) {
      const chunk = bytes.slice(i, i + 16).join(' ');
      const label = i === 0 ? f.field : '';
      lines.push(`${(offset + i).toString(16).padStart(4, '0')}    ${chunk.padEnd(49)}${label}`.trimEnd());
    }
    offset += bytes.length;
  }
  return ['```', ...lines, '```'].join('\n');
}

/** The varint table of the docs. */
export function renderVarints(varints: FormatVectors['varints']): string {
  return [
    '| value | bytes |',
    '|---|---|',
    ...varints.map((x) => `| ${x.value} | \`${(x.hex.match(/../g) ?? []).join(' ')}\` |`),
  ].join('\n');
}

/** Replaces the body of every `<!-- vector:NAME -->…<!-- /vector:NAME -->` block of `markdown`. */
export function fillMarkdown(markdown: string, blocks: ReadonlyMap<string, string>): string {
  return markdown.replace(
    /(<!-- vector:([a-z-]+) -->)[\s\S]*?(<!-- \/vector:\2 -->)/g,
    (_, open: string, name: string, close: string) => {
      const body = blocks.get(name);
      if (body === undefined) throw new Error(`docs name an unknown vector '${name}'`);
      return `${open}\n${body}\n${close}`;
    },
  );
}

/** The generated blocks, by marker name. */
export function markdownBlocks(v: FormatVectors): Map<string, string> {
  return new Map([
    ['varints', renderVarints(v.varints)],
    ...v.vectors.map((x): [string, string] => [x.name, renderVector(x)]),
  ]);
}
