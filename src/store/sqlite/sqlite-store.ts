/** The Store port on SQLite: one file that every Slipway process on the machine can share safely. */

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SlipwayError } from '../../core/errors.js';
import type { AnyStoredEvent, EventPayloads, EventType, NewEvent } from '../../core/events.js';
import type {
  ChainVerification,
  DeploymentRecord,
  LeaseResult,
  ListDeploymentsFilter,
  ReleaseRecord,
  Store,
} from '../../core/ports.js';
import { ACTIVE_STATES, type DeploymentState, isTerminal, transition } from '../../core/state.js';
import { GENESIS_HASH, hashEvent } from '../event-hash.js';
import { ACTIVE_STATES_SQL, migrateSqlite } from './sqlite-migrations.js';

export interface SqliteStoreOptions {
  /** Source of event times and lease expiry; injectable so tests control time. @default () => new Date() */
  readonly now?: () => Date;
  /**
   * How long a write waits for another process's transaction before giving up. Writes are short, so a
   * wait this long means something is stuck. @default 5000
   */
  readonly busyTimeoutMs?: number;
}

/** @default 50, as documented on ListDeploymentsFilter.limit. */
const DEFAULT_LIST_LIMIT = 50;
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const PREV_HASH_PROBLEM = 'previous hash does not match — an event before it was removed or changed';

interface DeploymentRow {
  readonly id: number;
  readonly app: string;
  readonly environment: string;
  readonly release: string;
  readonly state: string;
  readonly started_by: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly finished_at: string | null;
  readonly reason: string | null;
  readonly last_seq: number;
  readonly emergency: number;
}

interface EventRow {
  readonly id: number;
  readonly deployment_id: number;
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly payload: string;
  readonly prev_hash: string;
  readonly hash: string;
}

interface ReleaseRow {
  readonly app: string;
  readonly release: string;
  readonly sha256: string;
  readonly size_bytes: number;
  readonly created_at: string;
}

interface LeaseRow {
  readonly owner: string;
  readonly expires_at: string;
}

const DEPLOYMENT_COLUMNS =
  'id, app, environment, release, state, started_by, created_at, updated_at, finished_at, reason, last_seq, emergency';
const EVENT_COLUMNS = 'id, deployment_id, seq, at, type, payload, prev_hash, hash';

