/** Verifies a backup set: every file against its manifest checksum, then a test restore per item into a scratch location. */

import { rm } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { BackupSetInfo, BackupStore } from './backup-store.js';
import { checkArchive } from './files-backup.js';
import { formatBytes, hashFile } from './hashed-file.js';
import type { ItemCheck, ManifestItem, VerifiedRecord } from './manifest.js';
import { assertSameCounts, pgConnection, testRestorePostgres } from './postgres-backup.js';
import { runSqliteTask } from './sqlite-worker.js';
import { requireTarget, type TargetLookup } from './targets.js';

export interface VerifySetOptions {
  readonly store: BackupStore;
  readonly set: BackupSetInfo;
  /** Recorded in verified.json: `deployment 12 production.verify` or a person's name. */
  readonly by: string;
  /** The configured databases: a postgres item is test-restored on its configured server only. */
  readonly targets?: TargetLookup;
  readonly signal: AbortSignal;
  readonly output?: (line: string) => void;
}

/**
 * Checks every item and records the outcome in the set: `verified.json` when all passed; `verify-failed.json` (and
 * no `verified.json`) when an item's content is wrong, thrown as SLW_BACKUP_CORRUPT naming the item. A failure of
 * the surroundings (a database server that cannot be reached) throws SLW_BACKUP_FAILED and records nothing.
 */
export async function verifyBackupSet(opts: VerifySetOptions): Promise<VerifiedRecord> {
  const { store, set, signal } = opts;
  const say = opts.output ?? (() => undefined);
  const t0 = performance.now();
  const checks: ItemCheck[] = [];
  for (const item of set.manifest.items) {
    signal.throwIfAborted();
    try {
      const check = await verifyItem(set, item, opts);
      checks.push(check);
      say(
        `${item.name}: ${check.restore} (${formatBytes(item.sizeBytes)} in ${(check.durationMs / 1000).toFixed(1)}s)`,
      );
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      const corrupt = e instanceof SlipwayError && e.code === 'SLW_BACKUP_CORRUPT';
      const error = corrupt
        ? e
        : e instanceof SlipwayError
          ? e
          : new SlipwayError(
              'SLW_BACKUP_FAILED',
              `${item.name}: verification could not run: ${(e as Error).message}`,
              {
                cause: e,
              },
            );
      if (corrupt) {
        await store.markVerifyFailed(set.id, {
          failedAt: new Date().toISOString(),
          by: opts.by,
          item: item.name,
          error: error.message,
        });
      }
      throw error;
    }
  }
  const record: VerifiedRecord = {
    verifiedAt: new Date().toISOString(),
    by: opts.by,
    durationMs: Math.round(performance.now() - t0),
    items: checks,
  };
  await store.markVerified(set.id, record);
  return record;
}

