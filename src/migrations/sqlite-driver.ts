/** SQLite migration driver: one `BEGIN IMMEDIATE` transaction is the lock for the whole run; each migration is a savepoint in it. */

import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../core/errors.js';
import { type DatabaseTarget, describeDatabase, openSqlite, type SqliteDatabase } from './database.js';
import { HISTORY_TABLE, type HistoryRow, type MigrationDriver } from './migration-driver.js';
import type { Migration } from './migration-files.js';

const POLL_MS = 100;

export function openSqliteDriver(db: Extract<DatabaseTarget, { kind: 'sqlite' }>): MigrationDriver {
  const conn: SqliteDatabase = openSqlite(db, { create: true });
  const description = describeDatabase(db);
  // The commit in unlock() may wait for readers as long as the lock could be waited for.
  let lockTimeoutMs = 0;
  let lockSignal: AbortSignal | undefined;

  return {
    description,
    async lock(timeoutMs, signal, onWait) {
      lockTimeoutMs = timeoutMs;
      lockSignal = signal;
      const deadline = Date.now() + timeoutMs;
      let waited = false;
      for (;;) {
        signal.throwIfAborted();
        try {
          // IMMEDIATE takes the write lock now: a second runner waits here, before it reads the history.
          conn.exec('BEGIN IMMEDIATE');
          break;
        } catch (e) {
          if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
          if (Date.now() >= deadline) {
            throw new SlipwayError(
              'SLW_MIGRATION_LOCKED',
              `${description} stayed locked by another writer for ${timeoutMs}ms: no migration was applied`,
              {
                hint: 'another migrate (or a long write) is running; retry when it has finished, or raise lockTimeout',
              },
            );
          }
          if (!waited) onWait();
          waited = true;
          await sleep(POLL_MS, undefined, { signal });
        }
      }
      conn.exec(`CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        deployment_id INTEGER,
        irreversible INTEGER NOT NULL DEFAULT 0,
        down_sql TEXT
      )`);
    },
    async unlock() {
      // In rollback-journal mode (SQLite's default) COMMIT needs every reader gone; a busy COMMIT keeps the
      // transaction open, so it is retried like the lock instead of failing after the 50 ms busy timeout.
      const deadline = Date.now() + lockTimeoutMs;
      while (conn.open && conn.inTransaction) {
        try {
          conn.exec('COMMIT');
        } catch (e) {
          if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
          if (Date.now() >= deadline) {
            throw new SlipwayError(
              'SLW_MIGRATION_LOCKED',
              `${description}: readers kept the database busy for ${lockTimeoutMs}ms, so the migrations could not be committed: no migration was applied`,
              { hint: 'a long read (a report, a backup) held the database; retry, or raise lockTimeout' },
            );
          }
          await sleep(POLL_MS, undefined, lockSignal ? { signal: lockSignal } : {});
        }
      }
    },
    async history() {
      return readSqliteHistory(conn);
    },
    async apply(migration: Migration, deploymentId: number) {
      return savepoint(conn, () => {
        const started = performance.now();
        conn.exec(migration.up);
        const durationMs = Math.round(performance.now() - started);
        conn
          .prepare(
            `INSERT INTO ${HISTORY_TABLE}
             (version, name, checksum, applied_at, duration_ms, deployment_id, irreversible, down_sql)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            migration.version,
            migration.id,
            migration.checksum,
            new Date().toISOString(),
            durationMs,
            deploymentId,
            migration.irreversible ? 1 : 0,
            migration.down ?? null,
          );
        return durationMs;
      });
    },
    async revert(row: HistoryRow) {
      savepoint(conn, () => {
        if (row.downSql !== null) conn.exec(row.downSql);
        conn.prepare(`DELETE FROM ${HISTORY_TABLE} WHERE version = ?`).run(row.version);
      });
    },
    async close() {
      if (!conn.open) return;
      // Whatever was not committed by unlock() (an abort half-way) is rolled back.
      if (conn.inTransaction) conn.exec('ROLLBACK');
      conn.close();
    },
  };
}

/** The history table's rows, oldest first; empty when it does not exist. */
export function readSqliteHistory(conn: SqliteDatabase): HistoryRow[] {
  const exists = conn
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(HISTORY_TABLE);
  if (!exists) return [];
  const rows = conn
    .prepare(
      `SELECT version, name, checksum, applied_at, duration_ms, deployment_id, irreversible, down_sql
       FROM ${HISTORY_TABLE} ORDER BY version`,
    )
    .all() as SqliteHistoryRow[];
  return rows.map(toHistoryRow);
}

/** Runs `body` in a savepoint of the open transaction: on error, nothing `body` did remains. */
function savepoint<T>(conn: SqliteDatabase, body: () => T): T {
  conn.exec('SAVEPOINT slipway_migration');
  try {
    const result = body();
    conn.exec('RELEASE slipway_migration');
    return result;
  } catch (e) {
    // A migration that ended the transaction itself (COMMIT in its SQL) leaves no savepoint to return to.
    if (conn.inTransaction) {
      conn.exec('ROLLBACK TO slipway_migration');
      conn.exec('RELEASE slipway_migration');
    }
    throw e;
  }
}

interface SqliteHistoryRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: string;
  duration_ms: number;
  deployment_id: number | null;
  irreversible: number;
  down_sql: string | null;
}

function toHistoryRow(r: SqliteHistoryRow): HistoryRow {
  return {
    version: Number(r.version),
    name: r.name,
    checksum: r.checksum,
    appliedAt: r.applied_at,
    durationMs: Number(r.duration_ms),
    deploymentId: r.deployment_id === null ? null : Number(r.deployment_id),
    irreversible: r.irreversible === 1,
    downSql: r.down_sql,
  };
}
