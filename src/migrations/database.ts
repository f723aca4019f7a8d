/** Opening the app's database for migrate and integrity steps: SQLite (better-sqlite3) or PostgreSQL (pg), never leaking a password. */

import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SlipwayError } from '../core/errors.js';
import type { DatabaseSpec } from '../core/process.js';
import { renderTemplate, type TemplateScope } from '../core/template.js';

/** A database spec with its templates rendered: what a driver connects to. */
export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly password?: string };

/** Renders a spec's templates; a relative SQLite path starts at the process file's folder. */
export function renderDatabase(
  spec: DatabaseSpec,
  scope: TemplateScope,
  baseDir: string,
  where: string,
): DatabaseTarget {
  if (spec.kind === 'sqlite') {
    return {
      kind: 'sqlite',
      file: path.resolve(baseDir, renderTemplate(spec.path, scope, `${where}.sqlite`)),
    };
  }
  const url = renderTemplate(spec.url, scope, `${where}.postgres.url`);
  return spec.password === undefined
    ? { kind: 'postgres', url }
    : { kind: 'postgres', url, password: renderTemplate(spec.password, scope, `${where}.postgres.password`) };
}

/** For messages: `sqlite /srv/app/shared/notes.db`, `postgres app@db:5432/notes` (any password in the URL dropped). */
export function describeDatabase(db: DatabaseTarget): string {
  if (db.kind === 'sqlite') return `sqlite ${db.file}`;
  try {
    const u = new URL(db.url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `postgres ${user}${u.host}${u.pathname}`;
  } catch {
    return 'postgres (unparsable URL)';
  }
}

/** The small slice of better-sqlite3 Slipway uses. */
export type SqliteDatabase = Database.Database;

/**
 * Opens a SQLite file. For migrations the file may be created (a first deployment), but its folder must exist:
 * a missing folder means the path is wrong, or names a folder on another machine.
 */
export function openSqlite(
  db: Extract<DatabaseTarget, { kind: 'sqlite' }>,
  options: { readonly readonly?: boolean; readonly create?: boolean } = {},
): SqliteDatabase {
  const folder = path.dirname(db.file);
  if (!existsSync(folder)) {
    throw new SlipwayError(
      'SLW_DATABASE_UNREACHABLE',
      `cannot open ${describeDatabase(db)}: no folder ${folder}`,
      {
        hint: 'SQLite databases are opened on the machine running Slipway: check the path (e.g. {{ target.shared }}/app.db on a local target)',
      },
    );
  }
  if (!options.create && !existsSync(db.file)) {
    throw new SlipwayError('SLW_DATABASE_UNREACHABLE', `cannot open ${describeDatabase(db)}: no such file`, {
      hint: 'check the path; a migrate step creates the database on a first deployment',
    });
  }
  try {
    // A short busy timeout: waits for the lock happen in async loops, never blocking the event loop for long.
    return new Database(db.file, { readonly: options.readonly === true, timeout: 50 });
  } catch (e) {
    throw new SlipwayError(
      'SLW_DATABASE_UNREACHABLE',
      `cannot open ${describeDatabase(db)}: ${e instanceof Error ? e.message : String(e)}`,
      { hint: 'check the path and its permissions', cause: e },
    );
  }
}

/**
 * Connects to PostgreSQL. The password goes to the driver only; aborting `signal` closes the connection (the
 * server then rolls back any open transaction and frees session locks).
 */
export async function connectPostgres(
  db: Extract<DatabaseTarget, { kind: 'postgres' }>,
  signal: AbortSignal,
  options: { readonly connectTimeoutMs?: number } = {},
): Promise<pg.Client> {
  signal.throwIfAborted();
  const client = new pg.Client({
    connectionString: postgresConnectionString(db),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'slipway',
  });
  // An idle client's socket error must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  const onAbort = (): void => {
    void client.end().catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  client.once('end', () => signal.removeEventListener('abort', onAbort));
  try {
    await client.connect();
  } catch (e) {
    signal.removeEventListener('abort', onAbort);
    if (signal.aborted) throw signal.reason;
    throw new SlipwayError(
      'SLW_DATABASE_UNREACHABLE',
      `cannot connect to ${describeDatabase(db)}: ${pgMessage(e)}`,
      { hint: 'check the URL, that the server is up and reachable, and the password secret', cause: e },
    );
  }
  return client;
}

/**
 * pg lets a connection string's fields win over separate ones: the password goes into the URL, in memory only.
 * Percent-encoded first: pg decodes the URL's password, so a raw "%41" would reach the server as "A".
 */
export function postgresConnectionString(db: Extract<DatabaseTarget, { kind: 'postgres' }>): string {
  if (db.password === undefined) return db.url;
  try {
    const u = new URL(db.url);
    u.password = encodeURIComponent(db.password);
    return u.toString();
  } catch {
    throw new SlipwayError('SLW_DATABASE_UNREACHABLE', `${describeDatabase(db)}: the URL cannot be parsed`, {
      hint: 'write it like postgresql://user@host:5432/database',
    });
  }
}

/** A pg error as one line: message, and where PostgreSQL says (detail, position) when it does. */
export function pgMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const pe = e as Error & { code?: string; detail?: string; position?: string };
  const parts = [pe.message || pe.code || 'error'];
  if (pe.detail) parts.push(`(${pe.detail})`);
  if (pe.code && /^[0-9A-Z]{5}$/.test(pe.code)) parts.push(`[SQLSTATE ${pe.code}]`);
  return parts.join(' ');
}

export async function closeQuietly(client: pg.Client | undefined): Promise<void> {
  await client?.end().catch(() => undefined);
}
