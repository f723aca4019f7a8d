/** Applying and undoing migrations through a driver: checksum checks first, one transaction per migration, under the lock. */

import { existsSync } from 'node:fs';
import { SlipwayError } from '../core/errors.js';
import { closeQuietly, connectPostgres, type DatabaseTarget, openSqlite, pgMessage } from './database.js';
import type { HistoryRow, MigrationDriver } from './migration-driver.js';
import type { Migration } from './migration-files.js';
import { openPostgresDriver, readPostgresHistory } from './postgres-driver.js';
import { openSqliteDriver, readSqliteHistory } from './sqlite-driver.js';

export async function openDriver(
  db: DatabaseTarget,
  app: string,
  signal: AbortSignal,
): Promise<MigrationDriver> {
  return db.kind === 'sqlite' ? openSqliteDriver(db) : openPostgresDriver(db, app, signal);
}

/** The history without taking the lock or changing anything (for `slipway plan`); a missing database has none. */
export async function readHistory(db: DatabaseTarget, signal: AbortSignal): Promise<HistoryRow[]> {
  if (db.kind === 'sqlite') {
    if (!existsSync(db.file)) return [];
    const conn = openSqlite(db, { readonly: true });
    try {
      return readSqliteHistory(conn);
    } finally {
      conn.close();
    }
  }
  const client = await connectPostgres(db, signal);
  try {
    return await readPostgresHistory(client);
  } finally {
    await closeQuietly(client);
  }
}

/** How a release's migrations stand against a database's history. Pure. */
export interface MigrationStatus {
  /** Not applied yet, in order. */
  readonly pending: readonly Migration[];
  /** Applied, but the file's checksum differs from the recorded one. */
  readonly changed: readonly { readonly migration: Migration; readonly applied: HistoryRow }[];
  /** Applied to the database, unknown to this release (a newer release applied them). */
  readonly unknown: readonly HistoryRow[];
  /** Pending but older than the newest applied migration: applying them would reorder history. */
  readonly outOfOrder: readonly Migration[];
}

export function migrationStatus(
  files: readonly Migration[],
  history: readonly HistoryRow[],
): MigrationStatus {
  const applied = new Map(history.map((h) => [h.version, h]));
  const known = new Set(files.map((f) => f.version));
  const newestApplied = history.reduce((max, h) => Math.max(max, h.version), Number.NEGATIVE_INFINITY);
  const pending = files.filter((f) => !applied.has(f.version));
  return {
    pending,
    changed: files.flatMap((migration) => {
      const row = applied.get(migration.version);
      return row && row.checksum !== migration.checksum ? [{ migration, applied: row }] : [];
    }),
    unknown: history.filter((h) => !known.has(h.version)),
    outOfOrder: pending.filter((m) => m.version < newestApplied),
  };
}

