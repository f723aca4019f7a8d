/** Backups of real SQLite files and folders: manifest, verification, corruption, retention, restore, a writer racing the backup. */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupStore } from '../src/backup/backup-store.js';
import { type BackupSource, createBackup } from '../src/backup/create-backup.js';
import { restoreBackupSet, restoreNewestVerifiedBackup } from '../src/backup/restore.js';
import { targetLookup } from '../src/backup/targets.js';
import { verifyBackupSet } from '../src/backup/verify-set.js';
import { errorOf } from './engine-fixtures.js';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');
const signal = () => new AbortController().signal;

let dir: string;
let dbFile: string;
let appDir: string;

function makeDb(file: string, notes: number, mode: 'wal' | 'delete' = 'wal'): void {
  const db = new Database(file);
  db.pragma(`journal_mode = ${mode}`);
  db.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  db.exec('CREATE TABLE IF NOT EXISTS tags ("the name" TEXT)');
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < notes; i++) insert.run(`note ${i} ${'x'.repeat(200)}`);
  })();
  db.prepare('INSERT INTO tags VALUES (?)').run('work');
  db.close();
}

function count(file: string, table = 'notes'): number {
  // Read-write: after the writer is killed, only such a connection may recover the WAL index.
  const db = new Database(file, { timeout: 10_000 });
  try {
    return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** The process file's SQLite database(s): where restores may write. */
function sqliteAt(...files: string[]) {
  return targetLookup(files.map((f) => ({ kind: 'sqlite' as const, path: f })));
}

function storeAt(root: string, keep = 10): BackupStore {
  return new BackupStore({ dir: root, keep, maxAgeMs: 30 * 86_400_000 }, 'production');
}

async function backUp(store: BackupStore, items: BackupSource[] = [{ kind: 'sqlite', path: dbFile }]) {
  return createBackup({ store, app: 'notes', deploymentId: 7, release: 'v1', items, signal: signal() });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-backup-'));
  dbFile = path.join(dir, 'data', 'notes.db');
  await mkdir(path.dirname(dbFile));
  makeDb(dbFile, 500);
  appDir = path.join(dir, 'app');
  await mkdir(path.join(appDir, 'config'), { recursive: true });
  await writeFile(path.join(appDir, 'server.js'), 'console.log("hi")\n');
  await writeFile(path.join(appDir, 'config', 'app.env'), 'PORT=8080\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('backup set', () => {
  it('holds every item with size, SHA-256 and row counts in its manifest, and verifies', async () => {
    const store = storeAt(path.join(dir, 'store-a'));
    const { set } = await backUp(store, [
      { kind: 'sqlite', path: dbFile },
      { kind: 'files', path: appDir },
    ]);
    expect(set.id).toMatch(/^\d{8}T\d{9}Z-d7$/);
    const manifest = JSON.parse(await readFile(path.join(set.dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      app: 'notes',
      environment: 'production',
      deploymentId: 7,
      release: 'v1',
    });
    const [sqlite, files] = manifest.items;
    expect(sqlite).toMatchObject({
      name: 'sqlite-notes',
      kind: 'sqlite',
      source: dbFile,
      file: 'sqlite-notes.sqlite',
      tables: { notes: 500, tags: 1 },
    });
    expect(sqlite.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sqlite.sizeBytes).toBe((await stat(path.join(set.dir, sqlite.file))).size);
    expect(files).toMatchObject({ name: 'files-app', kind: 'files', file: 'files-app.tar.gz', entry: 'app' });
    expect(set.verified).toBeNull();

    const record = await verifyBackupSet({ store, set, by: 'alice', signal: signal() });
    expect(record.items.map((i) => i.name)).toEqual(['sqlite-notes', 'files-app']);
    expect(record.items[0]?.tables).toEqual({ notes: 500, tags: 1 });
    expect(record.items[0]?.restore).toContain('integrity_check ok');
    const listed = await store.list();
    expect(listed.map((s) => [s.id, s.verified?.by])).toEqual([[set.id, 'alice']]);
    // Nothing but the set's own files: the read-only open of the WAL database left no -wal/-shm behind.
    expect((await readdir(set.dir)).sort()).toEqual([
      'files-app.tar.gz',
      'manifest.json',
      'sqlite-notes.sqlite',
      'verified.json',
    ]);
  });

  it('fails verification of a set with flipped bytes, names the item and both checksums, and withdraws "verified"', async () => {
    const store = storeAt(path.join(dir, 'store-b'));
    const { set } = await backUp(store);
    await verifyBackupSet({ store, set, by: 'alice', signal: signal() });
    expect(await store.newestVerified(Date.now())).toBeDefined();

    const file = path.join(set.dir, 'sqlite-notes.sqlite');
    const handle = await open(file, 'r+');
    const buf = Buffer.alloc(16);
    await handle.read(buf, 0, 16, 8192);
    for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) ^ 0xff;
    await handle.write(buf, 0, 16, 8192);
    await handle.close();

    const error = await errorOf(async () =>
      verifyBackupSet({ store, set: (await store.read(set.id))!, by: 'bob', signal: signal() }),
    );
    expect(error.code).toBe('SLW_BACKUP_CORRUPT');
    const expectedSha = set.manifest.items[0]?.sha256 as string;
    expect(error.message).toContain('sqlite-notes');
    expect(error.message).toContain(`expected ${expectedSha}`);
    expect(error.message).toMatch(/found [0-9a-f]{64}/);
    const again = await store.read(set.id);
    expect(again?.verified).toBeNull();
    expect(again?.verifyFailed?.item).toBe('sqlite-notes');
    expect(await store.newestVerified(Date.now())).toBeUndefined();
  });

  it('fails verification of a truncated archive, saying it is truncated', async () => {
    const store = storeAt(path.join(dir, 'store-c'));
    const { set } = await backUp(store, [{ kind: 'files', path: appDir }]);
    const file = path.join(set.dir, 'files-app.tar.gz');
    const size = (await stat(file)).size;
    await truncate(file, Math.floor(size / 2));
    const error = await errorOf(() => verifyBackupSet({ store, set, by: 'bob', signal: signal() }));
    expect(error.code).toBe('SLW_BACKUP_CORRUPT');
    expect(error.message).toContain('files-app');
    expect(error.message).toContain(`truncated: ${Math.floor(size / 2)} of ${size} bytes`);
  });

  it('refuses a set whose SQLite file is consistent with its checksum but not with its row counts', async () => {
    const store = storeAt(path.join(dir, 'store-d'));
    const { set } = await backUp(store);
    // Tampering with the manifest too (someone "fixing" the checksum): the test restore still catches it.
    const manifestFile = path.join(set.dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.items[0].tables.notes = 501;
    await writeFile(manifestFile, JSON.stringify(manifest));
    const error = await errorOf(async () =>
      verifyBackupSet({ store, set: (await store.read(set.id))!, by: 'bob', signal: signal() }),
    );
    expect(error.code).toBe('SLW_BACKUP_CORRUPT');
    expect(error.message).toContain('notes: expected 501, found 500');
  });

  it('fails verification of a damaged database even when its checksum was "fixed" too', async () => {
    const store = storeAt(path.join(dir, 'store-i'));
    const { set } = await backUp(store);
    const file = path.join(set.dir, 'sqlite-notes.sqlite');
    const handle = await open(file, 'r+');
    await handle.write(Buffer.alloc(3000, 0x5a), 0, 3000, 4096 * 3 + 100); // inside a b-tree page
    await handle.close();
    const { hashFile } = await import('../src/backup/hashed-file.js');
    const manifestFile = path.join(set.dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.items[0].sha256 = (await hashFile(file, signal())).sha256;
    await writeFile(manifestFile, JSON.stringify(manifest));
    const error = await errorOf(async () =>
      verifyBackupSet({ store, set: (await store.read(set.id))!, by: 'bob', signal: signal() }),
    );
    expect(error.code).toBe('SLW_BACKUP_CORRUPT');
    expect(error.message).toMatch(
      /sqlite-notes: (PRAGMA integrity_check: |the file does not open as a SQLite database)/,
    );
  });

  it('keeps the newest N sets and always the newest verified one', async () => {
    const store = storeAt(path.join(dir, 'store-e'), 2);
    const first = (await backUp(store)).set;
    await verifyBackupSet({ store, set: first, by: 'alice', signal: signal() });
    const ids = [first.id];
    for (let i = 0; i < 3; i++) ids.push((await backUp(store)).set.id);
    const left = (await store.list()).map((s) => s.id);
    // Newest two, plus the only verified one however old it is.
    expect(left).toEqual([ids[3], ids[2], ids[0]]);
    expect((await readdir(store.root)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('copies the file under a read lock when that is exact, else uses the online backup API', async () => {
    const file = path.join(dir, 'long-reader.db');
    makeDb(file, 100);
    const store = storeAt(path.join(dir, 'store-h'));
    const quiet = await backUp(store, [{ kind: 'sqlite', path: file }]);
    expect(quiet.items[0]?.how).toBe('file copy under a read lock');
    // A reader of the app holds an old snapshot while newer rows sit in the WAL: the WAL cannot be emptied.
    const reader = new Database(file);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM notes').get();
    const writer = new Database(file);
    writer.exec("INSERT INTO notes (body) VALUES ('only in the WAL')");
    try {
      const busy = await backUp(store, [{ kind: 'sqlite', path: file }]);
      expect(busy.items[0]?.how).toBe('online backup API');
      expect(busy.set.manifest.items[0]?.tables).toEqual({ notes: 101, tags: 1 });
      const record = await verifyBackupSet({ store, set: busy.set, by: 'ci', signal: signal() });
      expect(record.items[0]?.tables).toEqual({ notes: 101, tags: 1 });
    } finally {
      reader.exec('COMMIT');
      reader.close();
      writer.close();
    }
  });

  it('takes a consistent backup while another process keeps inserting', async () => {
    for (const mode of ['wal', 'delete'] as const) {
      const file = path.join(dir, `busy-${mode}.db`);
      makeDb(file, 20_000, mode);
      const writer = startWriter(file);
      let counted = 0;
      try {
        await waitForRows(file, 20_100);
        const store = storeAt(path.join(dir, `store-busy-${mode}`));
        const { set } = await backUp(store, [{ kind: 'sqlite', path: file }]);
        counted = set.manifest.items[0]?.tables?.notes as number;
        expect(counted).toBeGreaterThan(20_000);
        // Verification opens the copy, runs integrity_check and recounts every table.
        const record = await verifyBackupSet({ store, set, by: 'ci', signal: signal() });
        expect(record.items[0]?.tables?.notes).toBe(counted);
      } finally {
        writer.kill('SIGKILL');
        await new Promise((r) => writer.once('exit', r));
      }
      // And after the writer was killed mid-stream (the app crashed): the backup recovers like any connection.
      const store = storeAt(path.join(dir, `store-crashed-${mode}`));
      const after = (await backUp(store, [{ kind: 'sqlite', path: file }])).set;
      await verifyBackupSet({ store, set: after, by: 'ci', signal: signal() });
      expect(after.manifest.items[0]?.tables?.notes).toBe(count(file));
      expect(count(file)).toBeGreaterThanOrEqual(counted);
    }
  });
});

describe('items that are not there', () => {
  it('skips an optional path that does not exist yet (a first deployment) and notes it; refuses a required one', async () => {
    const store = storeAt(path.join(dir, 'store-o'));
    const missing = path.join(dir, 'not-yet.db');
    const { set } = await backUp(store, [
      { kind: 'sqlite', path: missing, optional: true },
      { kind: 'files', path: appDir },
    ]);
    expect(set.manifest.items.map((i) => i.name)).toEqual(['files-app']);
    expect(set.manifest.skipped).toEqual([
      { kind: 'sqlite', source: missing, reason: 'does not exist (optional)' },
    ]);
    const error = await errorOf(() => backUp(store, [{ kind: 'sqlite', path: missing }]));
    expect(error.code).toBe('SLW_BACKUP_FAILED');
    expect(error.message).toBe(`sqlite-not-yet: no SQLite database at ${missing}`);
    // A path is data: no shell ever sees it.
    const marker = path.join(dir, 'pwned');
    const hostile = await errorOf(() => backUp(store, [{ kind: 'files', path: `$(touch ${marker})` }]));
    expect(hostile.code).toBe('SLW_BACKUP_FAILED');
    expect(existsSync(marker)).toBe(false);
    expect((await store.list()).map((s) => s.id)).toEqual([set.id]);
  });
});

describe('restore', () => {
  it('puts a SQLite database back as it was and audits it', async () => {
    const file = path.join(dir, 'restore-me.db');
    makeDb(file, 300);
    const store = storeAt(path.join(dir, 'store-r'));
    const { set } = await backUp(store, [{ kind: 'sqlite', path: file }]);
    const db = new Database(file);
    db.exec('DELETE FROM notes WHERE id > 100');
    db.close();
    expect(count(file)).toBe(100);

    const result = await restoreBackupSet({
      store,
      set,
      by: 'alice',
      targets: sqliteAt(file),
      signal: signal(),
    });
    expect(result.items).toEqual([
      { name: 'sqlite-restore-me', kind: 'sqlite', target: file, tables: { notes: 300, tags: 1 } },
    ]);
    expect(count(file)).toBe(300);
    const log = await store.auditLog();
    expect(log.map((l) => [l.by, l.set, l.outcome])).toEqual([
      ['alice', set.id, 'started'],
      ['alice', set.id, 'succeeded'],
    ]);
  });

  it('restores the newest verified backup of a database (what rollback of an irreversible migration uses)', async () => {
    const file = path.join(dir, 'migrated.db');
    makeDb(file, 50);
    const spec = { dir: path.join(dir, 'store-m'), keep: 10, maxAgeMs: 86_400_000 };
    const store = new BackupStore(spec, 'production');
    const good = (await backUp(store, [{ kind: 'sqlite', path: file }])).set;
    await verifyBackupSet({ store, set: good, by: 'ci', signal: signal() });
    makeDb(file, 25); // 75 rows: a newer backup exists but is not verified
    await backUp(store, [{ kind: 'sqlite', path: file }]);
    makeDb(file, 25);
    const result = await restoreNewestVerifiedBackup({
      store: spec,
      environment: 'production',
      database: { kind: 'sqlite', path: file },
      by: 'deployment 9 rollback',
      signal: signal(),
    });
    expect(result.set).toBe(good.id);
    expect(count(file)).toBe(50);

    const none = await errorOf(() =>
      restoreNewestVerifiedBackup({
        store: spec,
        environment: 'production',
        database: { kind: 'sqlite', path: path.join(dir, 'other.db') },
        by: 'x',
        signal: signal(),
      }),
    );
    expect(none.code).toBe('SLW_NO_VERIFIED_BACKUP');
  });

  it('restores nothing from a damaged set', async () => {
    const file = path.join(dir, 'keep-me.db');
    makeDb(file, 40);
    const store = storeAt(path.join(dir, 'store-k'));
    const { set } = await backUp(store, [{ kind: 'sqlite', path: file }]);
    await truncate(path.join(set.dir, 'sqlite-keep-me.sqlite'), 4096);
    makeDb(file, 2);
    const error = await errorOf(() =>
      restoreBackupSet({ store, set, by: 'alice', targets: sqliteAt(file), signal: signal() }),
    );
    expect(error.code).toBe('SLW_BACKUP_CORRUPT');
    expect(count(file)).toBe(42);
    expect((await readdir(path.dirname(file))).filter((n) => n.includes('slipway-restore'))).toEqual([]);
    expect((await store.auditLog()).at(-1)?.outcome).toBe('failed');
  });

  it('restores only into the configured database, never where an edited manifest points', async () => {
    const file = path.join(dir, 'configured.db');
    makeDb(file, 30);
    const elsewhere = path.join(dir, 'victim.db');
    makeDb(elsewhere, 5);
    const store = storeAt(path.join(dir, 'store-x'));
    const { set } = await backUp(store, [{ kind: 'sqlite', path: file }]);
    // Someone with write access to the store aims the item at another file.
    const manifestFile = path.join(set.dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.items[0].source = elsewhere;
    await writeFile(manifestFile, JSON.stringify(manifest));
    const edited = (await store.read(set.id))!;
    const error = await errorOf(() =>
      restoreBackupSet({ store, set: edited, by: 'mallory', targets: sqliteAt(file), signal: signal() }),
    );
    expect(error.code).toBe('SLW_RESTORE_FAILED');
    expect(error.message).toContain(
      `taken from ${elsewhere}, which no backup step of this environment backs up`,
    );
    expect(count(elsewhere)).toBe(5);
    expect(count(file)).toBe(30);
    expect((await store.auditLog()).at(-1)?.outcome).toBe('failed');
  });

  it('cleans up the temp file an interrupted restore left beside the database', async () => {
    const file = path.join(dir, 'leftover.db');
    makeDb(file, 10);
    const store = storeAt(path.join(dir, 'store-l'));
    const { set } = await backUp(store, [{ kind: 'sqlite', path: file }]);
    // What a restore killed mid-copy leaves (its process, 2^22 + 1, cannot exist), and one of a live restore.
    const dead = path.join(dir, `.leftover.db.slipway-restore-4194305-abcdef012345`);
    const live = path.join(dir, `.leftover.db.slipway-restore-${process.pid}-abcdef012345`);
    await writeFile(dead, 'half a database');
    await writeFile(live, 'another restore at work');
    const lines: string[] = [];
    await restoreBackupSet({
      store,
      set,
      by: 'alice',
      targets: sqliteAt(file),
      signal: signal(),
      output: (l) => lines.push(l),
    });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(lines.join('\n')).toContain(`removed ${path.basename(dead)}, left by an interrupted restore`);
    await rm(live);
  });

  it('refuses to replace a database that a connection still uses, changing nothing', async () => {
    const file = path.join(dir, 'in-use.db');
    makeDb(file, 20);
    const store = storeAt(path.join(dir, 'store-u'));
    const { set } = await backUp(store, [{ kind: 'sqlite', path: file }]);
    const app = new Database(file);
    app.exec("INSERT INTO notes (body) VALUES ('in the WAL')");
    app.exec('BEGIN');
    app.prepare('SELECT count(*) FROM notes').get(); // the running app, mid-read
    try {
      const error = await errorOf(() =>
        restoreBackupSet({ store, set, by: 'alice', targets: sqliteAt(file), signal: signal() }),
      );
      expect(error.code).toBe('SLW_RESTORE_FAILED');
      expect(error.message).toContain('the database is in use');
    } finally {
      app.exec('COMMIT');
      app.close();
    }
    expect(count(file)).toBe(21);
    expect((await readdir(dir)).filter((n) => n.startsWith('.in-use.db.slipway-restore-'))).toEqual([]);
  });

  it('extracts files items into a new folder only', async () => {
    const store = storeAt(path.join(dir, 'store-f'));
    const { set } = await backUp(store, [{ kind: 'files', path: appDir }]);
    const to = path.join(dir, 'restored-files');
    await restoreBackupSet({ store, set, by: 'alice', filesTo: to, signal: signal() });
    expect(await readFile(path.join(to, 'app', 'config', 'app.env'), 'utf8')).toBe('PORT=8080\n');
    const error = await errorOf(() =>
      restoreBackupSet({ store, set, by: 'alice', filesTo: to, signal: signal() }),
    );
    expect(error.code).toBe('SLW_RESTORE_FAILED');
    expect(error.message).toContain('not empty');
  });

  it('refuses a files archive with an entry that climbs out, even with a matching checksum, writing nothing', async () => {
    const store = storeAt(path.join(dir, 'store-t'));
    const { set } = await backUp(store, [{ kind: 'files', path: appDir }]);
    const work = await mkdtemp(path.join(dir, 'evil-'));
    await mkdir(path.join(work, 'inner'));
    await writeFile(path.join(work, 'escaped.txt'), 'owned\n');
    const archive = path.join(set.dir, 'files-app.tar.gz');
    await rm(archive);
    // GNU tar keeps `../` with -P: the archive holds inner/../escaped.txt as "../escaped.txt".
    execFileSync('tar', ['-czPf', archive, '-C', path.join(work, 'inner'), '../escaped.txt']);
    const { hashFile } = await import('../src/backup/hashed-file.js');
    const h = await hashFile(archive, signal());
    const manifestFile = path.join(set.dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    Object.assign(manifest.items[0], { sha256: h.sha256, sizeBytes: h.sizeBytes });
    await writeFile(manifestFile, JSON.stringify(manifest));
    const to = path.join(work, 'restored', 'here');
    const error = await errorOf(async () =>
      restoreBackupSet({
        store,
        set: (await store.read(set.id))!,
        by: 'alice',
        filesTo: to,
        signal: signal(),
      }),
    );
    expect(error.code).toBe('SLW_ARTIFACT_UNSAFE');
    expect(error.message).toContain('entry "../escaped.txt" has a ".." path segment');
    expect(existsSync(to)).toBe(false);
    const left = existsSync(path.join(work, 'restored')) ? await readdir(path.join(work, 'restored')) : [];
    expect(left).toEqual([]);
  });
});

/** A separate process inserting rows in small transactions until killed. */
function startWriter(file: string): ChildProcess {
  const code = `
    const Database = require(${JSON.stringify(BETTER_SQLITE3)});
    const db = new Database(${JSON.stringify(file)});
    db.pragma('busy_timeout = 60000');
    const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      db.transaction(() => { for (let i = 0; i < 20; i++) insert.run('live ' + Date.now()); })();
      Atomics.wait(pause, 0, 0, 1); // an app breathes between requests; a loop without pause starves every reader
    }
  `;
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
}

async function waitForRows(file: string, atLeast: number): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    try {
      if (count(file) >= atLeast) return;
    } catch {
      // busy: try again
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the writer did not reach ${atLeast} rows`);
}
