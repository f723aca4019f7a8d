/** `slipway backup list|verify|restore` as a user runs them (the CLI from source, no TTY). */

import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupStore } from '../src/backup/backup-store.js';
import { createBackup } from '../src/backup/create-backup.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = path.join(ROOT, 'node_modules/tsx/dist/loader.mjs');

let dir: string;
let db: string;
let setId: string;
let olderId: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, path.join(ROOT, 'src/cli/bin.ts'), ...args],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1', SLIPWAY_USER: 'alice' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

function rows(): number {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT count(*) FROM notes').pluck().get() as number;
  } finally {
    d.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-backup-cli-'));
  await mkdir(path.join(dir, 'data'));
  db = path.join(dir, 'data', 'notes.db');
  const d = new Database(db);
  d.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('a'), ('b')");
  d.close();
  await writeFile(
    path.join(dir, 'slipway.yaml'),
    `version: 1
app: notes
artifact: { path: app.tar.gz }
environments:
  staging:
    target: { root: ./staging }
  production:
    target: { root: ./prod }
    backups: { dir: ./backups }
phases:
  - id: backup
    steps:
      - id: backup
        backup:
          items:
            - sqlite: data/notes.db
            - files: data
`,
  );
  const store = new BackupStore(
    { dir: path.join(dir, 'backups'), keep: 10, maxAgeMs: 86_400_000 },
    'production',
  );
  const items = [
    { kind: 'sqlite' as const, path: db },
    { kind: 'files' as const, path: path.join(dir, 'data') },
  ];
  const make = async () =>
    (
      await createBackup({
        store,
        app: 'notes',
        deploymentId: 4,
        release: 'v3',
        items,
        signal: new AbortController().signal,
      })
    ).set.id;
  olderId = await make();
  setId = await make();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('slipway backup', () => {
  it('lists sets as a table and as JSON', async () => {
    const table = await cli(['backup', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ID\s+ENV\s+CREATED\s+RELEASE\s+SIZE\s+VERIFIED\s+ITEMS/);
    expect(table.stdout).toMatch(
      new RegExp(String.raw`${setId}\s+production\s+\S+ \S+\s+v3\s+[\d.]+ KiB\s+no`),
    );
    expect(table.stdout).toContain('sqlite-notes, files-data');
    const json = await cli(['backup', 'list', 'production', '--json']);
    const listed = JSON.parse(json.stdout);
    expect(listed.map((r: { id: string }) => r.id)).toEqual([setId, olderId]);
    expect(listed[0]).toMatchObject({
      environment: 'production',
      release: 'v3',
      deploymentId: 4,
      verified: false,
      items: [
        { name: 'sqlite-notes', kind: 'sqlite' },
        { name: 'files-data', kind: 'files' },
      ],
    });
    expect(listed[0].sizeBytes).toBeGreaterThan(0);
  });

  it('verifies a set and shows it as verified', async () => {
    const verify = await cli(['backup', 'verify', setId]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`✔ ${setId} verified: 2 items`);
    expect(verify.stderr).toContain('integrity_check ok');
    const listed = JSON.parse((await cli(['backup', 'list', '--json'])).stdout);
    expect(listed[0]).toMatchObject({ id: setId, verified: true });
  });

  it('reports a damaged set with exit 1 and the checksums', async () => {
    const store = new BackupStore(
      { dir: path.join(dir, 'backups'), keep: 10, maxAgeMs: 86_400_000 },
      'production',
    );
    const set = await store.get(olderId);
    const fh = await open(path.join(set.dir, 'files-data.tar.gz'), 'r+');
    await fh.write(Buffer.from('XXXX'), 0, 4, 10);
    await fh.close();
    const verify = await cli(['backup', 'verify', olderId]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain('SLW_BACKUP_CORRUPT');
    expect(verify.stderr).toContain(`files-data): SHA-256 expected ${set.manifest.items[1]?.sha256}, found`);
    const json = JSON.parse((await cli(['backup', 'list', '--json'])).stdout);
    expect(json[1]).toMatchObject({ id: olderId, verified: false });
    expect(json[1].verifyFailed).toContain('SHA-256 expected');
  });

  it('refuses to restore without a terminal and without --yes, changing nothing', async () => {
    const d = new Database(db);
    d.exec("INSERT INTO notes VALUES ('c')");
    d.close();
    const refused = await cli(['backup', 'restore', setId, '--item', 'sqlite-notes']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('SLW_CONFIRMATION_REQUIRED');
    expect(refused.stderr).toContain(`sqlite-notes → ${db}`);
    expect(refused.stderr).toContain('--yes');
    expect(rows()).toBe(3);
  });

  it('asks on a terminal, and does nothing unless the answer is "yes"', async () => {
    // `script` gives the CLI a real pseudo-terminal; the answer is typed into it.
    const onTty = (answer: string) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        const command = [
          process.execPath,
          '--import',
          TSX,
          path.join(ROOT, 'src/cli/bin.ts'),
          'backup',
          'restore',
          setId,
          '--item',
          'sqlite-notes',
        ]
          .map((a) => `'${a}'`)
          .join(' ');
        const child = spawn('script', ['-qec', command, '/dev/null'], {
          cwd: dir,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: dir,
            NO_COLOR: '1',
            SLIPWAY_USER: 'alice',
            TERM: 'dumb',
          },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Type "yes" to restore:') && !child.stdin.writableEnded)
            child.stdin.end(`${answer}\n`);
        });
        child.once('close', (code) => resolve({ code: code ?? 1, out }));
      });
    expect(rows()).toBe(3); // the row the previous test added
    const no = await onTty('no');
    expect(no.out).toContain(`This will restore backup set ${setId}`);
    expect(no.out).toContain('SLW_CONFIRMATION_REQUIRED');
    expect(no.code).toBe(2);
    expect(rows()).toBe(3);
    const yes = await onTty('yes');
    expect(yes.out).toContain(`✔ restored ${setId}`);
    expect(yes.code).toBe(0);
    expect(rows()).toBe(2);
  });

  it('restores with --yes, and audits it', async () => {
    const restored = await cli(['backup', 'restore', setId, '--item', 'sqlite-notes', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`✔ restored ${setId}`);
    expect(rows()).toBe(2);
    const store = new BackupStore(
      { dir: path.join(dir, 'backups'), keep: 10, maxAgeMs: 86_400_000 },
      'production',
    );
    expect((await store.auditLog()).slice(-2).map((a) => [a.by, a.set, a.items, a.outcome])).toEqual([
      ['alice', setId, ['sqlite-notes'], 'started'],
      ['alice', setId, ['sqlite-notes'], 'succeeded'],
    ]);
  });

  it('leaves the old SQLite database intact when the restoring process is killed mid-way', async () => {
    // A bigger database, so the copy and check beside it take a while.
    const big = new Database(db);
    big.exec('CREATE TABLE IF NOT EXISTS filler (b BLOB)');
    const insert = big.prepare('INSERT INTO filler VALUES (randomblob(4000))');
    big.transaction(() => {
      for (let i = 0; i < 10_000; i++) insert.run();
    })();
    big.close();
    const store = new BackupStore(
      { dir: path.join(dir, 'backups'), keep: 10, maxAgeMs: 86_400_000 },
      'production',
    );
    const { set } = await createBackup({
      store,
      app: 'notes',
      deploymentId: 5,
      release: 'v4',
      items: [{ kind: 'sqlite', path: db }],
      signal: new AbortController().signal,
    });
    const live = new Database(db);
    live.exec("DELETE FROM notes; INSERT INTO notes VALUES ('only')");
    live.close();
    const child = spawn(
      process.execPath,
      ['--import', TSX, path.join(ROOT, 'src/cli/bin.ts'), 'backup', 'restore', set.id, '--yes'],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1' }, stdio: 'ignore' },
    );
    const exited = new Promise((r) => child.once('exit', r));
    // Killed the moment its temp copy appears beside the database: mid-restore.
    const deadline = Date.now() + 30_000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      seen = (await readdir(path.dirname(db))).some((n) => n.includes('.slipway-restore-'));
      if (!seen) await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await exited;
    expect(seen).toBe(true);
    expect(rows()).toBe(1);
    const check = new Database(db, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    // The next restore removes the half-written copy the killed one left beside the database.
    const leftovers = () =>
      readdir(path.dirname(db)).then((n) => n.filter((f) => f.includes('.slipway-restore-')));
    expect(await leftovers()).not.toEqual([]);
    const again = await cli(['backup', 'restore', set.id, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(`${again.stdout}${again.stderr}`).toContain('left by an interrupted restore');
    expect(await leftovers()).toEqual([]);
  });

  it('says what is wrong with a bad id or item', async () => {
    const missing = await cli(['backup', 'verify', '20200101T000000000Z-d1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('SLW_BACKUP_NOT_FOUND');
    const item = await cli(['backup', 'restore', setId, '--item', 'nope', '--yes']);
    expect(item.code).toBe(2);
    expect(item.stderr).toContain('has no item "nope"');
    expect(item.stderr).toContain('sqlite-notes, files-data');
    const files = await cli(['backup', 'restore', setId, '--item', 'files-data', '--yes']);
    expect(files.code).toBe(2);
    expect(files.stderr).toContain('--to');
  });
});
