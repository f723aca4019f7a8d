/**
 * SQLite work that takes seconds per GB (online backup, integrity check, row counts) in a worker thread, so the
 * runner's event loop keeps renewing its lease and drawing progress meanwhile.
 */

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export type SqliteTask =
  /**
   * A consistent copy of `source` in the new file `dest` and its row counts from the same snapshot: a plain file
   * copy under a read lock when that is exact (see WORKER_SOURCE), else SQLite's online backup API in one step.
   * Posts the event `locked` when the snapshot is taken and `source` will not change until `hold` is set (copy
   * only), and `copied` as soon as `dest` is complete, before counting.
   */
  | {
      readonly op: 'backup';
      readonly source: string;
      readonly dest: string;
      /** Int32 0 until the caller has finished reading `source` after the event `locked`; then set to 1. */
      readonly hold: SharedArrayBuffer;
    }
  /** Row counts of every table of `file` (our own copy), opened read-only; `tidy` removes the -wal/-shm the open left. */
  | { readonly op: 'count'; readonly file: string; readonly tidy: boolean }
  /** `PRAGMA integrity_check` of `file` alone, read-only (its -wal/-shm are left: the caller removes the folder). */
  | { readonly op: 'integrity'; readonly file: string }
  /** `PRAGMA integrity_check` and row counts of `file`, opened read-only; its -wal/-shm are removed after. */
  | { readonly op: 'check'; readonly file: string }
  /** Empties the write-ahead log of `file` into it (before a restore replaces the file); fails when in use. */
  | { readonly op: 'checkpoint'; readonly file: string };

export interface SqliteTaskResult {
  /** Rows per table (`backup`: counted in the snapshot copied, only when `method` is `copy`). */
  readonly tables: Record<string, number>;
  /** `backup`: `copy` (file copied under a read lock, counted in that snapshot) or `backup-api`. */
  readonly method?: 'copy' | 'backup-api';
  /** `copy`: the read lock was held until the caller released it (false: it gave up waiting). */
  readonly heldForHash?: boolean;
  /** `check`: the integrity check's lines ("ok" when sound). */
  readonly integrity?: readonly string[];
}

