/** The versioned schema of Slipway's SQLite store, applied in order at open and recorded in `PRAGMA user_version`. */

import type Database from 'better-sqlite3';
import { SlipwayError } from '../../core/errors.js';

export interface SqliteMigration {
  /** 1, 2, 3… with no gaps: the value `user_version` holds once this migration is applied. */
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/**
 * The active states as SQL, frozen as they were when the partial index below was created. A query must
 * repeat this exact `IN (…)` list for SQLite to use that index (a test checks it still equals core ACTIVE_STATES;
 * if the core list changes, add a migration that rebuilds the index rather than editing this one).
 */
export const ACTIVE_STATES_SQL = "('running', 'waiting', 'rolling-back')";

/** Never edit a released migration: stores in the field already ran it. Append a new one instead. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    description: 'deployments projection, hash-chained events, releases, leases',
    sql: `
      CREATE TABLE deployments (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        app         TEXT NOT NULL,
        environment TEXT NOT NULL,
        release     TEXT NOT NULL,
        state       TEXT NOT NULL,
        started_by  TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        finished_at TEXT,
        reason      TEXT,
        last_seq    INTEGER NOT NULL
      ) STRICT;
      -- (app, environment) carries the rowid, so a filtered listing comes out newest first without a sort.
      CREATE INDEX deployments_app_environment ON deployments (app, environment);
      CREATE INDEX deployments_state ON deployments (state);
      -- At most one active deployment per environment, enforced by the database itself; also the index
      -- that makes "the active deployment of this environment" a single lookup.
      CREATE UNIQUE INDEX deployments_one_active_per_environment ON deployments (app, environment)
        WHERE state IN ${ACTIVE_STATES_SQL};

      -- id is the global order of the hash chain; AUTOINCREMENT so an id is never reused after a deletion.
      CREATE TABLE events (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        deployment_id INTEGER NOT NULL REFERENCES deployments (id),
        seq           INTEGER NOT NULL,
        at            TEXT NOT NULL,
        type          TEXT NOT NULL,
        payload       TEXT NOT NULL,
        prev_hash     TEXT NOT NULL,
        hash          TEXT NOT NULL,
        UNIQUE (deployment_id, seq)
      ) STRICT;

      CREATE TABLE releases (
        app        TEXT NOT NULL,
        release    TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (app, release)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE leases (
        deployment_id INTEGER PRIMARY KEY REFERENCES deployments (id),
        owner         TEXT NOT NULL,
        expires_at    TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'flag emergency deployments (outside a window or in a freeze) in the projection',
    sql: `ALTER TABLE deployments ADD COLUMN emergency INTEGER NOT NULL DEFAULT 0;`,
  },
];

export const LATEST_SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

/**
 * Brings the schema up to date. Runs in one BEGIN IMMEDIATE transaction and re-reads the version inside it,
 * so several processes opening a fresh file at once apply each migration exactly once.
 */
export function migrateSqlite(db: Database.Database, path: string): void {
  // Fast path without a write lock: every CLI invocation opens the store, almost always already current.
  if (readVersion(db, path) === LATEST_SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    const current = readVersion(db, path);
    for (const migration of SQLITE_MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
    }
    // user_version lives in the database header and is written inside this transaction.
    db.pragma(`user_version = ${LATEST_SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

function readVersion(db: Database.Database, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > LATEST_SQLITE_SCHEMA_VERSION) {
    throw new SlipwayError(
      'SLW_STORE',
      `the store ${path} has schema version ${version}, but this Slipway only knows versions up to ${LATEST_SQLITE_SCHEMA_VERSION}: it was written by a newer Slipway`,
      {
        hint: 'upgrade Slipway to the version that last wrote this store (older versions must not modify it)',
        details: { path, schemaVersion: version, supportedVersion: LATEST_SQLITE_SCHEMA_VERSION },
      },
    );
  }
  return version;
}