/**
 * Opens (creating if needed) the SQLite store at `path`, migrating its schema. `:memory:` gives a private
 * throw-away store. Failures are SLW_STORE errors naming the path.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const inMemory = path === ':memory:';
  if (!inMemory) {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      throw new SlipwayError(
        'SLW_STORE',
        `cannot create the folder of the store ${path}: ${messageOf(err)}`,
        {
          hint: 'check that the path is right and that its parent folders can be created by this user',
          cause: err,
          details: { path },
        },
      );
    }
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    // WAL lets readers (status, logs) run while a deployment writes; NORMAL is durable enough in WAL
    // (a power cut can lose the last commits, never corrupt the file) and avoids an fsync per event.
    // Switching a new file to WAL takes a lock that SQLite does not wait for (no busy handler): two
    // processes opening a new store at once must retry here rather than fail.
    if (!inMemory)
      retryWhileBusy(
        () => db!.pragma('journal_mode = WAL'),
        options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      );
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrateSqlite(db, path);
    return new SqliteStore(db, path, options);
  } catch (err) {
    db?.close();
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('SLW_STORE', `cannot open the store ${path}: ${messageOf(err)}`, {
      hint: openHint(err),
      cause: err,
      details: { path },
    });
  }
}

function retryWhileBusy<T>(fn: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!String(sqliteCode(err)).startsWith('SQLITE_BUSY') || Date.now() > deadline) throw err;
      // A synchronous pause: opening is synchronous in better-sqlite3, and this only happens at start-up.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 20);
    }
  }
}

function openHint(err: unknown): string {
  switch (sqliteCode(err)) {
    case 'SQLITE_NOTADB':
      return 'that file is not a Slipway store (not an SQLite database): point Slipway at another path or move the file away';
    case 'SQLITE_READONLY':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
      return 'check that the file and its folder exist and are writable by this user';
    case 'SQLITE_BUSY':
      return 'another process held the store locked for too long; retry, and check for a stuck Slipway process';
    default:
      return 'check the path and its permissions; if the file is damaged, restore it from a backup';
  }
}

/** Use `openSqliteStore`, which prepares the file; the constructor expects a configured, migrated database. */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #now: () => Date;
  readonly #listStatements = new Map<string, Database.Statement<unknown[], DeploymentRow>>();
  readonly #sql: Statements;

  constructor(db: Database.Database, path: string, options: SqliteStoreOptions = {}) {
    this.#db = db;
    this.#path = path;
    this.#now = options.now ?? (() => new Date());
    this.#sql = prepareStatements(db);
  }

  async createDeployment(
    created: NewEvent<'deployment.created'>,
  ): Promise<{ deployment: DeploymentRecord; event: AnyStoredEvent }> {
    return this.#write('create a deployment', () => {
      if (created.type !== 'deployment.created') {
        throw new SlipwayError(
          'SLW_ILLEGAL_TRANSITION',
          `a deployment log must start with "deployment.created", got "${created.type}"`,
        );
      }
      const { app, environment, release, actor } = created.payload;
      const active = this.#sql.activeInEnvironment.get(app, environment);
      if (active) throw environmentBusy(active);
      const at = this.#now().toISOString();
      const id = Number(
        this.#sql.insertDeployment.run(
          app,
          environment,
          release,
          'running',
          actor.user,
          at,
          at,
          created.payload.emergency ? 1 : 0,
        ).lastInsertRowid,
      );
      const [event] = this.#insertEvents(id, 0, [created], at);
      return { deployment: toDeploymentRecord(this.#sql.deployment.get(id)!), event: event! };
    });
  }

  async append(
    deploymentId: number,
    expectedSeq: number,
    events: readonly NewEvent[],
  ): Promise<readonly AnyStoredEvent[]> {
    return this.#write(`append to deployment ${deploymentId}`, () => {
      const row = this.#sql.deployment.get(deploymentId);
      if (!row) throw deploymentNotFound(deploymentId);
      if (row.last_seq !== expectedSeq) {
        throw new SlipwayError(
          'SLW_CONCURRENT_APPEND',
          `deployment ${deploymentId}'s log ends at event ${row.last_seq}, not ${expectedSeq}: another process appended to it`,
          {
            hint: `another Slipway process may be running this deployment (see \`slipway status ${deploymentId}\`); re-read the log before acting`,
            details: { deploymentId, expectedSeq, actualSeq: row.last_seq },
          },
        );
      }
      if (events.length === 0) return [];

      const at = this.#now().toISOString();
      const before = row.state as DeploymentState;
      let state = before;
      let reason = row.reason;
      let finishedAt = row.finished_at;
      for (const event of events) {
        const next = transitionOf(deploymentId, state, event);
        reason = reasonOf(event) ?? reason;
        // A succeeded deployment can be rolled back by hand, so "finished" can be undone.
        if (!isTerminal(next)) finishedAt = null;
        else if (!isTerminal(state)) finishedAt = at;
        state = next;
      }
      if (!isActive(before) && isActive(state)) {
        // Reopening a finished deployment (manual rollback) must not make two active in one environment.
        const active = this.#sql.activeInEnvironment.get(row.app, row.environment);
        if (active) throw environmentBusy(active);
      }
      const stored = this.#insertEvents(deploymentId, expectedSeq, events, at);
      this.#sql.updateProjection.run(
        state,
        at,
        finishedAt,
        reason,
        expectedSeq + events.length,
        deploymentId,
      );
      return stored;
    });
  }

  async readEvents(deploymentId: number, afterSeq = 0): Promise<readonly AnyStoredEvent[]> {
    return this.#read(`read the events of deployment ${deploymentId}`, () =>
      this.#sql.eventsAfter.all(deploymentId, afterSeq).map(toStoredEvent),
    );
  }

  async getDeployment(id: number): Promise<DeploymentRecord | undefined> {
    return this.#read(`read deployment ${id}`, () => {
      const row = this.#sql.deployment.get(id);
      return row && toDeploymentRecord(row);
    });
  }

  async listDeployments(filter: ListDeploymentsFilter = {}): Promise<readonly DeploymentRecord[]> {
    return this.#read('list deployments', () => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.app !== undefined) {
        where.push('app = ?');
        params.push(filter.app);
      }
      if (filter.environment !== undefined) {
        where.push('environment = ?');
        params.push(filter.environment);
      }
      if (filter.states !== undefined) {
        if (filter.states.length === 0) return [];
        where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
        params.push(...filter.states);
      }
      params.push(filter.limit ?? DEFAULT_LIST_LIMIT);
      const sql = `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments${
        where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''
      } ORDER BY id DESC LIMIT ?`;
      return this.#listStatement(sql)
        .all(...params)
        .map(toDeploymentRecord);
    });
  }

  async recordRelease(record: Omit<ReleaseRecord, 'createdAt'>): Promise<ReleaseRecord> {
    return this.#write(`record release ${record.app} ${record.release}`, () => {
      const { app, release, sha256, sizeBytes } = record;
      this.#sql.insertRelease.run(app, release, sha256, sizeBytes, this.#now().toISOString());
      return toReleaseRecord(this.#sql.release.get(app, release)!);
    });
  }

  async getRelease(app: string, release: string): Promise<ReleaseRecord | undefined> {
    return this.#read(`read release ${app} ${release}`, () => {
      const row = this.#sql.release.get(app, release);
      return row && toReleaseRecord(row);
    });
  }

  async acquireLease(deploymentId: number, owner: string, ttlMs: number): Promise<LeaseResult> {
    checkTtl(ttlMs);
    return this.#write(`take the lease of deployment ${deploymentId}`, (): LeaseResult => {
      if (!this.#sql.deployment.get(deploymentId)) throw deploymentNotFound(deploymentId);
      const now = this.#now();
      const held = this.#sql.lease.get(deploymentId);
      // ISO-8601 UTC strings of fixed width compare like the instants they name.
      if (held && held.owner !== owner && held.expires_at > now.toISOString()) {
        return { acquired: false, holder: held.owner, expiresAt: held.expires_at };
      }
      this.#sql.upsertLease.run(deploymentId, owner, expiry(now, ttlMs));
      return { acquired: true };
    });
  }

  /**
   * Extends the owner's lease. Still succeeds after expiry when nobody took the lease meanwhile: no other
   * process can have run the deployment, so continuing is safe.
   */
  async renewLease(deploymentId: number, owner: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return this.#write(
      `renew the lease of deployment ${deploymentId}`,
      () => this.#sql.renewLease.run(expiry(this.#now(), ttlMs), deploymentId, owner).changes === 1,
    );
  }

  async getLease(
    deploymentId: number,
  ): Promise<{ readonly owner: string; readonly expiresAt: string } | undefined> {
    return this.#read(`read the lease of deployment ${deploymentId}`, () => {
      const row = this.#sql.lease.get(deploymentId);
      return row && { owner: row.owner, expiresAt: row.expires_at };
    });
  }

  async releaseLease(deploymentId: number, owner: string): Promise<void> {
    this.#write(`release the lease of deployment ${deploymentId}`, () => {
      this.#sql.deleteLease.run(deploymentId, owner);
    });
  }

  async verifyChain(): Promise<ChainVerification> {
    return this.#read('verify the event chain', () => {
      let eventsChecked = 0;
      let headHash = GENESIS_HASH;
      let firstBad: ChainVerification['firstBad'];
      // Per deployment, not per event: memory grows with deployments, never with the log.
      const lastSeq = new Map<number, number>();
      // One statement reads one consistent snapshot, even while other processes append (WAL).
      for (const row of this.#sql.allEvents.iterate()) {
        eventsChecked++;
        if (firstBad === undefined) {
          const problem = chainProblem(row, headHash, lastSeq.get(row.deployment_id) ?? 0);
          if (problem !== undefined)
            firstBad = { id: row.id, deploymentId: row.deployment_id, seq: row.seq, problem };
        }
        lastSeq.set(row.deployment_id, row.seq);
        headHash = row.hash;
      }
      return firstBad === undefined
        ? { ok: true, eventsChecked, headHash }
        : { ok: false, eventsChecked, headHash, firstBad };
    });
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** Chains `events` after the store's last event (whatever deployment it belongs to). Call inside a write. */
  #insertEvents(
    deploymentId: number,
    afterSeq: number,
    events: readonly NewEvent[],
    at: string,
  ): AnyStoredEvent[] {
    let prevHash = this.#sql.lastHash.get() ?? GENESIS_HASH;
    return events.map((event, index) => {
      const seq = afterSeq + index + 1;
      // Store and hash exactly what a later read will parse back, so the hash re-verifies anywhere.
      const payloadJson = JSON.stringify(event.payload);
      const payload: unknown = JSON.parse(payloadJson);
      const hash = hashEvent(prevHash, { deploymentId, seq, at, type: event.type, payload });
      const id = Number(
        this.#sql.insertEvent.run(deploymentId, seq, at, event.type, payloadJson, prevHash, hash)
          .lastInsertRowid,
      );
      const stored = {
        id,
        deploymentId,
        seq,
        at,
        type: event.type,
        payload,
        prevHash,
        hash,
      } as AnyStoredEvent;
      prevHash = hash;
      return stored;
    });
  }

  #listStatement(sql: string): Database.Statement<unknown[], DeploymentRow> {
    let statement = this.#listStatements.get(sql);
    if (!statement) {
      statement = this.#db.prepare<unknown[], DeploymentRow>(sql);
      this.#listStatements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `fn` in a BEGIN IMMEDIATE transaction: the write lock is taken first, so concurrent writers queue
   * on busy_timeout instead of failing when a read would turn into a write.
   */
  #write<T>(operation: string, fn: () => T): T {
    try {
      return this.#db.transaction(fn).immediate();
    } catch (err) {
      throw this.#storeError(operation, err);
    }
  }

  #read<T>(operation: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.#storeError(operation, err);
    }
  }

  #storeError(operation: string, err: unknown): SlipwayError {
    if (err instanceof SlipwayError) return err;
    if (sqliteCode(err)?.startsWith('SQLITE_BUSY')) {
      return new SlipwayError(
        'SLW_STORE',
        `could not ${operation}: the store ${this.#path} stayed locked by another process`,
        {
          hint: 'another Slipway process is holding the store; retry, and look for a stuck process if it persists',
          cause: err,
          details: { path: this.#path },
        },
      );
    }
    return new SlipwayError(
      'SLW_STORE',
      `could not ${operation} in the store ${this.#path}: ${messageOf(err)}`,
      {
        hint: this.#db.open
          ? 'check the disk (space, permissions) and the store file'
          : 'the store was closed before this call',
        cause: err,
        details: { path: this.#path },
      },
    );
  }
}

