/** PostgreSQL migration driver: a session advisory lock keyed by the app; each migration in its own transaction. */

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { SlipwayError } from '../core/errors.js';
import { closeQuietly, connectPostgres, type DatabaseTarget, describeDatabase } from './database.js';
import { HISTORY_TABLE, type HistoryRow, type MigrationDriver } from './migration-driver.js';
import type { Migration } from './migration-files.js';

const POLL_MS = 200;

/** The advisory lock key of an app's migrations: the first 8 bytes of a SHA-256, as a signed bigint. */
export function migrationLockKey(app: string): string {
  const digest = createHash('sha256').update(`slipway:migrate:${app}`).digest();
  return digest.readBigInt64BE(0).toString();
}

export async function openPostgresDriver(
  db: Extract<DatabaseTarget, { kind: 'postgres' }>,
  app: string,
  signal: AbortSignal,
): Promise<MigrationDriver> {
  const client = await connectPostgres(db, signal);
  const description = describeDatabase(db);
  const key = migrationLockKey(app);
  let locked = false;

  return {
    description,
    async lock(timeoutMs, lockSignal, onWait) {
      const deadline = Date.now() + timeoutMs;
      let waited = false;
      // try + poll rather than pg_advisory_lock: the wait stays bounded and abortable.
      for (;;) {
        lockSignal.throwIfAborted();
        const { rows } = await client.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock($1::bigint) AS ok',
          [key],
        );
        if (rows[0]?.ok) break;
        if (Date.now() >= deadline) {
          throw new SlipwayError(
            'SLW_MIGRATION_LOCKED',
            `the migration lock of "${app}" on ${description} stayed taken for ${timeoutMs}ms: no migration was applied`,
            {
              hint: `another runner is migrating (advisory lock ${key}); retry when it has finished, or raise lockTimeout`,
            },
          );
        }
        if (!waited) onWait();
        waited = true;
        await sleep(POLL_MS, undefined, { signal: lockSignal });
      }
      locked = true;
      await client.query(`CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
        version BIGINT PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        duration_ms INTEGER NOT NULL,
        deployment_id BIGINT,
        irreversible BOOLEAN NOT NULL DEFAULT false,
        down_sql TEXT
      )`);
    },
    async unlock() {
      if (!locked) return;
      locked = false;
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
    },
    async history() {
      return readPostgresHistory(client);
    },
    async apply(migration: Migration, deploymentId: number) {
      return transaction(client, async () => {
        const started = performance.now();
        // No parameters: the simple query protocol, so a file may hold several statements.
        await client.query(migration.up);
        const durationMs = Math.round(performance.now() - started);
        await client.query(
          `INSERT INTO ${HISTORY_TABLE}
           (version, name, checksum, duration_ms, deployment_id, irreversible, down_sql)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            migration.version,
            migration.id,
            migration.checksum,
            durationMs,
            deploymentId,
            migration.irreversible,
            migration.down ?? null,
          ],
        );
        return durationMs;
      });
    },
    async revert(row: HistoryRow) {
      await transaction(client, async () => {
        if (row.downSql !== null) await client.query(row.downSql);
        await client.query(`DELETE FROM ${HISTORY_TABLE} WHERE version = $1`, [row.version]);
      });
    },
    async close() {
      // Closing the session also frees the advisory lock, whatever happened.
      await closeQuietly(client);
    },
  };
}

/** The history table's rows, oldest first; empty when it does not exist. */
export async function readPostgresHistory(client: pg.Client): Promise<HistoryRow[]> {
  const { rows: exists } = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
    HISTORY_TABLE,
  ]);
  if (!exists[0]?.t) return [];
  const { rows } = await client.query<{
    version: string;
    name: string;
    checksum: string;
    applied_at: Date;
    duration_ms: number;
    deployment_id: string | null;
    irreversible: boolean;
    down_sql: string | null;
  }>(
    `SELECT version, name, checksum, applied_at, duration_ms, deployment_id, irreversible, down_sql
     FROM ${HISTORY_TABLE} ORDER BY version`,
  );
  return rows.map((r) => ({
    version: Number(r.version),
    name: r.name,
    checksum: r.checksum,
    appliedAt: new Date(r.applied_at).toISOString(),
    durationMs: Number(r.duration_ms),
    deploymentId: r.deployment_id === null ? null : Number(r.deployment_id),
    irreversible: r.irreversible,
    downSql: r.down_sql,
  }));
}

async function transaction<T>(client: pg.Client, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await body();
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
