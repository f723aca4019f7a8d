/** A full disk while backing up (a real, small tmpfs as the backup store): a clear error, no set listed, no temp left. */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupStore } from '../src/backup/backup-store.js';
import { type BackupSource, createBackup } from '../src/backup/create-backup.js';
import { SlipwayError } from '../src/core/errors.js';
import { type PostgresServer, startPostgres } from './servers/postgres.js';

let dir: string;
let mountPoint: string;
let mounted = false;
let pg: PostgresServer | undefined;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root (as CI does)');
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-full-'));
  mountPoint = path.join(dir, 'small-disk');
  await mkdir(mountPoint);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mountPoint]);
  mounted = true;
});

afterAll(async () => {
  if (mounted) execFileSync('umount', [mountPoint]);
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function fullDiskError(items: BackupSource[]): Promise<SlipwayError> {
  const store = new BackupStore({ dir: mountPoint, keep: 5, maxAgeMs: 86_400_000 }, 'production');
  try {
    await createBackup({
      store,
      app: 'notes',
      deploymentId: 1,
      release: 'v1',
      items,
      signal: new AbortController().signal,
    });
  } catch (e) {
    if (!(e instanceof SlipwayError)) throw e;
    // Nothing that looks like a backup, and no temp folder filling the disk.
    expect(await store.list()).toEqual([]);
    expect(await readdir(store.root)).toEqual([]);
    return e;
  }
  throw new Error('the backup should not fit');
}

describe('backup onto a full disk', () => {
  it('SQLite: names the item and the free space, keeps no partial set', async () => {
    const file = path.join(dir, 'big.db');
    const db = new Database(file);
    db.exec('CREATE TABLE blobs (b BLOB)');
    const insert = db.prepare('INSERT INTO blobs VALUES (?)');
    for (let i = 0; i < 80; i++) insert.run(randomBytes(100_000));
    db.close();
    const error = await fullDiskError([{ kind: 'sqlite', path: file }]);
    expect(error.code).toBe('SLW_BACKUP_FAILED');
    expect(error.message).toContain('sqlite-big');
    expect(error.message).toMatch(/disk holding .* is full \(\d+(\.\d)? (B|KiB|MiB) free\)/);
    expect(error.hint).toContain('backups.dir');
  });

  it('files: the same for an archive that does not fit, after a small item that did', async () => {
    const small = path.join(dir, 'small.env');
    await writeFile(small, 'PORT=1\n');
    const big = path.join(dir, 'release');
    await mkdir(big);
    await writeFile(path.join(big, 'bundle.bin'), randomBytes(5_000_000));
    const error = await fullDiskError([
      { kind: 'files', path: small },
      { kind: 'files', path: big },
    ]);
    expect(error.code).toBe('SLW_BACKUP_FAILED');
    expect(error.message).toContain('files-release');
    expect(error.message).toContain('is full');
  });

  it('PostgreSQL: pg_dump output that does not fit', async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase('app');
    await pg.query(
      `CREATE TABLE noise AS SELECT md5(random()::text) || md5(random()::text) AS a FROM generate_series(1, 200000)`,
      [],
      'app',
    );
    const error = await fullDiskError([
      { kind: 'postgres', url: url.replace(/:\/\/([^:]+):[^@]+@/, '://$1@'), password: pg.password },
    ]);
    expect(error.code).toBe('SLW_BACKUP_FAILED');
    expect(error.message).toContain('postgres-app');
    expect(error.message).toContain('is full');
    expect(error.message).not.toContain(pg.password);
  });
});