// Plain CommonJS run by `new Worker(…, { eval: true })`: no TypeScript loader is needed in the thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const task = workerData.task;
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
// A read-only connection to a WAL database leaves empty -wal/-shm files: ours to tidy, they belong to our copies.
const tidy = (file) => { fs.rmSync(file + '-wal', { force: true }); fs.rmSync(file + '-shm', { force: true }); };
const quote = (name) => '"' + name.replace(/"/g, '""') + '"';
const countRows = (db) => {
  const tables = {};
  const names = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\\\_%' ESCAPE '\\\\' ORDER BY name")
    .pluck()
    .all();
  for (const name of names) tables[name] = db.prepare('SELECT count(*) FROM ' + quote(name)).pluck().get();
  return tables;
};
// The database file alone is the snapshot while this connection holds its read transaction when (a) the database
// is not in WAL mode: writers need an EXCLUSIVE lock to write the file, which our SHARED lock keeps out; or (b) it is
// in WAL mode and the WAL is empty when the read starts: the reader then reads the file only (read mark 0), and no
// checkpoint may write WAL frames into the file while a mark-0 reader lives (it needs WAL_READ_LOCK(0) exclusively).
// Then a kernel file copy (copy_file_range: no trip through user space, about twice as fast as the backup API) is
// exact, and the rows are counted in the same snapshot. Otherwise: undefined, and the backup API does the copy.
// The copy runs in a child process: closing any descriptor of the file in this process would drop every POSIX lock
// this process holds on it, our read lock included (SQLite's documented "close() releases locks" pitfall).
const copyFile = (source, dest) => {
  try {
    execFileSync('cp', ['--', source, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
    return true;
  } catch (e) {
    if (e.code === 'ENOENT' && e.status === undefined) return false; // no cp here: the backup API copies instead
    const why = String((e.stderr && e.stderr.toString()) || e.message).trim();
    const error = new Error('copying ' + source + ': ' + why);
    if (/No space left on device/.test(why)) error.code = 'ENOSPC';
    throw error;
  }
};
const snapshotCopy = (db) => {
  const wal = db.pragma('journal_mode', { simple: true }) === 'wal';
  if (wal) {
    db.pragma('busy_timeout = 1000'); // an app's long readers must not hold the backup up: fall back instead
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('busy_timeout = 30000');
    if (!r || r.busy !== 0) return undefined;
  }
  db.exec('BEGIN');
  let held = false;
  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // the read lock: the snapshot starts here
    // A frame written between the checkpoint and our read: the file alone is not our snapshot.
    if (wal && fs.statSync(task.source + '-wal', { throwIfNoEntry: false })?.size !== 0) return undefined;
    // The file cannot change until we let go: the caller may hash it meanwhile (in a child process), on another
    // core while the copy runs, and says when it is done through \`hold\`.
    held = true;
    parentPort.postMessage({ event: 'locked' });
    if (!copyFile(task.source, task.dest)) return undefined;
    parentPort.postMessage({ event: 'copied' });
    const tables = countRows(db);
    const heldForHash = waitForRelease();
    held = false;
    return { tables, method: 'copy', heldForHash };
  } finally {
    if (held) waitForRelease();
    db.exec('COMMIT');
  }
};
/** Waits (at most HOLD_MS) for the caller to set \`hold\`; true when it did. */
const HOLD_MS = 15 * 60 * 1000;
const waitForRelease = () => {
  const hold = new Int32Array(task.hold);
  return Atomics.wait(hold, 0, 0, HOLD_MS) !== 'timed-out';
};
(async () => {
  let result;
  try {
    if (task.op === 'backup') {
      // Read-write, like any of the app's connections: after an app crash only such a connection may recover the
      // WAL index or roll back a hot journal (a read-only one fails). Nothing is written to the data.
      const db = new Database(task.source, { fileMustExist: true, timeout: 30000 });
      try {
        result = snapshotCopy(db);
        if (!result) {
          // All pages in one step: a writer in another process cannot restart the copy half-way.
          await db.backup(task.dest, { progress: () => 0x7fffffff });
          parentPort.postMessage({ event: 'copied' });
          result = { tables: {}, method: 'backup-api' };
        }
      } finally {
        db.close();
      }
    } else if (task.op === 'count') {
      const db = new Database(task.file, { readonly: true, fileMustExist: true });
      try {
        result = { tables: countRows(db) };
      } finally {
        db.close();
        if (task.tidy) tidy(task.file);
      }
    } else if (task.op === 'integrity') {
      const db = new Database(task.file, { readonly: true, fileMustExist: true });
      try {
        result = { tables: {}, integrity: db.pragma('integrity_check', { simple: false }).map((r) => String(Object.values(r)[0])) };
      } finally {
        db.close();
      }
    } else if (task.op === 'check') {
      const db = new Database(task.file, { readonly: true, fileMustExist: true });
      try {
        const integrity = db.pragma('integrity_check', { simple: false }).map((r) => String(Object.values(r)[0]));
        const tables = integrity.length === 1 && integrity[0] === 'ok' ? countRows(db) : {};
        result = { integrity, tables };
      } finally {
        db.close();
        tidy(task.file);
      }
    } else {
      const db = new Database(task.file, { fileMustExist: true });
      try {
        db.pragma('busy_timeout = 2000');
        const [r] = db.pragma('wal_checkpoint(TRUNCATE)');
        if (r && r.busy !== 0) {
          const e = new Error('the database is in use (its write-ahead log could not be emptied): stop the app first');
          e.code = 'SQLITE_BUSY';
          throw e;
        }
        result = { tables: {} };
      } finally {
        db.close();
      }
    }
  } catch (e) {
    parentPort.postMessage({ ok: false, message: String(e && e.message || e), code: e && e.code });
    return;
  }
  // Only once every file is closed and tidied: the thread is terminated as soon as the answer arrives.
  parentPort.postMessage({ ok: true, result });
})();
`;

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/** An error from SQLite in the worker, with its code (e.g. `SQLITE_FULL`, `SQLITE_CORRUPT`). */
export class SqliteTaskError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SqliteTaskError';
  }
}

/** Runs `task` in a worker thread; `onEvent` hears its progress events (`copied`). */
export function runSqliteTask(
  task: SqliteTask,
  signal: AbortSignal,
  onEvent: (event: string) => void = () => undefined,
): Promise<SqliteTaskResult> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: BETTER_SQLITE3, task } });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    type Message = {
      event?: string;
      ok?: boolean;
      result?: SqliteTaskResult;
      message?: string;
      code?: string;
    };
    worker.on('message', (m: Message) =>
      m.event !== undefined
        ? onEvent(m.event)
        : finish(() =>
            m.ok
              ? resolve(m.result as SqliteTaskResult)
              : reject(new SqliteTaskError(m.message ?? 'failed', m.code)),
          ),
    );
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`the SQLite worker stopped (exit ${code}) before it answered`))),
    );
  });
}
