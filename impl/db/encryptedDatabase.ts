/**
 * An SEkey device's metadata database: SQLite (sql.js) in host memory, persisted through the
 * device-encrypted {@link PageStore} on the device's SD card after every transaction.
 *
 * Every change goes through {@link EncryptedDatabase.transaction}: the function runs inside an SQLite
 * transaction, then the changed pages are committed to the card. If the function throws, SQLite rolls
 * back and nothing is written. If persisting fails (no space), memory is restored to the committed
 * image, so memory and card never disagree. After a power cut the database object is unusable, as a
 * real host would be without power: reopen it from the card, which yields the state before or after.
 * @module
 */
import type { SdCard } from '../../device/sdcard.ts';
import { DatabaseError } from './databaseError.ts';
import type { DatabaseDevice } from './databaseDevice.ts';
import { openMigratedExported } from './migratedDatabase.ts';
import { PageStore } from './pageStore.ts';
import type { CommitStats } from './pageStore.ts';
import { migrate } from './schema.ts';
import { configureConnection, enableAutoVacuum, openSqlite } from './sqlite.ts';
import type { Database, Statement } from './sqlite.ts';

/**
 * The statements that open and end every transaction, prepared once per connection: `run` with SQL
 * text parses it again each time (sqlite3_exec), and every transaction runs two of them.
 */
interface TransactionStatements {
  readonly begin: Statement;
  readonly commit: Statement;
  readonly rollback: Statement;
}

function prepareTransactionStatements(db: Database): TransactionStatements {
  return { begin: db.prepare('BEGIN IMMEDIATE'), commit: db.prepare('COMMIT'), rollback: db.prepare('ROLLBACK') };
}

/**
 * Runs a prepared statement without parameters. On an error sql.js throws from `step` before its
 * `reset`; the reset here leaves the statement ready for its next run either way.
 */
function runPrepared(statement: Statement): void {
  try {
    statement.step();
  } finally {
    statement.reset();
  }
}

/** A device's encrypted metadata database. */
export class EncryptedDatabase {
  #db: Database;
  #tx: TransactionStatements;
  readonly #store: PageStore;
  #broken: Error | null = null;
  #lastCommit: CommitStats | null = null;

  private constructor(db: Database, store: PageStore) {
    this.#db = db;
    this.#tx = prepareTransactionStatements(db);
    this.#store = store;
  }

  /**
   * Creates the database of a fresh device: schema migrated and, with `init`, what `init` writes
   * (the device's identity), committed together as generation 1. One commit, so that a power cut
   * leaves either no database (create again) or a complete one (open it): never a database without
   * its identity, which neither `create` (the device holds a database) nor `open` would take.
   */
  static async create(device: DatabaseDevice, sd: SdCard, init?: (db: Database) => void): Promise<EncryptedDatabase> {
    const store = PageStore.create(device, sd);
    // The migrated schema's image, not the migrations replayed: the same bytes, far cheaper; and
    // what its export() would give, without the export.
    const { db, exported } = await openMigratedExported();
    const edb = new EncryptedDatabase(db, store);
    return edb.closeIfThrows(() => {
      if (init === undefined) edb.#persist(exported);
      else edb.transaction(init);
      return edb;
    });
  }

  /**
   * Opens the device's database from its card, migrating it if this code is newer (and, once, turning
   * on `auto_vacuum` for a database made before it: `sqlite.ts`).
   */
  static async open(device: DatabaseDevice, sd: SdCard): Promise<EncryptedDatabase> {
    const store = PageStore.open(device, sd);
    const db = await openSqlite(store.image);
    const edb = new EncryptedDatabase(db, store);
    return edb.closeIfThrows(() => {
      const before = db.exec('PRAGMA user_version')[0]?.values[0]?.[0];
      const migrated = migrate(db) !== Number(before);
      if (enableAutoVacuum(db) || migrated) edb.#persist();
      return edb;
    });
  }

  /** The committed generation (also the device's flash counter). */
  get generation(): number {
    return this.#store.generation;
  }

  /**
   * The committed database in plaintext, as the host holds it in memory (SQLite's image): only the
   * card's copy is sealed. For a simulator's key-secrecy check, which must find no key value here.
   */
  get hostImage(): Uint8Array {
    return this.#store.image;
  }

  /** What the last commit cost. */
  get lastCommit(): CommitStats | null {
    return this.#lastCommit;
  }

  /**
   * Whether this object is unusable until the database is reopened: after a commit that failed once
   * it had begun writing (a power cut or a device failure on the card or in the HSM; the card then
   * holds the state before *or* after it, and only a reopen knows which), or after {@link close}.
   * Until then nothing may be undone on the strength of the failure: the transaction may have committed.
   */
  get mustReopen(): boolean {
    return this.#broken !== null;
  }

  #usable(): Database {
    if (this.#broken) {
      throw new DatabaseError('Corrupt', `the database must be reopened after: ${this.#broken.message}`);
    }
    return this.#db;
  }

  /**
   * Runs `fn`, the rest of opening something on this database; if it throws, closes the database
   * and rethrows. Whoever opens a database and then refuses it (a wrong role, a rolled-back replica,
   * a failed migration) must close it: the caller never gets an object to close, and an SQLite
   * connection lives in sql.js's WebAssembly memory until closed (`sqliteMemoryUsed`).
   */
  closeIfThrows<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Runs a read-only query function on the current state. */
  read<T>(fn: (db: Database) => T): T {
    return fn(this.#usable());
  }

  /**
   * Runs `fn` in one SQLite transaction and commits it to the card. All or nothing: if `fn` throws,
   * nothing changes; if the card write fails, memory returns to the committed state.
   */
  transaction<T>(fn: (db: Database) => T): T {
    const db = this.#usable();
    const tx = this.#tx;
    runPrepared(tx.begin);
    let result: T;
    try {
      result = fn(db);
      runPrepared(tx.commit);
    } catch (error) {
      runPrepared(tx.rollback);
      throw error;
    }
    this.#persist();
    return result;
  }

  /** Commits the database's image: `exported` when the caller has it already (it must be what export() gives). */
  #persist(exported?: Uint8Array): void {
    try {
      // export() returns a new buffer each time, so the store may keep it (PageStore.commit).
      this.#lastCommit = this.#store.commit(exported ?? this.#db.export());
    } catch (error) {
      if (error instanceof DatabaseError && error.code === 'NoSpace') {
        this.#restoreCommitted();
        throw error;
      }
      // Power cut or device failure: the card holds the state before or after; only a reopen knows.
      this.#broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  #restoreCommitted(): void {
    // sql.js cannot reopen synchronously from bytes without the module; the module is loaded, so
    // build a new Database from the committed image through the same constructor.
    const Ctor = this.#db.constructor as new (image: Uint8Array) => Database;
    this.#db.close();
    this.#db = configureConnection(new Ctor(this.#store.image));
    this.#tx = prepareTransactionStatements(this.#db);
  }

  /** Releases the in-memory database. */
  close(): void {
    this.#db.close();
    this.#broken ??= new Error('closed');
  }
}