type Statements = ReturnType<typeof prepareStatements>;

/** Prepared once per store: every call then only binds and steps. */
function prepareStatements(db: Database.Database) {
  return {
    deployment: db.prepare<[number], DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments WHERE id = ?`,
    ),
    // Repeats the partial index's WHERE verbatim so the lookup uses it.
    activeInEnvironment: db.prepare<[string, string], DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments
       WHERE app = ? AND environment = ? AND state IN ${ACTIVE_STATES_SQL}`,
    ),
    insertDeployment: db.prepare<[string, string, string, string, string, string, string, number]>(
      `INSERT INTO deployments (app, environment, release, state, started_by, created_at, updated_at, last_seq, emergency)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)`,
    ),
    updateProjection: db.prepare<[string, string, string | null, string | null, number, number]>(
      `UPDATE deployments SET state = ?, updated_at = ?, finished_at = ?, reason = ?, last_seq = ? WHERE id = ?`,
    ),
    lastHash: db.prepare<[], string>('SELECT hash FROM events ORDER BY id DESC LIMIT 1').pluck(),
    insertEvent: db.prepare<[number, number, string, string, string, string, string]>(
      `INSERT INTO events (deployment_id, seq, at, type, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    eventsAfter: db.prepare<[number, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE deployment_id = ? AND seq > ? ORDER BY seq`,
    ),
    allEvents: db.prepare<[], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY id`),
    insertRelease: db.prepare<[string, string, string, number, string]>(
      'INSERT OR IGNORE INTO releases (app, release, sha256, size_bytes, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    release: db.prepare<[string, string], ReleaseRow>(
      'SELECT app, release, sha256, size_bytes, created_at FROM releases WHERE app = ? AND release = ?',
    ),
    lease: db.prepare<[number], LeaseRow>('SELECT owner, expires_at FROM leases WHERE deployment_id = ?'),
    upsertLease: db.prepare<[number, string, string]>(
      `INSERT INTO leases (deployment_id, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (deployment_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
    ),
    renewLease: db.prepare<[string, number, string]>(
      'UPDATE leases SET expires_at = ? WHERE deployment_id = ? AND owner = ?',
    ),
    deleteLease: db.prepare<[number, string]>('DELETE FROM leases WHERE deployment_id = ? AND owner = ?'),
  };
}

