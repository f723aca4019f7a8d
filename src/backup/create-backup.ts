/** Takes one backup set: every item into a temp folder, the manifest last, fsync, rename into place; then retention. */

import { existsSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { fsyncPath } from '../targets/local/local-durable.js';
import { type BackupSetInfo, type BackupStore, writeJsonAtomically } from './backup-store.js';
import { archiveFiles } from './files-backup.js';
import {
  formatBytes,
  freeBytes,
  type HashedFile,
  hashFile,
  hashInChild,
  mbPerSecond,
} from './hashed-file.js';
import {
  type BackupManifest,
  backupSetId,
  MANIFEST_FILE,
  type ManifestItem,
  type SkippedItem,
} from './manifest.js';
import { dumpPostgres, pgConnection } from './postgres-backup.js';
import { runSqliteTask, SqliteTaskError } from './sqlite-worker.js';

/** An item with its templates rendered and its path made absolute. */
export type BackupSource =
  | { readonly kind: 'files'; readonly path: string; readonly optional?: boolean }
  | { readonly kind: 'sqlite'; readonly path: string; readonly optional?: boolean }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly password?: string;
      /** The secret's name when the password is `{{ secrets.NAME }}`: recorded so verify and restore can find it. */
      readonly passwordSecret?: string;
    };

