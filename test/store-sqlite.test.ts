/** Runs the Store contract against SqliteStore on real files, plus what only SQLite has: several processes on one file. */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/core/ports.js';
import { ACTIVE_STATES } from '../src/core/state.js';
import { DEFAULT_STORE_PATH, openStore } from '../src/store/open-store.js';
import {
  ACTIVE_STATES_SQL,
  LATEST_SQLITE_SCHEMA_VERSION,
  SQLITE_MIGRATIONS,
} from '../src/store/sqlite/sqlite-migrations.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { describeStoreContract, type StoreTamper } from './store-contract.js';
import { createdEvent, errorOf, failed, phaseStarted, succeeded } from './store-fixtures.js';

const WORKER = fileURLToPath(new URL('./store-sqlite-worker.ts', import.meta.url));

async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-store-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Edits the file through its own connection, as someone with write access to the disk could. */
function rawTamper(path: string): StoreTamper {
  const withDb = async (fn: (db: Database.Database) => void) => {
    const db = new Database(path);
    try {
      db.transaction(() => fn(db)).immediate();
    } finally {
      db.close();
    }
  };
  return {
    updatePayload: (id, json) =>
      withDb((db) => db.prepare('UPDATE events SET payload = ? WHERE id = ?').run(json, id)),
    deleteEvent: (id) => withDb((db) => db.prepare('DELETE FROM events WHERE id = ?').run(id)),
    swapEvents: (idA, idB) =>
      withDb((db) => {
        const read = db.prepare<[number], Record<string, unknown>>('SELECT * FROM events WHERE id = ?');
        const a = read.get(idA)!;
        const b = read.get(idB)!;
        db.prepare('DELETE FROM events WHERE id IN (?, ?)').run(idA, idB);
        const insert = db.prepare(
          `INSERT INTO events (id, deployment_id, seq, at, type, payload, prev_hash, hash)
           VALUES (@id, @deployment_id, @seq, @at, @type, @payload, @prev_hash, @hash)`,
        );
        insert.run({ ...b, id: idA });
        insert.run({ ...a, id: idB });
      }),
  };
}