function chainProblem(row: EventRow, previousHash: string, previousSeq: number): string | undefined {
  // The link first: after a removed event, the next one is intact but points at something that is gone.
  if (row.prev_hash !== previousHash) return PREV_HASH_PROBLEM;
  let payload: unknown;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    return 'payload edited';
  }
  const fields = {
    deploymentId: row.deployment_id,
    seq: row.seq,
    at: row.at,
    type: row.type as EventType,
    payload,
  };
  if (hashEvent(row.prev_hash, fields) !== row.hash) return 'payload edited';
  if (row.seq !== previousSeq + 1) return 'sequence gap';
  return undefined;
}

function transitionOf(deploymentId: number, state: DeploymentState, event: NewEvent): DeploymentState {
  try {
    return transition(state, event);
  } catch (err) {
    if (!(err instanceof SlipwayError)) throw err;
    // Same error, but naming which deployment refused the event.
    throw new SlipwayError(err.code, `deployment ${deploymentId}: ${err.message}`, {
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      cause: err,
      details: { deploymentId, state, event: event.type },
    });
  }
}

function reasonOf(event: NewEvent): string | undefined {
  if (
    is(event, 'deployment.failed') ||
    is(event, 'deployment.rolled-back') ||
    is(event, 'rollback.started')
  ) {
    return event.payload.reason;
  }
  return undefined;
}

