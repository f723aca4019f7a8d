/** Backups of a real PostgreSQL database: pg_dump in one snapshot, test restore into a temporary database, safe restore, interrupted restore. */

import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupStore } from '../src/backup/backup-store.js';
import { createBackup } from '../src/backup/create-backup.js';
import { restoreBackupSet } from '../src/backup/restore.js';
import { targetLookup } from '../src/backup/targets.js';
import { verifyBackupSet } from '../src/backup/verify-set.js';
import { errorOf, processYaml, workspace } from './engine-fixtures.js';
import { type PostgresServer, startPostgres } from './servers/postgres.js';

const PgClient = pgLib.Client;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The CLI from source (no build needed): tsx's loader, by path, since the child runs elsewhere. */
const TSX = path.join(ROOT, 'node_modules/tsx/dist/loader.mjs');
const signal = () => new AbortController().signal;

let pg: PostgresServer;
let dir: string;
/** The app database's URL without the password, as a process file would hold it. */
let appUrl: string;

function withoutPassword(url: string): string {
  return url.replace(/:\/\/([^:]+):[^@]+@/, '://$1@');
}

async function counts(database = 'app'): Promise<Record<string, number>> {
  const rows = await pg.query<{ t: string; n: string }>(
    `SELECT 'public.users' AS t, count(*)::text AS n FROM users UNION ALL
     SELECT 'billing.invoices', count(*)::text FROM billing.invoices`,
    [],
    database,
  );
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
}

async function databases(like: string): Promise<string[]> {
  const rows = await pg.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
    like,
  ]);
  return rows.map((r) => r.datname).sort();
}

/** The app database as a process file configures it: the only place verify and restore may go. */
function configured() {
  return targetLookup([{ kind: 'postgres', url: appUrl, password: pg.password }]);
}

function storeAt(name: string): BackupStore {
  return new BackupStore({ dir: path.join(dir, name), keep: 10, maxAgeMs: 86_400_000 }, 'production');
}

async function backUp(store: BackupStore) {
  return createBackup({
    store,
    app: 'app',
    deploymentId: 3,
    release: 'v2',
    items: [{ kind: 'postgres', url: appUrl, password: pg.password, passwordSecret: 'DB_PASSWORD' }],
    signal: signal(),
  });
}

beforeAll(async () => {
  pg = await startPostgres();
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-pgbackup-'));
  appUrl = withoutPassword(await pg.createDatabase('app'));
  await pg.query(
    `CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
     INSERT INTO users (name) SELECT 'user ' || g FROM generate_series(1, 1000) g;
     CREATE SCHEMA billing;
     CREATE TABLE billing.invoices (id bigserial PRIMARY KEY, user_id int REFERENCES users, amount numeric, note text);
     INSERT INTO billing.invoices (user_id, amount, note)
       SELECT 1 + g % 1000, g * 1.5, repeat('x', 200) FROM generate_series(1, 200000) g;`,
    [],
    'app',
  );
});