export interface CreateBackupOptions {
  readonly store: BackupStore;
  readonly app: string;
  readonly deploymentId: number | null;
  readonly release: string | null;
  readonly items: readonly BackupSource[];
  readonly signal: AbortSignal;
  /** Progress lines. */
  readonly output?: (line: string) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface ItemStats {
  readonly name: string;
  readonly kind: string;
  readonly sizeBytes: number;
  readonly durationMs: number;
  readonly mbPerSecond: number;
  readonly tables?: Readonly<Record<string, number>>;
  /** SQLite: how the snapshot was copied (`file copy under a read lock` or `online backup API`). */
  readonly how?: string;
}

export interface CreateBackupResult {
  readonly set: BackupSetInfo;
  readonly items: readonly ItemStats[];
  /** Sets deleted by retention. */
  readonly pruned: readonly string[];
}

export async function createBackup(opts: CreateBackupOptions): Promise<CreateBackupResult> {
  const { store, signal } = opts;
  const say = opts.output ?? (() => undefined);
  const started = (opts.now ?? (() => new Date()))();
  const t0 = performance.now();
  const id = backupSetId(started, opts.deploymentId);
  const temp = await store.makeTemp(id);
  const names = new Set<string>();
  const items: ManifestItem[] = [];
  const stats: ItemStats[] = [];
  const skipped: SkippedItem[] = [];
  let current: { name: string; source: string } | undefined;
  try {
    for (const source of opts.items) {
      if (source.kind !== 'postgres' && source.optional && !existsSync(source.path)) {
        skipped.push({ kind: source.kind, source: source.path, reason: 'does not exist (optional)' });
        say(`${source.kind} ${source.path}: does not exist yet, skipped (optional)`);
        continue;
      }
      const name = uniqueName(itemName(source), names);
      const file = `${name}${EXTENSION[source.kind]}`;
      const dest = path.join(temp, file);
      const where = source.kind === 'postgres' ? pgConnection(source.url).display : source.path;
      current = { name, source: where };
      say(`${name}: backing up ${source.kind} ${where}`);
      const t = performance.now();
      const { how, ...item } = await backUpItem(source, name, file, dest, signal);
      const ms = performance.now() - t;
      items.push(item);
      stats.push({
        name,
        kind: source.kind,
        sizeBytes: item.sizeBytes,
        durationMs: Math.round(ms),
        mbPerSecond: mbPerSecond(item.sizeBytes, ms),
        ...(item.tables ? { tables: item.tables } : {}),
        ...(how ? { how } : {}),
      });
      say(
        `${name}: ${formatBytes(item.sizeBytes)} in ${(ms / 1000).toFixed(1)}s, sha256 ${item.sha256.slice(0, 12)}…`,
      );
    }
    current = undefined;
    const manifest: BackupManifest = {
      format: 1,
      id,
      app: opts.app,
      environment: store.environment,
      deploymentId: opts.deploymentId,
      release: opts.release,
      createdAt: started.toISOString(),
      durationMs: Math.round(performance.now() - t0),
      items,
      ...(skipped.length ? { skipped } : {}),
    };
    // The manifest is written last and the folder renamed only after everything is on disk:
    // a crash or a full disk leaves a temp folder, never a set that looks complete.
    await writeJsonAtomically(path.join(temp, MANIFEST_FILE), manifest);
    await fsyncPath(temp);
    signal.throwIfAborted();
    await store.commit(temp, id);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw await backupError(e, current, store.root, signal);
  }
  // The set is safe on disk: a retention problem is reported, never turned into a failed backup.
  let pruned: string[] = [];
  try {
    pruned = await store.prune(Date.now(), [id]);
    if (pruned.length) say(`retention: removed ${pruned.join(', ')}`);
  } catch (e) {
    say(`retention: could not remove old sets: ${(e as Error).message}`);
  }
  return { set: await store.get(id), items: stats, pruned };
}

const EXTENSION = { files: '.tar.gz', sqlite: '.sqlite', postgres: '.dump' } as const;

async function backUpItem(
  source: BackupSource,
  name: string,
  file: string,
  dest: string,
  signal: AbortSignal,
): Promise<ManifestItem & { how?: string }> {
  const base = { name, kind: source.kind, file };
  switch (source.kind) {
    case 'files': {
      const r = await archiveFiles(source.path, dest, signal);
      return { ...base, source: source.path, sizeBytes: r.sizeBytes, sha256: r.sha256, entry: r.entry };
    }
    case 'sqlite': {
      if (!existsSync(source.path)) {
        throw new SlipwayError('SLW_BACKUP_FAILED', `${name}: no SQLite database at ${source.path}`, {
          hint: "check the path (relative paths start at the process file's folder)",
        });
      }
      // The source is hashed (openssl, a child process) while the worker copies it under its read lock, which it
      // keeps until the hash is done: the same bytes, read on two cores at once. When that cannot be (the backup
      // API copied, no openssl), the copy itself is hashed after.
      const hold = new SharedArrayBuffer(4);
      const release = () => {
        Atomics.store(new Int32Array(hold), 0, 1);
        Atomics.notify(new Int32Array(hold), 0);
      };
      let ofSource: Promise<HashedFile | undefined> | undefined;
      let flushed: Promise<void> | undefined; // the copy goes to disk while the rows are counted
      const copy = await runSqliteTask({ op: 'backup', source: source.path, dest, hold }, signal, (event) => {
        if (event === 'locked') ofSource = hashInChild(source.path, signal).finally(release);
        if (event === 'copied') flushed = fsyncPath(dest);
        // Awaited below; an error of the task itself comes first.
        for (const p of [ofSource, flushed]) p?.catch(() => undefined);
      }).finally(release);
      const [tables, fromSource] = await Promise.all([
        copy.method === 'copy'
          ? copy.tables
          : runSqliteTask({ op: 'count', file: dest, tidy: true }, signal).then((r) => r.tables),
        copy.method === 'copy' && copy.heldForHash ? ofSource : undefined,
        flushed ?? fsyncPath(dest),
      ]);
      const h = fromSource ?? (await hashFile(dest, signal));
      await chmod(dest, 0o600);
      const how = copy.method === 'copy' ? 'file copy under a read lock' : 'online backup API';
      return { ...base, source: source.path, sizeBytes: h.sizeBytes, sha256: h.sha256, tables, how };
    }
    case 'postgres': {
      const conn = pgConnection(source.url, source.password);
      const r = await dumpPostgres(conn, dest, signal);
      return {
        ...base,
        source: conn.display,
        sizeBytes: r.sizeBytes,
        sha256: r.sha256,
        tables: r.tables,
        ...(source.passwordSecret ? { passwordSecret: source.passwordSecret } : {}),
      };
    }
  }
}

function itemName(source: BackupSource): string {
  if (source.kind === 'postgres') return `postgres-${pgConnection(source.url).database}`;
  const base = path.basename(source.path).replace(/\.(sqlite3?|db)$/i, '');
  return `${source.kind}-${base}`;
}

/** File-safe and unique in the set (`sqlite-notes`, `sqlite-notes-2`). */
function uniqueName(raw: string, taken: Set<string>): string {
  const clean = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'item';
  let name = clean;
  for (let n = 2; taken.has(name); n++) name = `${clean}-${n}`;
  taken.add(name);
  return name;
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Why a backup failed, naming the item; a full disk says how much room is left. */
async function backupError(
  e: unknown,
  item: { name: string; source: string } | undefined,
  root: string,
  signal: AbortSignal,
): Promise<unknown> {
  if (signal.aborted) return signal.reason;
  const what = item ? `${item.name} (${item.source})` : 'the backup set';
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  const full =
    (code !== undefined && DISK_FULL.has(code)) ||
    /No space left on device|database or disk is full/i.test(message);
  if (full) {
    const free = await freeBytes(root);
    return new SlipwayError(
      'SLW_BACKUP_FAILED',
      `backing up ${what}: the disk holding ${root} is full (${free === undefined ? 'unknown' : formatBytes(free)} free); the partial set was removed`,
      {
        hint: 'free space there, point backups.dir at a larger disk, or lower backups.keep / backups.maxAge',
        cause: e,
        details: { item: item?.name ?? null, freeBytes: free ?? null },
      },
    );
  }
  if (e instanceof SlipwayError) {
    if (e.code !== 'SLW_BACKUP_FAILED' || !item || e.message.startsWith(item.name)) return e;
    return new SlipwayError(e.code, `${item.name}: ${e.message}`, {
      ...(e.hint ? { hint: e.hint } : {}),
      cause: e,
    });
  }
  return new SlipwayError(
    'SLW_BACKUP_FAILED',
    `backing up ${what} failed: ${message}; the partial set was removed`,
    {
      hint:
        e instanceof SqliteTaskError
          ? 'check that the file is a SQLite database Slipway can read'
          : 'see the message above',
      cause: e,
    },
  );
}
