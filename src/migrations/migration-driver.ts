/** The seam between the migration logic and a database: lock, history table, apply and revert one migration atomically. */

import type { Migration } from './migration-files.js';

/** The history table every migrated database gets. */
export const HISTORY_TABLE = 'slipway_migrations';

/** One row of `slipway_migrations`: a migration applied to this database. */
export interface HistoryRow {
  readonly version: number;
  /** `0001_create_notes`. */
  readonly name: string;
  /** SHA-256 of the up file when it was applied. */
  readonly checksum: string;
  /** ISO-8601 UTC. */
  readonly appliedAt: string;
  readonly durationMs: number;
  /** The deployment that applied it (a rollback of that deployment undoes it). */
  readonly deploymentId: number | null;
  readonly irreversible: boolean;
  /** The down SQL as shipped with the migration, kept so a rollback needs no release files. */
  readonly downSql: string | null;
}

export interface MigrationDriver {
  /** `sqlite /srv/notes/shared/notes.db`, `postgres app@db:5432/app`: no password. */
  readonly description: string;
  /**
   * Takes the migration lock (PostgreSQL: a session advisory lock keyed by the app; SQLite: `BEGIN IMMEDIATE`,
   * held for the whole run), waiting up to `timeoutMs` and calling `onWait` once if it has to wait; then
   * creates the history table if missing. Throws SLW_MIGRATION_LOCKED when the wait runs out.
   */
  lock(timeoutMs: number, signal: AbortSignal, onWait: () => void): Promise<void>;
  /** Releases the lock (SQLite: commits the run's migrations). Idempotent. */
  unlock(): Promise<void>;
  /** The history, oldest version first; empty when the table does not exist yet. */
  history(): Promise<HistoryRow[]>;
  /**
   * Applies one migration and its history row atomically (PostgreSQL: a transaction; SQLite: a savepoint inside
   * the run's transaction); on error nothing of it remains and the database error is thrown. Returns its duration.
   */
  apply(migration: Migration, deploymentId: number): Promise<number>;
  /** Runs a row's down SQL and deletes the row, atomically. */
  revert(row: HistoryRow): Promise<void>;
  close(): Promise<void>;
}
