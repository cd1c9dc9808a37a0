/**
 * Where SEkey-TS behaves differently from the original SEkey library (`SEkey.cpp`, SEkey-GUI) and
 * SEcube firmware (`se3_*.c`): every bug (B1–B12) and design weakness (W1–W12) found in their code,
 * what we do instead, the rule that says so and the test that pins it. `docs/spec.md` prints it as
 * one table; `originalDifferences.test.ts` checks that every test named here exists and still has
 * the name given, and that every rule link leads somewhere.
 * @module
 */

/** A test that pins a difference: its file (from the repository root) and a part of its name. */
export interface PinningTest {
  readonly file: string;
  readonly name: string;
}

/** One item of the original's bugs (B) or weaknesses (W). */
export interface OriginalDifference {
  readonly id: string;
  /** What the original does (function names are the original's). */
  readonly original: string;
  /** What SEkey-TS does instead; for an item we do not change, why. */
  readonly ours: string;
  /** The rule: a section of `docs/spec.md` (`#anchor`) or a source file (from the repository root). */
  readonly rule: { readonly title: string; readonly link: string };
  /** Empty only for an item SEkey-TS does not change (`unchanged`). */
  readonly tests: readonly PinningTest[];
  readonly unchanged?: true;
}

/** Every B and W item, in order. */
export const ORIGINAL_DIFFERENCES: readonly OriginalDifference[] = [
  {
    id: 'B1',
    original:
      '`sekey_delete_group` marks the group deleted before deactivating its keys, so the second statement ' +
      'matches nothing and active keys of a deleted group stay active.',
    ours:
      'Deleting a group retires its live keys (pre-active destroyed, active and suspended deactivated) and ' +
      'takes them off every device.',
    rule: { title: 'group key policy: deleteGroup', link: '#group-key-policy' },
    tests: [
      { file: 'model/kms.test.ts', name: 'B1: deleting a group deactivates its active and suspended keys' },
      { file: 'impl/kms/admin.test.ts', name: 'B1: deleting a group retires its keys' },
    ],
  },
  {
    id: 'B2',
    original:
      "`sekey_check_expired_keys` stamps every expired key with the last row's expiration time, and expires " +
      'keys 60 s early.',
    ours: 'Expiry is exact (`now >= expiresAt`) and each key is stamped deactivated at its own end of cryptoperiod.',
    rule: { title: 'key life cycle: recordExpiry', link: '#key-life-cycle' },
    tests: [
      { file: 'model/kms.test.ts', name: 'B2/B3: every transition is stamped with its own real time' },
      { file: 'impl/kms/admin.test.ts', name: 'B2/B3: deactivation is stamped with the real time' },
    ],
  },
  {
    id: 'B3',
    original:
      '`sekey_key_change_status(deactivated)` stamps the deactivation with the expiration time, possibly in ' +
      'the future.',
    ours: 'A manual deactivation is stamped with the time it happens (`recordDeactivation`).',
    rule: { title: 'key life cycle: recordDeactivation', link: '#key-life-cycle' },
    tests: [
      {
        file: 'model/keyLifecycle.test.ts',
        name: 'a late expiry is recorded at the end of the cryptoperiod, a manual deactivation at now',
      },
      { file: 'impl/kms/admin.test.ts', name: 'B2/B3: deactivation is stamped with the real time' },
    ],
  },
  {
    id: 'B4',
    original: '`sekey_add_key` ignores `max_keys`, and the key counter is never decremented.',
    ours: '`maxKeys` bounds the live keys (pre-active, active, suspended) of a group: `MaxKeysReached`.',
    rule: { title: 'operation addKey', link: '#addkey' },
    tests: [
      { file: 'model/kms.test.ts', name: 'B4: maxKeys is enforced on add' },
      { file: 'impl/kms/admin.test.ts', name: 'B4: maxKeys is enforced on add' },
    ],
  },
  {
    id: 'B5',
    original: 'PINs go to SQLite as NUL-terminated text, so a binary PIN with a 0x00 byte is stored truncated.',
    ours: 'PINs never leave the HSM; it keeps a salted PBKDF2 hash of every byte of the PIN.',
    rule: { title: 'device/pinHash.ts', link: 'device/pinHash.ts' },
    tests: [{ file: 'device/pinHash.test.ts', name: 'keeps binary PINs whole, NUL bytes included' }],
  },
  {
    id: 'B6',
    original: 'An update payload length is a uint16: payloads over 65,535 bytes are silently truncated.',
    ours: 'Update records carry varint lengths, and a file is refused (never cut) when it is truncated.',
    rule: { title: 'docs/update-format.md', link: 'docs/update-format.md' },
    tests: [
      { file: 'impl/protocol/updateFile.test.ts', name: 'lengths above 127 taking two bytes' },
      { file: 'impl/protocol/updateFile.test.ts', name: 'refuses truncated, malformed and over-long files' },
    ],
  },
  {
    id: 'B7',
    original:
      "`usr_sql_exec` splits SQL text on ';': a name containing ';' gives an update that always fails, " +
      'blocking its user for good.',
    ours:
      'Names are any text of 1–100 characters that is not blank; update files carry typed records, never SQL ' +
      'text.',
    rule: { title: 'operation addUser', link: '#adduser' },
    tests: [{ file: 'model/kms.test.ts', name: "names are any text, ';' included" }],
  },
  {
    id: 'B8',
    original:
      'Comments disagree with the code: selection promises the "most recent key" but prefers the shortest ' +
      'window and lowest ID; expiration is said to count from generation; the group cryptoperiod is said to cap ' +
      'keys but does not.',
    ours:
      'The most recently activated key wins; the cryptoperiod starts at first activation; a key cryptoperiod ' +
      "longer than the group's default is refused.",
    rule: { title: 'key selection', link: '#key-selection' },
    tests: [
      { file: 'model/kms.test.ts', name: 'tie-break among keys of the same group' },
      { file: 'model/keyLifecycle.test.ts', name: 'first activation sets activatedAt and expiresAt' },
      { file: 'model/kms.test.ts', name: 'a cryptoperiod is at most the group default' },
    ],
  },
  {
    id: 'B9',
    original:
      'SEkey-GUI accepts policies (AES, HMAC-SHA256) whose key length is 0, so such groups can never get ' + 'keys.',
    ours: 'A policy names an algorithm SEkey can generate keys for (AES-256-GCM); anything else is `InvalidPolicy`.',
    rule: { title: 'operation addGroup', link: '#addgroup' },
    tests: [{ file: 'model/kms.test.ts', name: 'validates IDs, names and policies with typed errors' }],
  },
  {
    id: 'B10',
    original:
      'Firmware `insert_key` takes the PKCS#7 pad byte unchecked, replaces a key by delete-then-create (not ' +
      'atomic), and checks neither length nor ID range.',
    ours:
      'Keys arrive wrapped with AES-KW, whose integrity check refuses an altered blob; lengths and IDs are ' +
      'checked; a replace interrupted by a power cut resolves to the old or the new key.',
    rule: { title: 'device/secubeWrap.ts', link: 'device/secubeWrap.ts' },
    tests: [
      { file: 'device/secubeWrap.test.ts', name: 'refuses a blob that unwraps' },
      { file: 'device/keyStore.test.ts', name: 'resolves an interrupted replace to the new value' },
      { file: 'device/keyStore.test.ts', name: 'rejects IDs that are not u32 and keys that are not AES key sizes' },
    ],
  },
  {
    id: 'B11',
    original:
      'Firmware `load_key_ids` keeps a global iterator between calls: a concurrent caller or a flash swap ' +
      'between pages gives an inconsistent list.',
    ours: 'A key listing is one snapshot of the key store per call; no state is kept between calls.',
    rule: { title: 'device/keyStore.ts', link: 'device/keyStore.ts' },
    tests: [{ file: 'device/keyStore.test.ts', name: 'inserts, replaces, deletes and lists keys' }],
  },
  {
    id: 'B12',
    original: 'Before 2021-06, `se3_key_read` read key bytes from the wrong offset.',
    ours: 'Every stored key reads back exactly, at every size, across remounts.',
    rule: { title: 'device/keyStore.ts', link: 'device/keyStore.ts' },
    tests: [
      { file: 'device/keyStore.test.ts', name: 'inserts, replaces, deletes and lists keys of 16, 24 and 32 bytes' },
      { file: 'device/keyStore.test.ts', name: 'keeps keys across remounts' },
    ],
  },
  {
    id: 'W1',
    original:
      'Update files are not bound to the admin: any key on the user device opens them, so another user can ' +
      'forge updates (arbitrary SQL).',
    ours:
      'Update files are sealed under a direction-separated admin→user channel key, bound to the recipient and ' +
      'its sequence; anything else is refused (`forged`, `wrongRecipient`).',
    rule: { title: 'update processing', link: '#update-processing-user-side' },
    tests: [
      { file: 'device/provisioning.test.ts', name: 'the user host cannot seal under admin→user' },
      {
        file: 'properties/updateAttacks.properties.test.ts',
        name: 'replayed, misaddressed and user-forged files are refused',
      },
    ],
  },
  {
    id: 'W2',
    original:
      'No freshness, anti-rollback or acknowledgement: old files replay, deleted files suppress revocation, ' +
      'and the admin cannot see stale users.',
    ours:
      'A monotonic sequence in the HSM refuses replays and rollbacks; users acknowledge; the admin sees stale ' +
      'users; heartbeats and a freshness window stop a withheld user from encrypting.',
    rule: { title: 'publication', link: '#publication-admin-side-per-user' },
    tests: [
      { file: 'model/updateProcessing.test.ts', name: 'a resync may skip sequences but never go back' },
      { file: 'impl/kms/sync.test.ts', name: 'a withheld update makes the user stale' },
      {
        file: 'properties/updateAttacks.properties.test.ts',
        name: 'the HSM acknowledges only up to its counter and records only the update it authenticated last',
      },
    ],
  },
  {
    id: 'W3',
    original:
      'Provisioning puts the channel keys and the wildcard key in clear in host memory, over a USB link whose ' +
      'encryption is off by default.',
    ours:
      'Each HSM has an X25519 identity made inside it; both sides derive the channel and wrapping keys inside ' +
      'their HSMs, and no key byte reaches a host.',
    rule: { title: 'device/provisioning.ts', link: 'device/provisioning.ts' },
    tests: [
      { file: 'device/provisioning.test.ts', name: 'derives exactly the documented HKDF-SHA256 outputs' },
      { file: 'device/secube.secrecy.test.ts', name: 'never contain key bytes, identity secrets or' },
    ],
  },
  {
    id: 'W4',
    original: 'Whoever has the admin PIN can export any key, wrapped under any key, even one imported in clear.',
    ours: 'Export only at admin level, only of data keys, only under a designated per-user wrap key.',
    rule: { title: 'device/secubeWrap.ts', link: 'device/secubeWrap.ts' },
    tests: [
      { file: 'device/secube.test.ts', name: 'exports only at admin level, only data keys, only under a wrap key' },
    ],
  },
  {
    id: 'W5',
    original:
      'INSERTKEY, DELETEKEY and DELETEALL need no admin session: a user session can delete or overwrite any ' +
      'key, the channel keys included.',
    ours:
      'A user session can create keys but never delete or overwrite one, except by a delete order sealed by ' +
      'the admin HSM.',
    rule: { title: 'device/deleteOrder.ts', link: 'device/deleteOrder.ts' },
    tests: [
      { file: 'device/secube.test.ts', name: 'a user session can create keys but never delete or overwrite one' },
      { file: 'device/deleteOrder.test.ts', name: 'a user session cannot delete keys (W5)' },
    ],
  },
  {
    id: 'W6',
    original:
      'No rekeying: removing a member keeps the group keys; a joiner receives every past key, compromised ' +
      'ones included; compromise is only a flag.',
    ours: 'Forward secrecy on leave, backward secrecy on join, replacement on compromise.',
    rule: { title: 'group key policy', link: '#group-key-policy' },
    tests: [
      { file: 'model/kms.test.ts', name: 'forward secrecy: a leaving member triggers retirement' },
      { file: 'impl/kms/admin.test.ts', name: 'backward secrecy: a new member gets only the key its joining creates' },
      { file: 'impl/kms/specExamples.test.ts', name: 'worked examples on the implementation' },
    ],
  },
  {
    id: 'W7',
    original: 'A deleted key stays in flash: deletion only unlinks the index until the next sector swap.',
    ours: 'A deleted or replaced key is overwritten with zeros in place at once (NOR flash programs 1→0 any time).',
    rule: { title: 'device/secubeKeys.ts', link: 'device/secubeKeys.ts' },
    tests: [
      { file: 'device/secube.test.ts', name: 'a deleted key is gone from flash at once' },
      { file: 'device/keyStore.test.ts', name: 'leaves no byte of a deleted or replaced key anywhere in flash' },
    ],
  },
  {
    id: 'W8',
    original:
      'No PIN retry limit; the login challenge leaks PBKDF2(PIN) before the host authenticates; PINs in clear ' +
      'in flash and in the admin database.',
    ours:
      'A retry counter per level, spent in flash before the comparison; lockout; PINs kept only as salted hashes ' +
      "in the HSM; no device PIN in the admin database: a locked user PIN is reset by an order of the admin's HSM.",
    rule: { title: 'PIN session', link: '#pin-session' },
    tests: [
      { file: 'device/secube.test.ts', name: 'a power cut between spending a try and comparing gives no free try' },
      { file: 'device/secubePinReset.test.ts', name: 'a locked user level takes the new PIN and all its tries' },
      { file: 'device/secube.test.ts', name: 'locks the whole device after 3 wrong admin PINs' },
      { file: 'device/secube.secrecy.test.ts', name: 'PINs are not stored in clear in flash' },
    ],
  },
  {
    id: 'W9',
    original: 'Key wrapping is AES-CBC without a MAC, not bound to the key ID, owner or purpose.',
    ours:
      'AES-KW (RFC 3394), whose integrity check refuses an altered blob, over the key, its key ID and the ' +
      'sequence of the update file that carries it, inside that file sealed with AES-GCM: the HSM takes it ' +
      'only under that ID and only until it records the file as applied, so a kept blob cannot bring back a ' +
      'key erased since.',
    rule: { title: 'device/secubeWrap.ts', link: 'device/secubeWrap.ts' },
    tests: [
      { file: 'device/secube.test.ts', name: 'refuses altered or foreign blobs and stores nothing then' },
      {
        file: 'device/secubeWrap.test.ts',
        name:
          'takes a blob only while its update file is beyond the last the HSM recorded as applied: a key erased by ' +
          'order does not come back from the blob its host kept',
      },
    ],
  },
  {
    id: 'W10',
    original:
      'The serial number is predictable (epoch-seconds prefix, `rand()`), and update file names are its ' +
      'unsalted hash.',
    ours: 'The serial is drawn from the TRNG.',
    rule: { title: 'device/secubeFactory.ts', link: 'device/secubeFactory.ts' },
    tests: [{ file: 'device/secube.test.ts', name: 'draws the serial from the TRNG' }],
  },
  {
    id: 'W11',
    original: 'Time is `time()` wherever needed; expiry is lazy, and user-side expiry is local and never reconciled.',
    ours:
      'Time is an input of every operation and event; expiry is the explicit `EXPIRE` of the key machine, ' +
      'stamped with the end of the cryptoperiod, so every device records the same.',
    rule: { title: 'expiry first', link: '#expiry-first' },
    tests: [
      { file: 'model/keyLifecycle.test.ts', name: 'the machine has no timers' },
      { file: 'model/kms.test.ts', name: 'operations expire due keys before anything reads them' },
    ],
  },
  {
    id: 'W12',
    original:
      'One administrator and one admin database: no separation of duties, no backup or escrow of the admin ' + 'HSM.',
    ours: 'Unchanged: SEkey-TS keeps the single key distribution centre of the SEkey design.',
    rule: { title: 'impl/kms/admin.ts', link: 'impl/kms/admin.ts' },
    tests: [],
    unchanged: true,
  },
];
