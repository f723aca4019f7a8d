/**
 * PostgreSQL items: `pg_dump -Fc` in one snapshot with the row counts, test restores into a temporary database,
 * and restores into a new database swapped in by rename. Connection details reach the tools only as PG*
 * environment variables (never argv), the password only as PGPASSWORD.
 */

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SlipwayError } from '../core/errors.js';
import { type HashedFile, writeHashed } from './hashed-file.js';

export interface PgConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password?: string;
  readonly sslmode?: string;
  /** The URL without a password: what manifests and messages show. */
  readonly display: string;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Reads a postgres URL (no password in it) plus an optional password into connection details. */
export function pgConnection(url: string, password?: string): PgConnection {
  let u: URL;
  try {
    if (!POSTGRES_URL.test(url)) throw new Error('not a postgres URL');
    u = new URL(url);
  } catch {
    throw new SlipwayError('SLW_BACKUP_FAILED', `"${redactUrl(url)}" is not a postgres:// URL`, {
      hint: 'write it like postgresql://app@127.0.0.1:5432/app; give the password with password: {{ secrets.NAME }}',
    });
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(u.username) || process.env.PGUSER || process.env.USER || 'postgres';
  if (database === '') {
    throw new SlipwayError('SLW_BACKUP_FAILED', `postgres URL ${redactUrl(url)} names no database`, {
      hint: 'end the URL with /<database>, e.g. postgresql://app@127.0.0.1:5432/app',
    });
  }
  const pass = password ?? (u.password ? decodeURIComponent(u.password) : undefined);
  const sslmode = u.searchParams.get('sslmode') ?? undefined;
  const host = decodeURIComponent(u.hostname) || '127.0.0.1';
  const port = u.port ? Number(u.port) : 5432;
  return {
    host,
    port,
    user,
    database,
    ...(pass ? { password: pass } : {}),
    ...(sslmode ? { sslmode } : {}),
    display: `postgresql://${encodeURIComponent(user)}@${host.includes(':') ? `[${host}]` : host}:${port}/${encodeURIComponent(database)}`,
  };
}

function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^/@:]*):[^/@]*@/, '$1:[redacted]@');
}

/** The environment of a pg tool: the inherited one (PATH, HOME) with every connection detail as PG* variables. */
function toolEnv(conn: PgConnection, database: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PG')) delete env[k];
  return {
    ...env,
    PGHOST: conn.host,
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    // PGDATABASE is never parsed as a connection string, unlike a dbname argument.
    PGDATABASE: database,
    PGCONNECT_TIMEOUT: '10',
    PGAPPNAME: 'slipway',
    ...(conn.password ? { PGPASSWORD: conn.password } : {}),
    ...(conn.sslmode ? { PGSSLMODE: conn.sslmode } : {}),
  };
}

function client(conn: PgConnection, database = conn.database): pg.Client {
  return new pg.Client({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    database,
    ...(conn.password ? { password: conn.password } : {}),
    connectionTimeoutMillis: 10_000,
    application_name: 'slipway',
  });
}