export interface MigrateOptions {
  readonly deploymentId: number;
  readonly lockTimeoutMs: number;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

export interface MigrateResult {
  readonly applied: readonly { readonly id: string; readonly durationMs: number }[];
  /** Migrations of the release that were applied before this run. */
  readonly upToDate: number;
  /** Applied migrations this release does not know. */
  readonly unknown: readonly string[];
  /** Whether the run had to wait for another runner's lock. */
  readonly waitedForLock: boolean;
}

/**
 * Applies the pending migrations. Before anything runs, under the lock: an applied migration whose file changed
 * (SLW_MIGRATION_CHANGED) or a pending one older than an applied one (SLW_MIGRATION_INVALID) refuses the run.
 * A failing migration leaves nothing of itself (SLW_MIGRATION_FAILED); those applied before it stay, recorded.
 */
export async function runMigrations(
  driver: MigrationDriver,
  files: readonly Migration[],
  options: MigrateOptions,
): Promise<MigrateResult> {
  const { log, signal } = options;
  let waitedForLock = false;
  await driver.lock(options.lockTimeoutMs, signal, () => {
    waitedForLock = true;
    log(`waiting for the migration lock of ${driver.description} (another runner is migrating)`);
  });
  const applied: { id: string; durationMs: number }[] = [];
  try {
    const history = await driver.history();
    const status = migrationStatus(files, history);
    const changed = status.changed[0];
    if (changed) {
      throw new SlipwayError(
        'SLW_MIGRATION_CHANGED',
        `${changed.migration.upFile} was changed after it was applied to ${driver.description}: ` +
          `its SHA-256 is now ${changed.migration.checksum}, applied was ${changed.applied.checksum}; nothing was applied`,
        {
          hint: 'never edit an applied migration: restore the file as it was and add a new migration for the change',
          details: {
            file: changed.migration.upFile,
            checksum: changed.migration.checksum,
            appliedChecksum: changed.applied.checksum,
          },
        },
      );
    }
    const late = status.outOfOrder[0];
    if (late) {
      const newest = history[history.length - 1];
      throw new SlipwayError(
        'SLW_MIGRATION_INVALID',
        `${late.upFile} is pending but ${newest?.name ?? 'a newer migration'} is already applied to ${driver.description}: nothing was applied`,
        { hint: 'give the new migration a version above every applied one' },
      );
    }
    if (status.unknown.length > 0) {
      log(
        `note: ${driver.description} has migrations this release does not know: ${status.unknown.map((u) => u.name).join(', ')}`,
      );
    }
    const upToDate = files.length - status.pending.length;
    if (status.pending.length === 0) log(`${driver.description}: up to date (${upToDate} applied)`);
    for (const migration of status.pending) {
      signal.throwIfAborted();
      log(`applying ${migration.id}`);
      try {
        const durationMs = await driver.apply(migration, options.deploymentId);
        applied.push({ id: migration.id, durationMs });
        log(`applied ${migration.id} in ${durationMs}ms`);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        const before =
          applied.length === 0
            ? ''
            : `; applied before it in this run and kept: ${applied.map((a) => a.id).join(', ')} (a rollback undoes them)`;
        throw new SlipwayError(
          'SLW_MIGRATION_FAILED',
          `${migration.upFile} failed on ${driver.description}: ${pgMessage(e)}; nothing of it was applied${before}`,
          {
            hint: 'fix the migration in a new release; it runs again from the start',
            cause: e,
            details: { failed: migration.id, applied: applied.map((a) => a.id) },
          },
        );
      }
    }
    return { applied, upToDate, unknown: status.unknown.map((u) => u.name), waitedForLock };
  } finally {
    await driver.unlock();
  }
}

export type UndoOutcome =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'downs'; readonly reverted: readonly string[] }
  /** A migration cannot be undone by SQL: the caller restores a backup taken before the deployment. */
  | {
      readonly kind: 'needs-restore';
      readonly blocker: string;
      readonly why: string;
      readonly migrations: readonly string[];
      /** When the first of them was applied (ISO): the backup must be older. */
      readonly firstAppliedAt: string;
    };

/**
 * Undoes the migrations a deployment applied, newest first, each down with its history row removed atomically.
 * When one of them is irreversible (declared, or without a down file), nothing is run: the caller restores the
 * verified backup instead. Idempotent: what was undone has no history row any more.
 */
export async function undoMigrations(
  driver: MigrationDriver,
  deploymentId: number,
  options: Omit<MigrateOptions, 'deploymentId'>,
): Promise<UndoOutcome> {
  await driver.lock(options.lockTimeoutMs, options.signal, () => {
    options.log(`waiting for the migration lock of ${driver.description}`);
  });
  try {
    const rows = (await driver.history()).filter((r) => r.deploymentId === deploymentId).reverse();
    if (rows.length === 0) return { kind: 'nothing' };
    const blocker = rows.find((r) => r.irreversible || r.downSql === null);
    if (blocker) {
      return {
        kind: 'needs-restore',
        blocker: blocker.name,
        why: blocker.downSql === null ? 'has no down migration' : 'is declared irreversible',
        migrations: rows.map((r) => r.name),
        firstAppliedAt: rows.map((r) => r.appliedAt).sort()[0] as string,
      };
    }
    const reverted: string[] = [];
    for (const row of rows) {
      options.signal.throwIfAborted();
      try {
        await driver.revert(row);
      } catch (e) {
        if (options.signal.aborted) throw options.signal.reason;
        throw new SlipwayError(
          'SLW_MIGRATION_FAILED',
          `the down migration of ${row.name} failed on ${driver.description}: ${pgMessage(e)}; it was not applied` +
            (reverted.length ? ` (already undone: ${reverted.join(', ')})` : ''),
          { hint: 'fix the database by hand, then run "slipway rollback" again', cause: e },
        );
      }
      reverted.push(row.name);
      options.log(`ran the down migration of ${row.name}`);
    }
    return { kind: 'downs', reverted };
  } finally {
    await driver.unlock();
  }
}
