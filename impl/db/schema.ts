/**
 * The metadata schema of an SEkey device and its migrations.
 *
 * The original keeps five tables without foreign keys (`Users`, `Groups`, `UserGroup`, `SeKeys`,
 * `Recovery`) and stores PINs in them. Here: foreign keys on, no secrets at all (PINs live only in
 * the HSM, hashed), every key timestamp of NIST SP 800-57 Pt 1 §7 in its own column, the persisted
 * life-cycle snapshot beside them, per-user publication state, the user's update-processing snapshot
 * (NULL until the first file is judged; its last sequence, hash and refusal count repeated as columns
 * for people reading the database), and the head of a hash-chained audit log (`auditLog.ts`).
 *
 * Migrations are numbered; `PRAGMA user_version` records the last one applied, and each runs in the
 * same transaction as its version bump, so a database is never half migrated.
 * @module
 */
import type { Database } from './sqlite.ts';
import { DatabaseError } from './databaseError.ts';

/** One schema migration. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Every migration, in order. Append only: a released migration is never edited. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, groups, memberships, keys, publication, update state, audit log',
    sql: `
      CREATE TABLE users (
        id   TEXT PRIMARY KEY,
        name TEXT NOT NULL
      ) STRICT;
      CREATE TABLE kms_groups (
        id                      TEXT PRIMARY KEY,
        name                    TEXT NOT NULL,
        max_keys                INTEGER NOT NULL CHECK (max_keys > 0),
        algorithm               TEXT NOT NULL,
        default_cryptoperiod_ms INTEGER NOT NULL CHECK (default_cryptoperiod_ms > 0),
        share_history           INTEGER NOT NULL DEFAULT 0 CHECK (share_history IN (0, 1))
      ) STRICT;
      CREATE TABLE retired_groups (
        id TEXT PRIMARY KEY
      ) STRICT;
      CREATE TABLE memberships (
        group_id TEXT NOT NULL REFERENCES kms_groups(id) ON DELETE CASCADE,
        user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
      ) STRICT;
      CREATE TABLE keys (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        owner_group     TEXT NOT NULL,
        algorithm       TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('preActivation', 'active', 'suspended',
                          'deactivated', 'compromised', 'destroyed', 'destroyedCompromised')),
        cryptoperiod_ms INTEGER NOT NULL CHECK (cryptoperiod_ms > 0),
        created_at      INTEGER NOT NULL,
        activated_at    INTEGER,
        expires_at      INTEGER,
        suspended_at    INTEGER,
        resumed_at      INTEGER,
        deactivated_at  INTEGER,
        compromised_at  INTEGER,
        destroyed_at    INTEGER,
        lifecycle       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX keys_by_group ON keys(owner_group);
      CREATE TABLE key_holders (
        key_id  TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        PRIMARY KEY (key_id, user_id)
      ) STRICT;
      CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE publication (
        user_id               TEXT PRIMARY KEY,
        state                 TEXT NOT NULL,
        published_sequence    INTEGER NOT NULL,
        acknowledged_sequence INTEGER NOT NULL,
        snapshot              TEXT NOT NULL
      ) STRICT;
      CREATE TABLE update_state (
        id                   INTEGER PRIMARY KEY CHECK (id = 1),
        last_sequence        INTEGER NOT NULL,
        last_file_hash       TEXT NOT NULL,
        consecutive_refusals INTEGER NOT NULL,
        snapshot             TEXT
      ) STRICT;
      INSERT INTO update_state VALUES (1, 0, '', 0, NULL);
      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'device provisioning: user devices and delivered keys (admin), own identity (user)',
    sql: `
      CREATE TABLE user_devices (
        user_id        TEXT PRIMARY KEY,
        serial         TEXT NOT NULL,
        key_base       INTEGER NOT NULL UNIQUE,
        provisioned_at INTEGER NOT NULL,
        retired_at     INTEGER
      ) STRICT;
      CREATE TABLE retired_devices (
        serial     TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        retired_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE delivered_keys (
        user_id TEXT NOT NULL,
        key_id  TEXT NOT NULL,
        PRIMARY KEY (user_id, key_id)
      ) STRICT;
      CREATE TABLE identity (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        role         TEXT NOT NULL CHECK (role IN ('admin', 'user')),
        user_id      TEXT,
        peer_serial  TEXT,
        key_base     INTEGER
      ) STRICT;
    `,
  },
  {
    version: 3,
    description: 'update distribution: per-user streams, outbox, published views (admin); pending device work (user)',
    sql: `
      CREATE TABLE streams (
        user_id   TEXT PRIMARY KEY,
        sequence  INTEGER NOT NULL,
        last_hash BLOB NOT NULL,
        resync    INTEGER NOT NULL DEFAULT 0 CHECK (resync IN (0, 1))
      ) STRICT;
      CREATE TABLE published_views (
        user_id TEXT PRIMARY KEY,
        view    TEXT NOT NULL
      ) STRICT;
      CREATE TABLE outbox (
        user_id   TEXT NOT NULL,
        sequence  INTEGER NOT NULL,
        name      TEXT NOT NULL,
        file_hash BLOB NOT NULL,
        bytes     BLOB,
        PRIMARY KEY (user_id, sequence)
      ) STRICT;
      CREATE TABLE pending_device_ops (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT NOT NULL CHECK (kind IN ('import', 'erase')),
        key_number INTEGER NOT NULL,
        data       BLOB NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    description: 'linear publishing: the world as last published, and what each device was given (admin)',
    // published_views held, per user, a hash of every co-member: a group of n members cost n² rows
    // of bookkeeping, all rewritten by any change (issue 11). Now the world as last published is
    // kept once (published_entities, published_members) and each device's own part of it by group
    // and by key (device_groups, device_keys, clustered by group and key so that a key given to a
    // whole group lands in consecutive rows). The old views cannot be turned into the new rows
    // (they keep hashes, not member lists), so every stream's next file is a resync; the keys ever
    // delivered carry over, so that resync still orders erased what a device must no longer hold.
    sql: `
      DROP TABLE published_views;
      CREATE TABLE published_entities (
        kind TEXT NOT NULL CHECK (kind IN ('user', 'group', 'key')),
        id   TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (kind, id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE published_members (
        group_id TEXT NOT NULL,
        user_id  TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE device_groups (
        group_id TEXT NOT NULL,
        user_id  TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE device_keys (
        key_id  TEXT NOT NULL,
        user_id TEXT NOT NULL,
        held    INTEGER NOT NULL CHECK (held IN (0, 1)),
        PRIMARY KEY (key_id, user_id)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO device_keys (key_id, user_id, held) SELECT key_id, user_id, 0 FROM delivered_keys;
      DROP TABLE delivered_keys;
      ALTER TABLE streams ADD COLUMN device_view TEXT NOT NULL DEFAULT 'none'
        CHECK (device_view IN ('none', 'empty', 'projected'));
      UPDATE streams SET resync = 1;
    `,
  },
  {
    version: 5,
    description:
      'a smaller database: the audit log beside it (its head here), key life cycles as columns and history, ' +
      'pair tables without rowids (device_keys, which replaced delivered_keys in version 4, has none already)',
    sql: `
      CREATE TABLE audit_head (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        seq         INTEGER NOT NULL,
        hash        TEXT NOT NULL,
        next_sector INTEGER NOT NULL
      ) STRICT;
      UPDATE keys SET lifecycle = json_extract(lifecycle, '$.context.history');
      CREATE TABLE memberships_v4 (
        group_id TEXT NOT NULL REFERENCES kms_groups(id) ON DELETE CASCADE,
        user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO memberships_v4 SELECT group_id, user_id FROM memberships;
      DROP TABLE memberships;
      ALTER TABLE memberships_v4 RENAME TO memberships;
      CREATE TABLE key_holders_v4 (
        key_id  TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        PRIMARY KEY (key_id, user_id)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO key_holders_v4 SELECT key_id, user_id FROM key_holders;
      DROP TABLE key_holders;
      ALTER TABLE key_holders_v4 RENAME TO key_holders;
    `,
  },
  {
    version: 6,
    description: 'device_keys says which file ordered a dropped key erased, so that its acknowledgement prunes the row',
    // A dropped key's row (held = 0) was kept for ever, so that a resync could order it erased again:
    // after a year at the size, most of the admin database (issue 11). The file that ordered
    // the erase is now recorded, and once its device acknowledges that file or a later one the row
    // goes (deviceViews.ts says why that is safe). For the rows already there the file is not known:
    // every one was ordered erased in a file up to the stream's last sequence, except while a resync
    // is pending (version 4's rows), which the next file orders erased; so the last sequence, or the
    // next one when a resync is pending, is a bound that never prunes too early.
    sql: `
      CREATE TABLE device_keys_v6 (
        key_id     TEXT NOT NULL,
        user_id    TEXT NOT NULL,
        held       INTEGER NOT NULL CHECK (held IN (0, 1)),
        dropped_in INTEGER CHECK ((held = 1) = (dropped_in IS NULL)),
        PRIMARY KEY (key_id, user_id)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO device_keys_v6 (key_id, user_id, held, dropped_in)
        SELECT key_id, user_id, held, CASE held WHEN 1 THEN NULL ELSE coalesce(
          (SELECT sequence + resync FROM streams WHERE streams.user_id = device_keys.user_id), 1) END
        FROM device_keys;
      DROP TABLE device_keys;
      ALTER TABLE device_keys_v6 RENAME TO device_keys;
    `,
  },
  {
    version: 7,
    description: 'forgetting retired HSMs: the keys a replaced HSM kept, and the HSMs the administrator forgot',
    // A retired HSM that never acknowledges its last file (destroyed, lost, reset before it synced)
    // kept its user stale for good: `sekey admin forget-hsm` drops its bookkeeping, remembering the
    // HSM here (forgotten_devices) so that running it again says so; one forgotten as destroyed keeps
    // the keys it may hold (forgotten_device_keys), so that finding out it was lost after all still
    // compromises them, and keys_recorded says whether those are known. A replaced HSM's keys were
    // forgotten with its view at the replacement; they are now kept (retired_device_keys), so that
    // forgetting it as lost compromises what it holds. For the HSMs replaced before this version they
    // are not known: keys_recorded says which rows have them. A deleted user's HSM that was
    // factory-reset and provisioned for another user since (provisioning refuses it otherwise) will
    // never apply that user's last file either: provisioning now drops such a record, and so does
    // this migration for those already there (their channel keys are erased by the next Admin.open),
    // whether that HSM is in service now or was retired again since. "Since" is read from the tables,
    // not from times (--at may set the clock back): provisioning takes key bases in increasing order
    // and version 6 never deleted a user_devices row, so a record of the same serial with a greater
    // key base is a later provisioning; and version 6 deleted a serial's retired_devices row whenever
    // it was provisioned again, so a standing one was retired after the serial's last provisioning,
    // later than any deleted user's record of it.
    sql: `
      CREATE TABLE forgotten_devices (
        serial       TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        fate         TEXT NOT NULL CHECK (fate IN ('destroyed', 'lost')),
        forgotten_at INTEGER NOT NULL,
        keys_recorded INTEGER NOT NULL CHECK (keys_recorded IN (0, 1)),
        PRIMARY KEY (serial, user_id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE forgotten_device_keys (
        serial TEXT NOT NULL,
        key_id TEXT NOT NULL,
        PRIMARY KEY (serial, key_id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE retired_device_keys (
        serial TEXT NOT NULL,
        key_id TEXT NOT NULL,
        PRIMARY KEY (serial, key_id)
      ) STRICT, WITHOUT ROWID;
      ALTER TABLE retired_devices ADD COLUMN keys_recorded INTEGER NOT NULL DEFAULT 0 CHECK (keys_recorded IN (0, 1));
      CREATE TEMP TABLE reset_hsms AS SELECT d.user_id FROM user_devices d WHERE d.retired_at IS NOT NULL AND (
        EXISTS (SELECT 1 FROM user_devices e WHERE e.serial = d.serial AND
          (e.retired_at IS NULL OR e.key_base > d.key_base)) OR
        EXISTS (SELECT 1 FROM retired_devices r WHERE r.serial = d.serial));
      DELETE FROM device_groups WHERE user_id IN (SELECT user_id FROM reset_hsms);
      DELETE FROM device_keys WHERE user_id IN (SELECT user_id FROM reset_hsms);
      DELETE FROM outbox WHERE user_id IN (SELECT user_id FROM reset_hsms);
      DELETE FROM publication WHERE user_id IN (SELECT user_id FROM reset_hsms);
      UPDATE streams SET resync = 1, device_view = 'none' WHERE user_id IN (SELECT user_id FROM reset_hsms);
      DELETE FROM user_devices WHERE user_id IN (SELECT user_id FROM reset_hsms);
      DROP TABLE reset_hsms;
    `,
  },
  {
    version: 8,
    description: 'the time of the last audited operation, beside the audit head',
    // The time only went forward as far as installation.json said (its lastTime, a file anyone can
    // edit or restore from an old backup): set back, the admin stamped key events and audit entries
    // before ones already recorded. The head is written by every audited transaction, in the same
    // page, so keeping its time here costs no page more; a session earlier than it is refused
    // (ClockWentBack). Heads written before this version read 0 until the next entry.
    sql: `
      ALTER TABLE audit_head ADD COLUMN at INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 9,
    description: 'a user HSM found ahead of the admin database: the sequence it acknowledged, publication held',
    // An HSM that acknowledged a file this database never published (the admin HSM was restored from
    // a backup: `AcknowledgementCollector.collectAcknowledgements`) holds keys the database lost, under numbers it
    // gives again; nothing is published to it any more, and the warning stays, until a new HSM
    // replaces it (a new row). NULL for every other device. A column, not a table: no page more.
    sql: `
      ALTER TABLE user_devices ADD COLUMN ahead_sequence INTEGER CHECK (ahead_sequence > 0);
    `,
  },
  {
    version: 10,
    description: 'when each file in the outbox was published',
    // An acknowledgement of progress restarts a user's staleness clock at the publication of the
    // oldest file still unacknowledged (model/publication.ts, recordProgress), not at its collection:
    // restarted at the collection, acknowledgements held back on the share and released one by one
    // kept a user whose rekey was withheld from ever being stale. NULL for files published before
    // this version: for those the clock restarts at the collection, as it did.
    sql: `
      ALTER TABLE outbox ADD COLUMN published_at INTEGER;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version of `db` (0 for an empty database). */
export function schemaVersion(db: Database): number {
  const row = db.exec('PRAGMA user_version')[0]?.values[0]?.[0];
  return Number(row ?? 0);
}

/**
 * Brings `db` up to {@link SCHEMA_VERSION}, one migration per transaction. A database written by a
 * newer version is refused rather than misread.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  let version = schemaVersion(db);
  const latest = migrations.length;
  if (version > latest) {
    throw new DatabaseError(
      'SchemaTooNew',
      `database schema version ${version} is newer than this program's ${latest}`,
    );
  }
  for (const m of migrations.slice(version)) {
    db.run('BEGIN');
    try {
      db.exec(m.sql);
      db.run(`PRAGMA user_version = ${m.version}`);
      db.run('COMMIT');
    } catch (error) {
      db.run('ROLLBACK');
      throw new DatabaseError('MigrationFailed', `migration ${m.version} (${m.description}) failed: ${String(error)}`);
    }
    version = m.version;
  }
  return version;
}