/** Narrows a NewEvent by type (the core `NewEvent` default is not a discriminated union). */
function is<T extends EventType>(event: NewEvent, type: T): event is NewEvent<T> {
  return event.type === type;
}

function isActive(state: DeploymentState): boolean {
  return ACTIVE_STATES.includes(state);
}

function environmentBusy(active: DeploymentRow): SlipwayError {
  return new SlipwayError(
    'SLW_ENV_BUSY',
    `environment "${active.environment}" of app "${active.app}" is busy: deployment ${active.id} (release ${active.release}) is ${active.state}`,
    {
      hint: `wait for deployment ${active.id} to finish (slipway status ${active.id}), or end it: slipway cancel ${active.id}`,
      details: {
        app: active.app,
        environment: active.environment,
        deploymentId: active.id,
        release: active.release,
        state: active.state,
      },
    },
  );
}

function deploymentNotFound(id: number): SlipwayError {
  return new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${id} in the store`, {
    hint: 'list deployments with `slipway history`',
    details: { deploymentId: id },
  });
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new SlipwayError(
      'SLW_INTERNAL',
      `a lease needs a positive, finite ttl in milliseconds, got ${ttlMs}`,
    );
  }
}

function expiry(now: Date, ttlMs: number): string {
  return new Date(now.getTime() + ttlMs).toISOString();
}

function toDeploymentRecord(row: DeploymentRow): DeploymentRecord {
  return {
    id: row.id,
    app: row.app,
    environment: row.environment,
    release: row.release,
    // Only this code writes the column, from transition(); the schema version guards against newer writers.
    state: row.state as DeploymentState,
    startedBy: row.started_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    reason: row.reason,
    lastSeq: row.last_seq,
    emergency: row.emergency === 1,
  };
}

function toStoredEvent(row: EventRow): AnyStoredEvent {
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    seq: row.seq,
    at: row.at,
    type: row.type as EventType,
    payload: JSON.parse(row.payload) as EventPayloads[EventType],
    prevHash: row.prev_hash,
    hash: row.hash,
  } as AnyStoredEvent;
}

function toReleaseRecord(row: ReleaseRow): ReleaseRecord {
  return {
    app: row.app,
    release: row.release,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    createdAt: row.created_at,
  };
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