afterAll(async () => {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('postgres backup', () => {
  it('dumps with row counts from the same snapshot, never records the password, and verifies in a temporary database', async () => {
    const store = storeAt('a');
    const { set } = await backUp(store);
    const item = set.manifest.items[0];
    expect(item).toMatchObject({
      name: 'postgres-app',
      kind: 'postgres',
      file: 'postgres-app.dump',
      source: `postgresql://slipway@127.0.0.1:${pg.port}/app`,
      passwordSecret: 'DB_PASSWORD',
      tables: { 'public.users': 1000, 'billing.invoices': 200000 },
    });
    const manifestText = await readFile(path.join(set.dir, 'manifest.json'), 'utf8');
    expect(manifestText).not.toContain(pg.password);
    // A custom-format archive starts with PGDMP.
    const head = Buffer.alloc(5);
    const fh = await open(path.join(set.dir, 'postgres-app.dump'), 'r');
    await fh.read(head, 0, 5, 0);
    await fh.close();
    expect(head.toString()).toBe('PGDMP');

    const lines: string[] = [];
    const record = await verifyBackupSet({
      store,
      set,
      by: 'ci',
      targets: configured(),
      signal: signal(),
      output: (l) => lines.push(l),
    });
    expect(record.items[0]?.tables).toEqual({ 'public.users': 1000, 'billing.invoices': 200000 });
    expect(record.items[0]?.restore).toMatch(
      /pg_restore into temporary database slipway_verify_\w+ \(dropped\)/,
    );
    expect(lines.join('\n')).not.toContain(pg.password);
    expect(await databases('slipway_verify%')).toEqual([]);
  });

  it('fails verification of a corrupted or unrestorable dump and always drops the temporary database', async () => {
    const store = storeAt('b');
    const { set } = await backUp(store);
    const file = path.join(set.dir, 'postgres-app.dump');
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('garbage!'), 0, 8, 4000);
    await fh.close();
    const flipped = await errorOf(() =>
      verifyBackupSet({ store, set, by: 'ci', targets: configured(), signal: signal() }),
    );
    expect(flipped.code).toBe('SLW_BACKUP_CORRUPT');
    expect(flipped.message).toContain('postgres-app');
    expect(flipped.message).toContain(`expected ${set.manifest.items[0]?.sha256}`);

    // Checksum "fixed" in the manifest too: the test restore is what catches it.
    const { hashFile } = await import('../src/backup/hashed-file.js');
    const h = await hashFile(file, signal());
    const manifestFile = path.join(set.dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.items[0].sha256 = h.sha256;
    await writeFile(manifestFile, JSON.stringify(manifest));
    const unrestorable = await errorOf(async () =>
      verifyBackupSet({
        store,
        set: (await store.read(set.id))!,
        by: 'ci',
        targets: configured(),
        signal: signal(),
      }),
    );
    expect(unrestorable.code).toBe('SLW_BACKUP_CORRUPT');
    expect(unrestorable.message).toMatch(/pg_restore into a temporary database failed|row counts differ/);
    expect(await databases('slipway_verify%')).toEqual([]);
    expect((await store.read(set.id))?.verifyFailed?.item).toBe('postgres-app');
  });

  it('restores into a new database and swaps it in, keeping the replaced one', async () => {
    const store = storeAt('c');
    const { set } = await backUp(store);
    await pg.query(
      'DELETE FROM billing.invoices WHERE id > 10; CREATE TABLE added_later (x int);',
      [],
      'app',
    );
    const result = await restoreBackupSet({
      store,
      set,
      by: 'alice',
      targets: configured(),
      signal: signal(),
    });
    expect(await counts()).toEqual({ 'public.users': 1000, 'billing.invoices': 200000 });
    const tables = await pg.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_tables WHERE tablename = 'added_later'",
      [],
      'app',
    );
    expect(tables[0]?.n).toBe('0');
    const kept = await databases('app_before_restore%');
    expect(kept).toHaveLength(1);
    expect(result.items[0]?.note).toContain(kept[0]);
    expect(await counts(kept[0])).toEqual({ 'public.users': 1000, 'billing.invoices': 10 });
    expect(await databases('app_slipway_restore%')).toEqual([]);
    for (const name of kept) await pg.query(`DROP DATABASE ${name}`);
  });

  it('restores and test-restores only on the configured database, never where an edited manifest points', async () => {
    const store = storeAt('e');
    const { set } = await backUp(store);
    await pg.createDatabase('victim');
    await pg.query('CREATE TABLE precious (x int); INSERT INTO precious VALUES (1), (2)', [], 'victim');
    // Someone with write access to the store aims the item at another database of the server.
    const manifestFile = path.join(set.dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.items[0].source = appUrl.replace(/\/app$/, '/victim');
    await writeFile(manifestFile, JSON.stringify(manifest));
    const edited = (await store.read(set.id))!;
    const restore = await errorOf(() =>
      restoreBackupSet({ store, set: edited, by: 'mallory', targets: configured(), signal: signal() }),
    );
    expect(restore.code).toBe('SLW_RESTORE_FAILED');
    expect(restore.message).toContain('/victim, which no backup step of this environment backs up');
    const verify = await errorOf(() =>
      verifyBackupSet({ store, set: edited, by: 'mallory', targets: configured(), signal: signal() }),
    );
    expect(verify.code).toBe('SLW_BACKUP_FAILED');
    const rows = await pg.query<{ n: string }>('SELECT count(*)::text AS n FROM precious', [], 'victim');
    expect(rows[0]?.n).toBe('2');
    expect(await databases('victim%')).toEqual(['victim']);
  });

  it('drops the database an interrupted restore left behind, but not one still in use', async () => {
    const store = storeAt('f');
    const { set } = await backUp(store);
    await pg.query('CREATE DATABASE app_slipway_restore_0123456789');
    await pg.query('CREATE DATABASE app_slipway_restore_abcdefabcd');
    const busy = new PgClient({
      connectionString: pg.url.replace(/\/postgres$/, '/app_slipway_restore_abcdefabcd'),
    });
    await busy.connect(); // a restore at work
    try {
      const lines: string[] = [];
      await restoreBackupSet({
        store,
        set,
        by: 'alice',
        targets: configured(),
        signal: signal(),
        output: (l) => lines.push(l),
      });
      expect(lines.join('\n')).toContain(
        'dropped app_slipway_restore_0123456789, left by an interrupted restore',
      );
      expect(await databases('app_slipway_restore%')).toEqual(['app_slipway_restore_abcdefabcd']);
    } finally {
      await busy.end();
    }
    await pg.query('DROP DATABASE app_slipway_restore_abcdefabcd');
    for (const name of await databases('app_before_restore%')) await pg.query(`DROP DATABASE ${name}`);
  });

  it('leaves the old database intact and readable when the restoring process is killed mid-way', async () => {
    const store = storeAt('d');
    const { set } = await backUp(store);
    await pg.query('DELETE FROM billing.invoices WHERE id > 5000', [], 'app');
    const before = await counts();
    const work = await mkdtemp(path.join(dir, 'cli-'));
    await writeFile(
      path.join(work, 'slipway.yaml'),
      `version: 1
app: app
artifact: { path: app.tar.gz }
environments:
  production:
    target: { root: ./prod }
    backups: { dir: ${JSON.stringify(path.join(dir, 'd'))} }
    secrets:
      DB_PASSWORD: { env: APP_DB_PASSWORD }
phases:
  - id: backup
    steps:
      - id: backup
        backup:
          items:
            - postgres: { url: ${JSON.stringify(appUrl)}, password: '{{ secrets.DB_PASSWORD }}' }
`,
    );
    for (const delayMs of [50, 300]) {
      const child = spawn(
        process.execPath,
        ['--import', TSX, path.join(ROOT, 'src/cli/bin.ts'), 'backup', 'restore', set.id, '--yes'],
        {
          cwd: work,
          env: { ...process.env, APP_DB_PASSWORD: pg.password, NO_COLOR: '1' },
          detached: true,
          stdio: 'ignore',
        },
      );
      // Kill the whole group (CLI and pg_restore) once the restore is under way, like a power cut would.
      await waitFor(async () => (await databases('app_slipway_restore%')).length > 0, 30_000);
      await new Promise((r) => setTimeout(r, delayMs));
      process.kill(-(child.pid as number), 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(await counts()).toEqual(before);
      expect(await databases('app_before_restore%')).toEqual([]);
      for (const name of await databases('app_slipway_restore%'))
        await pg.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
    const audit = await store.auditLog();
    expect(audit.filter((a) => a.outcome === 'started')).toHaveLength(2);
    expect(audit.some((a) => a.outcome === 'succeeded')).toBe(false);
  });
});

describe('hostile connection values', () => {
  it('are data, never shell or options: nothing runs, the error names the database', async () => {
    const marker = path.join(dir, 'pwned');
    const store = storeAt('hostile');
    for (const name of [
      `$(touch ${marker})`,
      `'; touch ${marker}; '`,
      `-oProxyCommand=touch ${marker}`,
      'x host=evil.example',
    ]) {
      const url = `postgresql://slipway@127.0.0.1:${pg.port}/${encodeURIComponent(name)}`;
      const error = await errorOf(() =>
        createBackup({
          store,
          app: 'app',
          deploymentId: null,
          release: null,
          items: [{ kind: 'postgres', url, password: pg.password }],
          signal: signal(),
        }),
      );
      expect(error.code).toBe('SLW_BACKUP_FAILED');
      expect(error.message).toContain(`database "${name}" does not exist`);
    }
    const hostilePassword = await errorOf(() =>
      createBackup({
        store,
        app: 'app',
        deploymentId: null,
        release: null,
        items: [{ kind: 'postgres', url: appUrl, password: `$(touch ${marker})'; -oProxyCommand=x` }],
        signal: signal(),
      }),
    );
    expect(hostilePassword.message).toContain('password authentication failed');
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
    expect(await store.list()).toEqual([]);
  });
});

describe('postgres backup as deployment steps', () => {
  it('backs up and verifies with the password from a secret that never reaches events, then production runs', async () => {
    const ws = await workspace();
    process.env.SLIPWAY_TEST_DB_PASSWORD = pg.password;
    try {
      ws.yaml = processYaml(
        `
  - id: backup
    steps:
      - id: backup
        backup:
          items:
            - postgres: { url: '${appUrl}', password: '{{ secrets.DB_PASSWORD }}' }
      - id: verify
        verify-backup: { maxAge: 10m }
  - id: production
    requireVerifiedBackup: 1h
    steps:
      - id: ship
        release: {}`,
        `    backups: { dir: backups }
    secrets:
      DB_PASSWORD: { env: SLIPWAY_TEST_DB_PASSWORD }`,
      );
      const view = await ws.deploy('v1', { VERSION: 'v1' });
      const events = await ws.store.readEvents(view.id);
      expect(view.state, JSON.stringify(events.filter((e) => e.type === 'step.failed'))).toBe('succeeded');
      expect(JSON.stringify(events)).not.toContain(pg.password);
      const verify = events.find((e) => e.type === 'step.succeeded' && e.payload.step === 'verify');
      expect(verify?.payload).toMatchObject({
        details: { checks: [{ name: 'postgres-app', kind: 'postgres', sha256: 'ok' }] },
      });
      const store = new BackupStore(
        { dir: path.join(ws.dir, 'backups'), keep: 10, maxAgeMs: 86_400_000 },
        'prod',
      );
      const [set] = await store.list();
      expect(set?.manifest.items[0]?.passwordSecret).toBe('DB_PASSWORD');
      expect(set?.verified?.by).toBe(`deployment ${view.id} step verify`);
    } finally {
      delete process.env.SLIPWAY_TEST_DB_PASSWORD;
      await ws.cleanup();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out waiting');
}
