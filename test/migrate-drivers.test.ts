/** Migrations against a real PostgreSQL and real SQLite files: apply, half-way failure, edited files, locks, downs. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureChecks } from '../src/integrity/integrity-query.js';
import type { DatabaseTarget } from '../src/migrations/database.js';
import { type Migration, parseMigrations } from '../src/migrations/migration-files.js';
import { openDriver, readHistory, runMigrations, undoMigrations } from '../src/migrations/migrator.js';
import { migrationLockKey } from '../src/migrations/postgres-driver.js';
import { errorOf } from './engine-fixtures.js';
import { type PostgresServer, startPostgres } from './servers/postgres.js';
import { waitFor } from './wait-for.js';

let server: PostgresServer;
let scratch: string;
let dbCount = 0;

beforeAll(async () => {
  [server, scratch] = await Promise.all([startPostgres(), mkdtemp(path.join(tmpdir(), 'slipway-migrate-'))]);
});
afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Migrations from file name → SQL, as a release folder would hold them. */
function migrations(files: Record<string, string>): Migration[] {
  return parseMigrations(
    Object.entries(files).map(([name, sql]) => ({
      shown: `migrations/${name}`,
      name,
      content: Buffer.from(sql),
    })),
    'test',
  );
}

interface Db {
  readonly target: DatabaseTarget;
  /** Rows of a query run outside Slipway. */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  tableExists(name: string): Promise<boolean>;
}

/** A fresh database of each kind per test, so tests never see each other's tables. */
const KINDS: Record<'sqlite' | 'postgres', () => Promise<Db>> = {
  async sqlite() {
    const file = path.join(scratch, `db${++dbCount}.sqlite`);
    const rows = async (sql: string) => {
      const conn = new Database(file);
      try {
        return conn.prepare(sql).all() as Record<string, unknown>[];
      } finally {
        conn.close();
      }
    };
    return {
      target: { kind: 'sqlite', file },
      rows,
      async tableExists(name) {
        return (
          (await rows(`SELECT name FROM sqlite_master WHERE type='table' AND name='${name}'`)).length > 0
        );
      },
    };
  },
  async postgres() {
    const name = `app${++dbCount}`;
    await server.createDatabase(name);
    // The URL carries no password: it travels separately, as it does from a secret.
    const url = `postgres://${server.user}@${server.host}:${server.port}/${name}`;
    const rows = (sql: string) => server.query(sql, [], name);
    return {
      target: { kind: 'postgres', url, password: server.password },
      rows,
      async tableExists(table) {
        return (await rows(`SELECT to_regclass('${table}') AS t`))[0]?.t !== null;
      },
    };
  },
};

const signal = new AbortController().signal;
const quiet = { signal, lockTimeoutMs: 5000, log: () => undefined };

async function migrate(
  db: Db,
  files: Migration[],
  deploymentId = 1,
  log: (l: string) => void = () => undefined,
) {
  const driver = await openDriver(db.target, 'notes', signal);
  try {
    return await runMigrations(driver, files, { ...quiet, deploymentId, log });
  } finally {
    await driver.close();
  }
}

/** A session of its own on the test database, as the password role (to hold locks the runners meet). */
async function connectAsTestRole(db: Db): Promise<pg.Client> {
  if (db.target.kind !== 'postgres') throw new Error('a PostgreSQL database is needed');
  const url = new URL(db.target.url);
  url.password = server.password;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

const V1 = {
  '0001_create_notes.up.sql': 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);',
  '0001_create_notes.down.sql': 'DROP TABLE notes;',
  '0002_add_author.up.sql':
    "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous';\nINSERT INTO notes (id, text) VALUES (1, 'first');",
  '0002_add_author.down.sql': 'DELETE FROM notes WHERE id = 1;\nALTER TABLE notes DROP COLUMN author;',
};

