/**
 * Restores from a backup set, safely: checksums first, then SQLite into a temp file beside the target (integrity
 * check, row counts, atomic rename), PostgreSQL into a new database swapped in by rename, files into a new folder.
 * An interrupted restore leaves the old database as it was. Every restore is audited in the store's restores.log.
 */

import { existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { BackupStoreSpec } from '../core/process.js';
import { fsyncPath, randomSuffix } from '../targets/local/local-durable.js';
import { type BackupSetInfo, BackupStore, isVerified, type RestoreAuditEntry } from './backup-store.js';
import { restoreFiles } from './files-backup.js';
import { copyHashed, hashFile } from './hashed-file.js';
import type { ManifestItem } from './manifest.js';
import { assertSameCounts, pgConnection, restorePostgres } from './postgres-backup.js';
import { runSqliteTask } from './sqlite-worker.js';
import { requireTarget, type TargetLookup, targetLookup } from './targets.js';
import { assertChecksum } from './verify-set.js';

export interface RestoreSetOptions {
  readonly store: BackupStore;
  readonly set: BackupSetInfo;
  /** Item names to restore. @default every item of the set */
  readonly items?: readonly string[];
  /** Who restores, for the audit log. */
  readonly by: string;
  /** The configured databases: items are restored into these only, never where a manifest says. */
  readonly targets?: TargetLookup;
  /** Folder `files` items are extracted into (must not exist or be empty); required when one is restored. */
  readonly filesTo?: string;
  readonly signal: AbortSignal;
  readonly output?: (line: string) => void;
}

export interface RestoredItem {
  readonly name: string;
  readonly kind: ManifestItem['kind'];
  /** What was replaced or written: a file, a database URL, a folder. */
  readonly target: string;
  readonly tables?: Readonly<Record<string, number>>;
  /** E.g. where the replaced PostgreSQL database is kept. */
  readonly note?: string;
}

export interface RestoreResult {
  readonly set: string;
  readonly createdAt: string;
  readonly items: readonly RestoredItem[];
}

export async function restoreBackupSet(opts: RestoreSetOptions): Promise<RestoreResult> {
  const { store, set, signal } = opts;
  const say = opts.output ?? (() => undefined);
  const chosen = chooseItems(set, opts.items);
  if (chosen.some((i) => i.kind === 'files') && opts.filesTo === undefined) {
    throw new SlipwayError('SLW_USAGE', `set ${set.id} has files items: say where to put them`, {
      hint: 'pass --to <new folder> (live release folders are never overwritten), or --item with database items only',
    });
  }
  const names = chosen.map((i) => i.name);
  const audit = (outcome: RestoreAuditEntry['outcome'], detail?: string) =>
    store.audit({
      at: new Date().toISOString(),
      by: opts.by,
      set: set.id,
      items: names,
      outcome,
      ...(detail === undefined ? {} : { detail }),
    });
  await audit('started');
  const restored: RestoredItem[] = [];
  try {
    for (const item of chosen) {
      signal.throwIfAborted();
      say(`${item.name}: restoring ${item.kind} → ${item.kind === 'files' ? opts.filesTo : item.source}`);
      restored.push(await restoreItem(set, item, opts));
    }
  } catch (e) {
    const error = restoreError(e, signal);
    await audit('failed', error instanceof Error ? error.message : String(error)).catch(() => undefined);
    throw error;
  }
  await audit(
    'succeeded',
    restored.map((r) => `${r.name} → ${r.target}${r.note ? ` (${r.note})` : ''}`).join('; '),
  );
  return { set: set.id, createdAt: set.manifest.createdAt, items: restored };
}

export interface RestoreNewestOptions {
  readonly store: BackupStoreSpec;
  readonly environment: string;
  /**
   * The database to put back, as the backup step named it: a SQLite file (absolute path) or a PostgreSQL URL
   * (compared by host, port and database; its password is used to connect).
   */
  readonly database:
    | { readonly kind: 'sqlite'; readonly path: string }
    | { readonly kind: 'postgres'; readonly url: string; readonly password?: string };
  /** Who restores, for the audit log, e.g. `deployment 12 rollback`. */
  readonly by: string;
  /** Only sets taken at or before this instant (ISO-8601), e.g. when the irreversible migration started. */
  readonly notAfter?: string;
  readonly signal: AbortSignal;
  readonly output?: (line: string) => void;
}

/**
 * Restores one database from the newest *verified* backup set that holds it (used when a deployment that ran an
 * irreversible migration is rolled back). Throws SLW_NO_VERIFIED_BACKUP when no verified set holds it.
 */
export async function restoreNewestVerifiedBackup(opts: RestoreNewestOptions): Promise<RestoreResult> {
  const store = new BackupStore(opts.store, opts.environment);
  const want = opts.database;
  const targets = targetLookup([want]);
  const matches = (i: ManifestItem) => targets(i) !== undefined;
  const limit = opts.notAfter === undefined ? Number.POSITIVE_INFINITY : Date.parse(opts.notAfter);
  const set = (await store.list()).find(
    (s) => isVerified(s) && Date.parse(s.manifest.createdAt) <= limit && s.manifest.items.some(matches),
  );
  const shown = want.kind === 'sqlite' ? path.resolve(want.path) : pgConnection(want.url).display;
  if (!set) {
    throw new SlipwayError(
      'SLW_NO_VERIFIED_BACKUP',
      `no verified backup of ${shown} in ${store.root}${opts.notAfter ? ` taken before ${opts.notAfter}` : ''}`,
      { hint: 'add backup and verify-backup steps before the step that changes the database' },
    );
  }
  const item = set.manifest.items.find(matches) as ManifestItem;
  return restoreBackupSet({
    store,
    set,
    items: [item.name],
    by: opts.by,
    targets,
    signal: opts.signal,
    ...(opts.output ? { output: opts.output } : {}),
  });
}

function chooseItems(set: BackupSetInfo, names: readonly string[] | undefined): ManifestItem[] {
  if (names === undefined || names.length === 0) return [...set.manifest.items];
  const known = set.manifest.items.map((i) => i.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new SlipwayError(
      'SLW_USAGE',
      `set ${set.id} has no item ${unknown.map((n) => `"${n}"`).join(', ')}`,
      {
        hint: `its items: ${known.join(', ')}`,
      },
    );
  }
  return set.manifest.items.filter((i) => names.includes(i.name));
}

async function restoreItem(
  set: BackupSetInfo,
  item: ManifestItem,
  opts: RestoreSetOptions,
): Promise<RestoredItem> {
  const { signal } = opts;
  const file = path.join(set.dir, item.file);
  const base = { name: item.name, kind: item.kind };
  if (item.kind === 'sqlite') {
    const target = requireTarget(opts.targets, set.id, { ...item, kind: 'sqlite' }, 'restore it');
    return { ...base, ...(await restoreSqlite(set, item, file, target.path, opts)) };
  }
  // Nothing is touched unless the bytes are the ones the manifest promises.
  const h = await hashFile(file, signal);
  assertChecksum(set, item, h);
  if (item.kind === 'files') {
    const to = path.resolve(opts.filesTo as string);
    await restoreFiles(file, to, signal);
    return { ...base, target: to };
  }
  const target = requireTarget(opts.targets, set.id, { ...item, kind: 'postgres' }, 'restore it');
  const conn = pgConnection(target.url, target.password);
  const r = await restorePostgres(conn, file, item.tables, signal, (l) =>
    opts.output?.(`${item.name}: ${l}`),
  );
  return {
    ...base,
    target: conn.display,
    tables: r.tables,
    note: `the replaced database is kept as ${r.keptAs}`,
  };
}

/**
 * Copies the backup beside the target (same file system, so the final rename is atomic), checks the copy, empties
 * the old database's WAL into it and only then renames the copy over it. Killed at any moment before that rename,
 * the old file is as it was.
 */
async function restoreSqlite(
  set: BackupSetInfo,
  item: ManifestItem,
  file: string,
  target: string,
  opts: RestoreSetOptions,
): Promise<{ target: string; tables: Record<string, number> }> {
  const { signal } = opts;
  await removeDeadTemps(target, (l) => opts.output?.(`${item.name}: ${l}`));
  // The restoring process's id in the name tells the next restore whether this temp file is still being written.
  const temp = path.join(path.dirname(target), `${tempPrefix(target)}${process.pid}-${randomSuffix()}`);
  try {
    const h = await copyHashed(file, temp, signal);
    assertChecksum(set, item, h);
    const check = await runSqliteTask({ op: 'check', file: temp }, signal);
    if (check.integrity?.length !== 1 || check.integrity[0] !== 'ok') {
      throw new SlipwayError(
        'SLW_BACKUP_CORRUPT',
        `${set.id}/${item.name}: integrity_check failed: ${(check.integrity ?? []).slice(0, 3).join('; ')}`,
      );
    }
    assertSameCounts(item.tables ?? {}, check.tables, `${set.id}/${item.name}`);
    // The old WAL would be replayed onto the new file: fold it into the old one first, then it can go. A checkpoint
    // that cannot finish means a connection is open: its app would go on writing into the replaced file, unseen.
    if (existsSync(target)) await runSqliteTask({ op: 'checkpoint', file: target }, signal);
    signal.throwIfAborted();
    await rm(`${target}-wal`, { force: true });
    await rm(`${target}-shm`, { force: true });
    await rename(temp, target);
    await fsyncPath(path.dirname(target));
    return { target, tables: check.tables };
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

const tempPrefix = (target: string) => `.${path.basename(target)}.slipway-restore-`;

/** Removes temp copies beside `target` whose restoring process is gone (killed mid-way): they are never used again. */
async function removeDeadTemps(target: string, say: (line: string) => void): Promise<void> {
  const prefix = tempPrefix(target);
  const names = await readdir(path.dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-[0-9a-f]+(-wal|-shm|-journal)?$/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    await rm(path.join(path.dirname(target), name), { force: true });
    say(`removed ${name}, left by an interrupted restore`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function restoreError(e: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (e instanceof SlipwayError) {
    if (e.code === 'SLW_BACKUP_FAILED')
      return new SlipwayError('SLW_RESTORE_FAILED', e.message, {
        cause: e,
        ...(e.hint ? { hint: e.hint } : {}),
      });
    return e;
  }
  return new SlipwayError(
    'SLW_RESTORE_FAILED',
    `restore failed: ${(e as Error).message}; what it was restoring into is unchanged`,
    {
      cause: e,
    },
  );
}
