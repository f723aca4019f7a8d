/** Measuring integrity checks against SQLite or PostgreSQL, read-only: a check's query can never change the data. */

import type pg from 'pg';
import type { IntegrityCheckSpec } from '../core/process.js';
import {
  closeQuietly,
  connectPostgres,
  type DatabaseTarget,
  openSqlite,
  pgMessage,
} from '../migrations/database.js';
import type { Measurement } from './integrity-judge.js';

/**
 * Runs every check's query and returns its measurement by check id. A query that fails is recorded as such
 * (the caller decides what that means); a database that cannot be opened throws SLW_DATABASE_UNREACHABLE.
 */
export async function measureChecks(
  db: DatabaseTarget,
  checks: readonly IntegrityCheckSpec[],
  signal: AbortSignal,
): Promise<Record<string, Measurement>> {
  return db.kind === 'sqlite' ? measureSqlite(db, checks) : measurePostgres(db, checks, signal);
}

function measureSqlite(
  db: Extract<DatabaseTarget, { kind: 'sqlite' }>,
  checks: readonly IntegrityCheckSpec[],
): Record<string, Measurement> {
  // Read-only connection: SQLite itself refuses any write a query might attempt.
  const conn = openSqlite(db, { readonly: true });
  try {
    const out: Record<string, Measurement> = {};
    for (const check of checks) {
      try {
        const stmt = conn.prepare(check.query);
        if (!stmt.reader) throw new Error('not a query returning rows');
        const rows = stmt.raw().all() as unknown[][];
        out[check.id] = { value: scalar(rows[0]?.[0]), rows: rows.length };
      } catch (e) {
        out[check.id] = { error: e instanceof Error ? e.message : String(e) };
      }
    }
    return out;
  } finally {
    conn.close();
  }
}

async function measurePostgres(
  db: Extract<DatabaseTarget, { kind: 'postgres' }>,
  checks: readonly IntegrityCheckSpec[],
  signal: AbortSignal,
): Promise<Record<string, Measurement>> {
  const client = await connectPostgres(db, signal);
  try {
    const out: Record<string, Measurement> = {};
    for (const check of checks) {
      signal.throwIfAborted();
      // Each check in its own READ ONLY transaction, rolled back: a write fails instead of happening, and a
      // check cannot switch the session to read-write for the next one (SET is undone by the rollback).
      await client.query('BEGIN READ ONLY');
      try {
        // The extended protocol runs exactly one statement: no "SET …read_only = off; DELETE …" in one check.
        // (`queryMode` is pg's since 8.12 but missing from @types/pg, hence the cast.)
        const result = await client.query<unknown[]>({
          text: check.query,
          rowMode: 'array',
          queryMode: 'extended',
        } as pg.QueryArrayConfig);
        out[check.id] = { value: scalar(result.rows[0]?.[0]), rows: result.rows.length };
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        out[check.id] = { error: pgMessage(e) };
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    }
    return out;
  } finally {
    await closeQuietly(client);
  }
}

function scalar(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return JSON.stringify(v);
}