describe.each(['sqlite', 'postgres'] as const)('migrations on %s', (kind) => {
  it('applies pending migrations in order, each recorded with its checksum, duration and deployment', async () => {
    const db = await KINDS[kind]();
    const files = migrations(V1);
    const result = await migrate(db, files, 7);
    expect(result.applied.map((a) => a.id)).toEqual(['0001_create_notes', '0002_add_author']);
    expect(await db.rows('SELECT text, author FROM notes')).toEqual([{ text: 'first', author: 'anonymous' }]);
    const history = await readHistory(db.target, signal);
    expect(history.map((h) => [h.version, h.name, h.checksum, h.deploymentId])).toEqual([
      [1, '0001_create_notes', files[0]?.checksum, 7],
      [2, '0002_add_author', files[1]?.checksum, 7],
    ]);
    expect(files[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(history.every((h) => h.durationMs >= 0 && !Number.isNaN(Date.parse(h.appliedAt)))).toBe(true);
    // A second run finds nothing to do.
    const again = await migrate(db, files, 8);
    expect(again.applied).toEqual([]);
    expect(again.upToDate).toBe(2);
  });

  it('a migration failing half-way leaves nothing of itself; earlier ones of the run stay applied and recorded', async () => {
    const db = await KINDS[kind]();
    const files = migrations({
      ...V1,
      // The first statement works, the second fails: the table of the first must not survive.
      '0003_tags.up.sql':
        'CREATE TABLE tags (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);',
      '0003_tags.down.sql': 'DROP TABLE tags;',
    });
    const error = await errorOf(migrate(db, files, 3));
    expect(error.code).toBe('SLW_MIGRATION_FAILED');
    expect(error.message).toContain('migrations/0003_tags.up.sql failed');
    expect(error.message).toMatch(/no_such_table/);
    expect(error.message).toContain('nothing of it was applied');
    expect(error.message).toContain('0001_create_notes, 0002_add_author');
    expect(error.details).toEqual({ failed: '0003_tags', applied: ['0001_create_notes', '0002_add_author'] });
    expect(await db.tableExists('tags')).toBe(false);
    expect(await db.tableExists('notes')).toBe(true);
    expect((await readHistory(db.target, signal)).map((h) => h.name)).toEqual([
      '0001_create_notes',
      '0002_add_author',
    ]);
  });

  it('refuses an applied migration whose file was edited, before anything runs', async () => {
    const db = await KINDS[kind]();
    await migrate(db, migrations(V1), 1);
    const edited = migrations({
      ...V1,
      '0002_add_author.up.sql': "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'nobody';",
      '0003_tags.up.sql': 'CREATE TABLE tags (id INTEGER PRIMARY KEY);',
    });
    const error = await errorOf(migrate(db, edited, 2));
    expect(error.code).toBe('SLW_MIGRATION_CHANGED');
    expect(error.message).toContain('migrations/0002_add_author.up.sql was changed after it was applied');
    expect(error.message).toContain(edited[1]?.checksum);
    expect(error.message).toContain(migrations(V1)[1]?.checksum);
    // The pending 0003 did not run either.
    expect(await db.tableExists('tags')).toBe(false);
    expect((await readHistory(db.target, signal)).length).toBe(2);
  });

  it('refuses a pending migration older than an applied one', async () => {
    const db = await KINDS[kind]();
    await migrate(db, migrations({ '0002_b.up.sql': 'CREATE TABLE b (x INTEGER);' }), 1);
    const error = await errorOf(
      migrate(
        db,
        migrations({
          '0001_a.up.sql': 'CREATE TABLE a (x INTEGER);',
          '0002_b.up.sql': 'CREATE TABLE b (x INTEGER);',
        }),
        2,
      ),
    );
    expect(error.code).toBe('SLW_MIGRATION_INVALID');
    expect(error.message).toContain('0001_a.up.sql is pending but 0002_b is already applied');
    expect(await db.tableExists('a')).toBe(false);
  });

  it("undoes one deployment's migrations with their downs, newest first, and removes their history rows", async () => {
    const db = await KINDS[kind]();
    await migrate(
      db,
      migrations({
        '0001_create_notes.up.sql': V1['0001_create_notes.up.sql'],
        '0001_create_notes.down.sql': 'DROP TABLE notes;',
      }),
      1,
    );
    await migrate(
      db,
      migrations({
        ...V1,
        '0003_tags.up.sql': 'CREATE TABLE tags (id INTEGER PRIMARY KEY);',
        '0003_tags.down.sql': 'DROP TABLE tags;',
      }),
      2,
    );
    const driver = await openDriver(db.target, 'notes', signal);
    const outcome = await undoMigrations(driver, 2, quiet).finally(() => driver.close());
    expect(outcome).toEqual({ kind: 'downs', reverted: ['0003_tags', '0002_add_author'] });
    expect(await db.tableExists('tags')).toBe(false);
    expect(await db.rows('SELECT * FROM notes')).toEqual([]);
    const columns =
      kind === 'sqlite'
        ? (await db.rows('PRAGMA table_info(notes)')).map((c) => c.name)
        : (
            await db.rows(
              "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'notes' ORDER BY ordinal_position",
            )
          ).map((c) => c.name);
    expect(columns).toEqual(['id', 'text']);
    expect((await readHistory(db.target, signal)).map((h) => h.name)).toEqual(['0001_create_notes']);
    // Idempotent: a resumed rollback finds nothing left to undo.
    const again = await openDriver(db.target, 'notes', signal);
    expect(await undoMigrations(again, 2, quiet).finally(() => again.close())).toEqual({ kind: 'nothing' });
  });

  it('does not run downs when one of the migrations is irreversible: the caller must restore a backup', async () => {
    const db = await KINDS[kind]();
    await migrate(
      db,
      migrations({
        ...V1,
        '0003_purge.up.sql': '-- slipway: irreversible\nDELETE FROM notes;',
        '0003_purge.down.sql': 'SELECT 1;',
        '0004_no_down.up.sql': 'CREATE TABLE t4 (x INTEGER);',
      }),
      5,
    );
    const driver = await openDriver(db.target, 'notes', signal);
    const outcome = await undoMigrations(driver, 5, quiet).finally(() => driver.close());
    expect(outcome).toMatchObject({
      kind: 'needs-restore',
      blocker: '0004_no_down',
      why: 'has no down migration',
      migrations: ['0004_no_down', '0003_purge', '0002_add_author', '0001_create_notes'],
    });
    // Nothing was run: every migration is still applied.
    expect((await readHistory(db.target, signal)).length).toBe(4);
    expect(await db.tableExists('t4')).toBe(true);
  });
});

describe('migration locks', () => {
  it('postgres: two runners at once — one waits for the advisory lock, no migration is applied twice', async () => {
    const db = await KINDS.postgres();
    // The first migration blocks on a gate lock this test holds, so whichever runner gets the migration lock
    // first keeps it until the other one has said it waits: no timing assumption.
    const gate = await connectAsTestRole(db);
    await gate.query('SELECT pg_advisory_lock(4242)');
    const files = migrations({
      '0001_slow.up.sql':
        'SELECT pg_advisory_xact_lock(4242);\nCREATE TABLE runs (n INTEGER);\nINSERT INTO runs VALUES (1);',
      '0002_more.up.sql': 'INSERT INTO runs VALUES (2);',
    });
    const logs: string[][] = [[], []];
    const waiting = () => logs.flat().some((l) => l.startsWith('waiting for the migration lock'));
    const both = Promise.all([
      migrate(db, files, 1, (l) => logs[0]?.push(l)),
      migrate(db, files, 2, (l) => logs[1]?.push(l)),
    ]);
    try {
      await waitFor('a runner waits for the migration lock', waiting);
    } finally {
      await gate.end();
    }
    const [a, b] = await both;
    expect(await db.rows('SELECT n FROM runs ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }]);
    expect([...a.applied, ...b.applied].map((x) => x.id).sort()).toEqual(['0001_slow', '0002_more']);
    expect([a.waitedForLock, b.waitedForLock].filter(Boolean)).toHaveLength(1);
    expect((await readHistory(db.target, signal)).length).toBe(2);
  });

  it('postgres: gives up with SLW_MIGRATION_LOCKED when another session keeps the lock', async () => {
    const db = await KINDS.postgres();
    const holder = await connectAsTestRole(db);
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [migrationLockKey('notes')]);
      const driver = await openDriver(db.target, 'notes', signal);
      const started = Date.now();
      const error = await errorOf(
        runMigrations(driver, migrations({ '0001_a.up.sql': 'CREATE TABLE a (x INTEGER);' }), {
          ...quiet,
          deploymentId: 1,
          lockTimeoutMs: 700,
        }).finally(() => driver.close()),
      );
      expect(error.code).toBe('SLW_MIGRATION_LOCKED');
      expect(error.message).toContain('stayed taken for 700ms: no migration was applied');
      expect(Date.now() - started).toBeGreaterThanOrEqual(650);
      expect(await db.tableExists('a')).toBe(false);
    } finally {
      await holder.end();
    }
  });

  it('sqlite: waits while another writer holds the database, then applies once', async () => {
    const db = await KINDS.sqlite();
    if (db.target.kind !== 'sqlite') throw new Error('unreachable');
    const other = new Database(db.target.file);
    other.exec('CREATE TABLE runs (n INTEGER)');
    other.exec('BEGIN IMMEDIATE');
    const files = migrations({ '0001_a.up.sql': 'INSERT INTO runs VALUES (1);' });
    const logs: string[] = [];
    const running = Promise.all([migrate(db, files, 1, (l) => logs.push(l)), migrate(db, files, 2)]);
    await waitFor('the runner to wait for the lock', () =>
      logs.some((l) => l.startsWith('waiting for the migration lock')),
    );
    // Still held: nothing applied yet.
    expect(other.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 });
    other.exec('COMMIT');
    other.close();
    const [a, b] = await running;
    expect(a.applied.length + b.applied.length).toBe(1);
    expect(await db.rows('SELECT n FROM runs')).toEqual([{ n: 1 }]);
  });

  it('sqlite: a reader still open at commit time delays the commit instead of failing the run', async () => {
    const db = await KINDS.sqlite();
    if (db.target.kind !== 'sqlite') throw new Error('unreachable');
    // SQLite's default rollback journal: COMMIT must wait until no reader holds the database.
    const reader = new Database(db.target.file);
    reader.exec('CREATE TABLE runs (n INTEGER)');
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM runs').get();
    const logs: string[] = [];
    const running = migrate(db, migrations({ '0001_a.up.sql': 'INSERT INTO runs VALUES (1);' }), 1, (l) =>
      logs.push(l),
    );
    // The first COMMIT runs (and meets the reader) right after this line is logged.
    await waitFor('the migration to be applied', () => logs.some((l) => l.startsWith('applied 0001_a')));
    reader.exec('COMMIT');
    reader.close();
    expect((await running).applied.map((a) => a.id)).toEqual(['0001_a']);
    expect(await db.rows('SELECT n FROM runs')).toEqual([{ n: 1 }]);
  });

  it('sqlite: gives up with SLW_MIGRATION_LOCKED when the writer never lets go', async () => {
    const db = await KINDS.sqlite();
    if (db.target.kind !== 'sqlite') throw new Error('unreachable');
    const other = new Database(db.target.file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const driver = await openDriver(db.target, 'notes', signal);
      const error = await errorOf(
        runMigrations(driver, migrations({ '0001_a.up.sql': 'CREATE TABLE a (x INTEGER);' }), {
          ...quiet,
          deploymentId: 1,
          lockTimeoutMs: 300,
        }).finally(() => driver.close()),
      );
      expect(error.code).toBe('SLW_MIGRATION_LOCKED');
      expect(error.message).toContain(db.target.file);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });
});

describe('connecting', () => {
  it('a wrong password is a clear error that never shows the password', async () => {
    const error = await errorOf(
      openDriver(
        {
          kind: 'postgres',
          url: server.urlFor('postgres').replace(/:[^:@/]+@/, '@'),
          password: 'hunter2-wrong',
        },
        'notes',
        signal,
      ),
    );
    expect(error.code).toBe('SLW_DATABASE_UNREACHABLE');
    expect(error.message).toContain(`postgres slipway@127.0.0.1:${server.port}/postgres`);
    expect(error.message).toMatch(/password authentication failed/);
    expect(error.message).not.toContain('hunter2');
  });

  it('a password holding URL syntax and "%41" reaches the server unchanged', async () => {
    const password = 'p%41ss:w@rd/#?';
    await server.query(`CREATE ROLE pct_user LOGIN PASSWORD '${password}'`);
    const driver = await openDriver(
      { kind: 'postgres', url: `postgres://pct_user@${server.host}:${server.port}/postgres`, password },
      'notes',
      signal,
    );
    await driver.close();
  });

  it('a SQLite path whose folder does not exist is refused without creating anything', async () => {
    const file = path.join(scratch, 'nope', 'app.db');
    const error = await errorOf(openDriver({ kind: 'sqlite', file }, 'notes', signal));
    expect(error.code).toBe('SLW_DATABASE_UNREACHABLE');
    expect(error.message).toContain(`no folder ${path.dirname(file)}`);
  });
});

describe('integrity queries', () => {
  it.each(['sqlite', 'postgres'] as const)(
    '%s: a check query cannot write, not even by turning read-only off first',
    async (kind) => {
      const db = await KINDS[kind]();
      await migrate(db, migrations(V1), 1);
      const measured = await measureChecks(
        db.target,
        [
          // One query that first switches the session to read-write, and a check that only does that,
          // followed by a check that writes: none of them may change a row.
          {
            id: 'sneaky',
            query: 'SET default_transaction_read_only = off; DELETE FROM notes; SELECT count(*) FROM notes',
            expect: { kind: 'noDrop' },
          },
          { id: 'escape', query: 'COMMIT; DELETE FROM notes; SELECT 1', expect: { kind: 'noDrop' } },
          { id: 'unlock', query: 'SET default_transaction_read_only = off', expect: { kind: 'noDrop' } },
          { id: 'write', query: 'DELETE FROM notes RETURNING id', expect: { kind: 'empty' } },
          { id: 'count', query: 'SELECT count(*) FROM notes', expect: { kind: 'noDrop' } },
        ],
        signal,
      );
      expect(measured.sneaky).toMatchObject({ error: expect.any(String) });
      expect(measured.escape).toMatchObject({ error: expect.any(String) });
      expect(measured.write).toMatchObject({ error: expect.any(String) });
      expect(measured.count).toEqual({ value: kind === 'sqlite' ? 1 : '1', rows: 1 });
      expect(await db.rows('SELECT id FROM notes')).toEqual([{ id: 1 }]);
    },
  );
});