describeStoreContract('SqliteStore', async () => {
  const { dir, remove } = await tempDir();
  const path = join(dir, 'nested', 'slipway.db');
  const store = await openSqliteStore(path);
  return {
    store,
    tamper: rawTamper(path),
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
});

describe('SqliteStore', () => {
  let dir: string;
  let remove: () => Promise<void>;
  const opened: Store[] = [];
  const open = async (path = join(dir, 'slipway.db'), options = {}) => {
    const store = await openSqliteStore(path, options);
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await remove();
  });

  describe('opening', () => {
    it('creates the file and its folders, in WAL mode, at the latest schema version', async () => {
      const path = join(dir, 'a', 'b', 'slipway.db');
      await open(path);
      const db = new Database(path, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SQLITE_SCHEMA_VERSION);
      } finally {
        db.close();
      }
    });

    it('keeps everything across a reopen, without migrating again', async () => {
      const path = join(dir, 'slipway.db');
      const first = await open(path);
      const { deployment } = await first.createDeployment(createdEvent());
      await first.append(deployment.id, 1, [phaseStarted(), succeeded()]);
      await first.recordRelease({ app: 'shop', release: '1.0.0', sha256: 'c'.repeat(64), sizeBytes: 3 });
      const head = await first.verifyChain();
      await first.close();

      const again = await open(path);
      expect(await again.getDeployment(deployment.id)).toMatchObject({ state: 'succeeded', lastSeq: 3 });
      expect(await again.readEvents(deployment.id)).toHaveLength(3);
      expect(await again.getRelease('shop', '1.0.0')).toMatchObject({ sha256: 'c'.repeat(64) });
      expect(await again.verifyChain()).toEqual(head);
      const next = await again.createDeployment(createdEvent({ release: '1.1.0' }));
      expect(next.event.prevHash).toBe(head.headHash);
    });

    it('refuses a store written by a newer Slipway', async () => {
      const path = join(dir, 'slipway.db');
      await (await openSqliteStore(path)).close();
      const db = new Database(path);
      db.pragma(`user_version = ${LATEST_SQLITE_SCHEMA_VERSION + 1}`);
      db.close();

      const err = await errorOf(openSqliteStore(path));
      expect(err.code).toBe('SLW_STORE');
      expect(err.message).toContain(path);
      expect(err.message).toContain(`schema version ${LATEST_SQLITE_SCHEMA_VERSION + 1}`);
      expect(err.hint).toMatch(/upgrade Slipway/);
    });

    it('refuses a file that is not a database, naming it', async () => {
      const path = join(dir, 'notes.txt');
      await writeFile(path, 'these are not the bytes you are looking for\n'.repeat(100));
      const err = await errorOf(openSqliteStore(path));
      expect(err.code).toBe('SLW_STORE');
      expect(err.message).toContain(path);
      expect(err.hint).toMatch(/not a Slipway store/);
    });

    it('reports a path that cannot be created', async () => {
      const file = join(dir, 'a-file');
      await writeFile(file, '');
      const path = join(file, 'sub', 'slipway.db');
      const err = await errorOf(openSqliteStore(path));
      expect(err.code).toBe('SLW_STORE');
      expect(err.message).toContain(path);
      expect(err.hint).not.toBe('');
    });

    it('opens any path as SQLite through openStore, and says PostgreSQL is not there yet', async () => {
      const store = await openStore(join(dir, DEFAULT_STORE_PATH));
      opened.push(store);
      expect(await store.listDeployments()).toEqual([]);

      const err = await errorOf(openStore('postgres://slipway:s3cret@db.example/slipway'));
      expect(err.code).toBe('SLW_STORE');
      expect(err.message).toMatch(/PostgreSQL stores are not available yet/);
      expect(err.message).not.toContain('s3cret');
    });

    it('reports calls after close as SLW_STORE', async () => {
      const store = await open();
      await store.close();
      await store.close();
      expect((await errorOf(store.listDeployments())).code).toBe('SLW_STORE');
    });
  });

  describe('schema', () => {
    it('numbers migrations 1, 2, 3… with no gaps', () => {
      expect(SQLITE_MIGRATIONS.map((m) => m.version)).toEqual(SQLITE_MIGRATIONS.map((_, i) => i + 1));
    });

    it("keeps the one-active-per-environment index in step with core's ACTIVE_STATES", () => {
      const inIndex = [...ACTIVE_STATES_SQL.matchAll(/'([^']+)'/g)].map((m) => m[1]);
      expect(inIndex).toEqual([...ACTIVE_STATES]);
    });

    it('finds the active deployment of an environment, and lists by app + environment, through indexes', async () => {
      const path = join(dir, 'slipway.db');
      await open(path);
      const db = new Database(path, { readonly: true });
      const plan = (sql: string) =>
        db
          .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
          .all('shop', 'production')
          .map((r) => r.detail)
          .join('; ');
      try {
        expect(
          plan(
            `SELECT id FROM deployments WHERE app = ? AND environment = ? AND state IN ${ACTIVE_STATES_SQL}`,
          ),
        ).toMatch(/USING (COVERING )?INDEX deployments_one_active_per_environment/);
        const listing = plan(
          'SELECT * FROM deployments WHERE app = ? AND environment = ? ORDER BY id DESC LIMIT 50',
        );
        expect(listing).toMatch(/USING INDEX deployments_(app_environment|one_active)/);
        expect(listing).not.toMatch(/TEMP B-TREE/);
      } finally {
        db.close();
      }
    });
  });

  describe('clock', () => {
    it('stamps events and expires leases with the injected clock', async () => {
      let now = Date.parse('2030-01-02T03:04:05.000Z');
      const store = await open(undefined, { now: () => new Date(now) });
      const { event } = await store.createDeployment(createdEvent());
      expect(event.at).toBe('2030-01-02T03:04:05.000Z');

      expect(await store.acquireLease(event.deploymentId, 'a', 1000)).toEqual({ acquired: true });
      now += 999;
      expect(await store.acquireLease(event.deploymentId, 'b', 1000)).toEqual({
        acquired: false,
        holder: 'a',
        expiresAt: '2030-01-02T03:04:06.000Z',
      });
      now += 1;
      expect(await store.acquireLease(event.deploymentId, 'b', 1000)).toEqual({ acquired: true });
    });
  });

  describe('several stores on one file', () => {
    it('lets exactly one of two concurrent createDeployment calls for one environment win', async () => {
      const path = join(dir, 'slipway.db');
      const [a, b] = [await open(path), await open(path)];
      const results = await Promise.allSettled([
        a.createDeployment(createdEvent({ environment: 'production', release: 'from-a' })),
        b.createDeployment(createdEvent({ environment: 'production', release: 'from-b' })),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]?.reason).toMatchObject({ code: 'SLW_ENV_BUSY' });
      expect(await b.listDeployments()).toHaveLength(1);
      expect((await a.verifyChain()).ok).toBe(true);
    });

    it('sees writes from the other store, and refuses its stale append', async () => {
      const path = join(dir, 'slipway.db');
      const [a, b] = [await open(path), await open(path)];
      const { deployment } = await a.createDeployment(createdEvent());
      await b.append(deployment.id, 1, [phaseStarted()]);
      expect((await errorOf(a.append(deployment.id, 1, [failed()]))).code).toBe('SLW_CONCURRENT_APPEND');
      expect((await a.getDeployment(deployment.id))?.lastSeq).toBe(2);
    });

    it('stays consistent with separate processes racing on the file', async () => {
      const path = join(dir, 'slipway.db');
      const store = await open(path);

      const creators = await race(path, 6, () => ['create']);
      expect(creators.filter((r) => r.ok)).toHaveLength(1);
      expect(creators.filter((r) => !r.ok).map((r) => r.code)).toEqual(Array(5).fill('SLW_ENV_BUSY'));
      const [deployment] = await store.listDeployments();

      const id = String(deployment!.id);
      const sameSeq = await race(path, 6, () => ['append-once', id]);
      expect(sameSeq.filter((r) => r.ok)).toHaveLength(1);
      expect(sameSeq.filter((r) => !r.ok).map((r) => r.code)).toEqual(Array(5).fill('SLW_CONCURRENT_APPEND'));

      // Optimistic writers that re-read and retry: every append lands, none is lost or doubled.
      const appenders = await race(path, 4, () => ['append', id, '50']);
      expect(appenders).toEqual(Array(4).fill(expect.objectContaining({ ok: true })));

      const log = await store.readEvents(deployment!.id);
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 202 }, (_, i) => i + 1));
      expect(new Set(log.map((e) => ('text' in e.payload ? e.payload.text : e.type))).size).toBe(200 + 2);
      expect(await store.verifyChain()).toMatchObject({ ok: true, eventsChecked: 202 });
    });
  });

  describe('a large store', () => {
    it('lists 10,000 deployments (timing printed, not asserted)', async () => {
      const store = await open();
      const started = performance.now();
      for (let i = 0; i < 10_000; i++) {
        const { deployment } = await store.createDeployment(
          createdEvent({ environment: `env-${i % 20}`, release: `r${i}` }),
        );
        await store.append(deployment.id, 1, [i % 7 === 0 ? failed() : succeeded()]);
      }
      const filled = performance.now() - started;

      const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
        const t0 = performance.now();
        const result = await fn();
        return [result, performance.now() - t0];
      };
      const [all, allMs] = await timed(() => store.listDeployments({ limit: 10_000 }));
      const [env, envMs] = await timed(() =>
        store.listDeployments({ app: 'shop', environment: 'env-3', limit: 50 }),
      );
      const [bad, badMs] = await timed(() => store.listDeployments({ states: ['failed'], limit: 10_000 }));
      const [, verifyMs] = await timed(() => store.verifyChain());

      expect(all).toHaveLength(10_000);
      expect(all[0]!.id).toBeGreaterThan(all[9_999]!.id);
      expect(env).toHaveLength(50);
      expect(bad).toHaveLength(1429);
      console.log(
        `[store timing] filled 10,000 deployments (20,000 events) in ${filled.toFixed(0)} ms; ` +
          `listDeployments limit 10,000: ${allMs.toFixed(1)} ms; app+env limit 50: ${envMs.toFixed(2)} ms; ` +
          `state=failed: ${badMs.toFixed(1)} ms; verifyChain (20,000 events): ${verifyMs.toFixed(0)} ms`,
      );
    });
  });
});

interface WorkerResult {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

/** Starts `count` worker processes, lets them all open the store, then releases them at once. */
async function race(path: string, count: number, args: (index: number) => string[]): Promise<WorkerResult[]> {
  const workers = Array.from({ length: count }, (_, i) =>
    spawn(process.execPath, ['--import', 'tsx', WORKER, path, `w${i}`, ...args(i)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = workers.map((w) => linesOf(w));
  await Promise.all(lines.map((l) => l.next()));
  for (const w of workers) w.stdin!.write('go\n');
  return Promise.all(
    lines.map(async (l) => {
      const line = await l.next();
      return JSON.parse(line) as WorkerResult;
    }),
  );
}

/** Reads a child's stdout line by line; `next()` fails if the child exits first. */
function linesOf(child: ChildProcess): { next: () => Promise<string> } {
  const queue: string[] = [];
  const waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  let buffered = '';
  let ended = false;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(line);
      else queue.push(line);
    }
  });
  child.on('exit', (code) => {
    ended = true;
    for (const w of waiting.splice(0)) w.reject(new Error(`worker exited with ${code} before answering`));
  });
  return {
    next: () => {
      const line = queue.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended) return Promise.reject(new Error('worker already exited'));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}