async function verifyItem(
  set: BackupSetInfo,
  item: ManifestItem,
  opts: VerifySetOptions,
): Promise<ItemCheck> {
  const { signal } = opts;
  const file = path.join(set.dir, item.file);
  const t = performance.now();
  const base = { name: item.name, kind: item.kind, sizeBytes: item.sizeBytes, sha256: 'ok' as const };
  const done = (
    rest: Omit<ItemCheck, 'name' | 'kind' | 'sizeBytes' | 'sha256' | 'durationMs'>,
  ): ItemCheck => ({
    ...base,
    ...rest,
    durationMs: Math.round(performance.now() - t),
  });

  if (item.kind === 'sqlite') {
    // Test-opened where it lies, read-only (SQLite writes nothing to it; the checksum taken over the same bytes at
    // the same time proves that), in three threads at once: checksum, integrity check, row counts. A scratch copy
    // would cost a full write of the database and prove nothing more; `restore` does copy, beside the target.
    // -wal/-shm beside it (a verification killed mid-way, or planted) would be read as part of the database.
    await tidySqlite(file);
    const checked = Promise.all([
      runSqliteTask({ op: 'integrity', file }, signal),
      runSqliteTask({ op: 'count', file, tidy: false }, signal),
    ]).catch((e: Error) => {
      throw corrupt(set, item, `the file does not open as a SQLite database: ${e.message}`);
    });
    const hashed = readable(item, () => hashFile(file, signal));
    const [h, r] = await Promise.allSettled([hashed, checked]);
    // The read-only opens of a WAL database leave empty -wal/-shm files: not part of the set.
    await tidySqlite(file);
    if (h.status === 'rejected') throw h.reason;
    // A wrong checksum explains everything else: report it first.
    assertChecksum(set, item, h.value);
    if (r.status === 'rejected') throw r.reason;
    const [integrity, counted] = r.value;
    if (integrity.integrity?.length !== 1 || integrity.integrity[0] !== 'ok') {
      throw corrupt(
        set,
        item,
        `PRAGMA integrity_check: ${(integrity.integrity ?? []).slice(0, 5).join('; ')}`,
      );
    }
    assertSameCounts(item.tables ?? {}, counted.tables, `${set.id}/${item.name}`);
    return done({
      restore: `opened read-only; integrity_check ok; ${Object.keys(counted.tables).length} table row counts match`,
      tables: counted.tables,
    });
  }

  const h = await readable(item, () => hashFile(file, signal));
  assertChecksum(set, item, h);
  if (item.kind === 'files') {
    const listing = await checkArchive(file, signal).catch((e: Error) => {
      throw corrupt(set, item, `the archive does not read: ${e.message}`);
    });
    return done({ restore: `archive lists cleanly (${listing.entries} entries)`, entries: listing.entries });
  }
  const target = requireTarget(
    opts.targets,
    set.id,
    { ...item, kind: 'postgres' },
    'test-restore it',
    'SLW_BACKUP_FAILED',
  );
  const conn = pgConnection(target.url, target.password);
  let restored: { tables: Record<string, number>; database: string };
  try {
    restored = await testRestorePostgres(conn, file, signal);
  } catch (e) {
    if (e instanceof SlipwayError) throw e;
    if (signal.aborted) throw signal.reason;
    throw corrupt(set, item, `pg_restore into a temporary database failed: ${(e as Error).message}`);
  }
  assertSameCounts(item.tables ?? {}, restored.tables, `${set.id}/${item.name}`);
  return done({
    restore: `pg_restore into temporary database ${restored.database} (dropped); ${Object.keys(restored.tables).length} table row counts match`,
    tables: restored.tables,
  });
}

async function tidySqlite(file: string): Promise<void> {
  await rm(`${file}-wal`, { force: true });
  await rm(`${file}-shm`, { force: true });
}

/** A missing file is corruption of the set, not an internal error. */
async function readable<T>(item: ManifestItem, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SlipwayError(
        'SLW_BACKUP_CORRUPT',
        `${item.name}: the file ${item.file} is missing from the set`,
        {
          hint: 'the set is incomplete; take a new backup',
        },
      );
    }
    throw e;
  }
}

/** SLW_BACKUP_CORRUPT naming the item and both checksums (and a truncation) unless the file is what the manifest says. */
export function assertChecksum(
  set: BackupSetInfo,
  item: ManifestItem,
  actual: { sha256: string; sizeBytes: number },
): void {
  if (actual.sha256 === item.sha256 && actual.sizeBytes === item.sizeBytes) return;
  const truncated =
    actual.sizeBytes < item.sizeBytes ? ` — truncated: ${actual.sizeBytes} of ${item.sizeBytes} bytes` : '';
  const size =
    actual.sizeBytes !== item.sizeBytes && !truncated
      ? ` — ${actual.sizeBytes} bytes, expected ${item.sizeBytes}`
      : '';
  throw new SlipwayError(
    'SLW_BACKUP_CORRUPT',
    `${set.id}/${item.file} (${item.name}): SHA-256 expected ${item.sha256}, found ${actual.sha256}${truncated}${size}`,
    {
      hint: 'the file changed after the backup was taken (disk error, tampering, a copy cut short): do not restore it; take a new backup',
      details: { item: item.name, expectedSha256: item.sha256, actualSha256: actual.sha256 },
    },
  );
}

function corrupt(set: BackupSetInfo, item: ManifestItem, why: string): SlipwayError {
  return new SlipwayError('SLW_BACKUP_CORRUPT', `${set.id}/${item.name}: ${why}`, {
    hint: 'do not restore this set; take a new backup',
    details: { item: item.name },
  });
}