async function connect(conn: PgConnection, database = conn.database): Promise<pg.Client> {
  const c = client(conn, database);
  c.on('error', () => undefined); // a server that goes away mid-query rejects the query; no crash on the side
  try {
    await c.connect();
  } catch (e) {
    await c.end().catch(() => undefined);
    throw new SlipwayError(
      'SLW_BACKUP_FAILED',
      `cannot connect to ${conn.display.replace(/\/[^/]*$/, `/${database}`)}: ${(e as Error).message}`,
      { hint: 'check the URL, that the server runs, and the password secret', cause: e },
    );
  }
  return c;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Rows per user table (`schema.table`), in the client's current snapshot. */
async function countRows(c: pg.Client, signal: AbortSignal): Promise<Record<string, number>> {
  const { rows } = await c.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_%' AND NOT c.relispartition ORDER BY 1, 2`,
  );
  const tables: Record<string, number> = {};
  for (const r of rows) {
    signal.throwIfAborted();
    const { rows: n } = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${quoteIdent(r.schema)}.${quoteIdent(r.name)}`,
    );
    tables[`${r.schema}.${r.name}`] = Number(n[0]?.n ?? 0);
  }
  return tables;
}

/** Runs a pg tool (argv, no shell); resolves with its stderr tail, rejects naming the tool and its message. */
function runTool(
  tool: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  stdout?: (out: NodeJS.ReadableStream) => Promise<unknown>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', stdout ? 'pipe' : 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const piped = stdout && child.stdout ? stdout(child.stdout) : Promise.resolve();
    let pipeError: unknown;
    piped.catch((e) => {
      pipeError = e;
      child.kill('SIGTERM');
    });
    child.on('error', (e) => {
      if (signal.aborted) reject(signal.reason);
      else
        reject(
          new SlipwayError('SLW_BACKUP_FAILED', `cannot run ${tool}: ${e.message}`, {
            hint: 'install the PostgreSQL client tools (Debian: apt-get install postgresql-client)',
            cause: e,
          }),
        );
    });
    child.on('close', (code) => {
      void piped.then(
        () => (code === 0 ? resolve(stderr) : reject(new ToolError(tool, code, stderr))),
        () => reject(pipeError),
      );
    });
  });
}

/** A pg tool exited non-zero; `message` holds its last stderr lines. */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      `${tool} exited with ${exitCode}: ${stderr.trim().split('\n').slice(-5).join(' | ') || '(no output)'}`,
    );
    this.name = 'ToolError';
  }
}

/**
 * `pg_dump -Fc` into the new file `dest`, hashed as it is written, and the row count of every table measured in
 * the very snapshot pg_dump dumps (exported from a repeatable-read transaction held open meanwhile).
 */
export async function dumpPostgres(
  conn: PgConnection,
  dest: string,
  signal: AbortSignal,
): Promise<HashedFile & { tables: Record<string, number> }> {
  const c = await connect(conn);
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = (await c.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]?.s as string;
    let file: HashedFile | undefined;
    const dump = runTool(
      'pg_dump',
      ['--format=custom', `--snapshot=${snap}`, '--no-password'],
      toolEnv(conn, conn.database),
      signal,
      async (out) => {
        file = await writeHashed(out as unknown as import('node:stream').Readable, dest, signal);
      },
    );
    // Counted while pg_dump runs: same snapshot, two cores.
    const [tables] = await Promise.all([countRows(c, signal), dump]);
    await c.query('COMMIT');
    return { ...(file as HashedFile), tables };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * A fresh database name `<prefix>_<random>` that fits PostgreSQL's 63-byte limit. Only letters, digits and `_`:
 * pg_restore reads a `--dbname` holding `=` as a connection string (a database named `x host=elsewhere` would
 * send the password elsewhere).
 */
function scratchName(prefix: string): string {
  const suffix = randomBytes(SUFFIX_LENGTH / 2).toString('hex');
  return `${safePrefix(prefix).slice(0, 63 - suffix.length - 1)}_${suffix}`;
}

const SUFFIX_LENGTH = 10;
const safePrefix = (prefix: string) => prefix.replace(/[^A-Za-z0-9_]/g, '_');

/**
 * Drops the `<prefix>_<random>` databases an interrupted run left behind (its process was killed before it could).
 * Without FORCE: one that still has a session belongs to a run at work and stays.
 */
async function dropLeftovers(
  admin: pg.Client,
  prefix: string,
  output: (line: string) => void,
): Promise<void> {
  // A prefix cut short by the length limit could match a user's own database: then nothing is dropped.
  if (safePrefix(prefix).length > 63 - SUFFIX_LENGTH - 1) return;
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE left(datname, $1) = $2 AND datname ~ $3',
    [safePrefix(prefix).length + 1, `${safePrefix(prefix)}_`, '_[0-9a-f]{10}$'],
  );
  for (const { datname } of rows) {
    try {
      await admin.query(`DROP DATABASE ${quoteIdent(datname)}`);
      output(`dropped ${datname}, left by an interrupted restore`);
    } catch {
      // In use: another restore is running.
    }
  }
}

async function createDatabase(admin: pg.Client, name: string): Promise<void> {
  // template0: nothing added to template1 on this server may change what the restore produces.
  await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
}

async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * Test restore: creates a temporary database on the same server, `pg_restore`s the dump into it, counts rows, and
 * drops it again — always, also when the restore fails.
 */
export async function testRestorePostgres(
  conn: PgConnection,
  file: string,
  signal: AbortSignal,
): Promise<{ tables: Record<string, number>; database: string }> {
  const admin = await connect(conn);
  const name = scratchName('slipway_verify');
  try {
    await createDatabase(admin, name);
    await runTool(
      'pg_restore',
      ['--exit-on-error', '--no-owner', '--no-privileges', '--no-password', `--dbname=${name}`, file],
      toolEnv(conn, name),
      signal,
    );
    const scratch = await connect(conn, name);
    try {
      return { tables: await countRows(scratch, signal), database: name };
    } finally {
      await scratch.end().catch(() => undefined);
    }
  } finally {
    await dropDatabase(admin, name).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

/**
 * Restores the dump into a new database, checks its row counts, then swaps it in by renaming both databases in
 * one transaction. Interrupted at any point before that commit, the old database is untouched; afterwards it is
 * kept as `<db>_before_restore_<time>` for whoever wants to compare or go back.
 */
export async function restorePostgres(
  conn: PgConnection,
  file: string,
  expectedTables: Readonly<Record<string, number>> | undefined,
  signal: AbortSignal,
  output: (line: string) => void = () => undefined,
): Promise<{ tables: Record<string, number>; keptAs: string }> {
  const admin = await connect(conn, await maintenanceDatabase(conn));
  const fresh = scratchName(`${conn.database}_slipway_restore`);
  let swapped = false;
  try {
    await dropLeftovers(admin, `${conn.database}_slipway_restore`, output);
    await createDatabase(admin, fresh);
    output(`restoring into a new database ${fresh}`);
    await runTool(
      'pg_restore',
      ['--exit-on-error', '--no-password', `--dbname=${fresh}`, file],
      toolEnv(conn, fresh),
      signal,
    );
    const check = await connect(conn, fresh);
    let tables: Record<string, number>;
    try {
      tables = await countRows(check, signal);
    } finally {
      await check.end().catch(() => undefined);
    }
    if (expectedTables) assertSameCounts(expectedTables, tables, `restored database ${fresh}`);
    signal.throwIfAborted();
    const keptAs = scratchName(`${conn.database}_before_restore`);
    for (let attempt = 1; ; attempt++) {
      try {
        // Sessions on the old database would block the rename: the app is expected to be stopped; stragglers go.
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [conn.database],
        );
        await admin.query('BEGIN');
        await admin.query(`ALTER DATABASE ${quoteIdent(conn.database)} RENAME TO ${quoteIdent(keptAs)}`);
        await admin.query(`ALTER DATABASE ${quoteIdent(fresh)} RENAME TO ${quoteIdent(conn.database)}`);
        await admin.query('COMMIT');
        swapped = true;
        break;
      } catch (e) {
        await admin.query('ROLLBACK').catch(() => undefined);
        if (attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    output(`swapped in; the database as it was is kept as ${keptAs} (drop it when no longer needed)`);
    return { tables, keptAs };
  } finally {
    if (!swapped) await dropDatabase(admin, fresh).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

/** A database to stay connected to while renaming the target: `postgres`, else `template1`. */
async function maintenanceDatabase(conn: PgConnection): Promise<string> {
  for (const db of ['postgres', 'template1']) {
    const c = client(conn, db);
    c.on('error', () => undefined);
    try {
      await c.connect();
      return db;
    } catch {
      // try the next
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  throw new SlipwayError(
    'SLW_RESTORE_FAILED',
    `cannot connect to the "postgres" or "template1" database of ${conn.display}`,
    {
      hint: 'a restore renames databases, which must be done from another database of the same server',
    },
  );
}

/** Throws SLW_BACKUP_CORRUPT listing every table whose row count differs from the manifest's. */
export function assertSameCounts(
  expected: Readonly<Record<string, number>>,
  actual: Readonly<Record<string, number>>,
  where: string,
): void {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const wrong = names
    .filter((n) => expected[n] !== actual[n])
    .map((n) => `${n}: expected ${expected[n] ?? 'no table'}, found ${actual[n] ?? 'no table'}`);
  if (wrong.length === 0) return;
  throw new SlipwayError(
    'SLW_BACKUP_CORRUPT',
    `${where}: row counts differ from the manifest — ${wrong.slice(0, 10).join('; ')}`,
    {
      details: { rowCounts: wrong },
      hint: 'the backup does not hold what was measured when it was taken; do not rely on it, take a new one',
    },
  );
}
