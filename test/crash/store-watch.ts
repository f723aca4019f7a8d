/**
 * Watching a live store from outside: a read-only connection that polls the event log of a deployment another
 * process is writing (WAL lets readers in), and a trigger that holds one insert open so a kill lands before it.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

export interface LoggedEvent {
  readonly seq: number;
  readonly type: string;
  readonly at: string;
  // biome-ignore lint/suspicious/noExplicitAny: payloads are checked field by field by the log checker
  readonly payload: any;
}

/** Matches an event by type and, for step events, step id. */
export interface EventMatch {
  readonly type: string;
  readonly step?: string;
  readonly action?: string;
  /** For waiting: the how-manyth matching event (default the first). */
  readonly nth?: number;
}

export function matches(e: LoggedEvent, m: EventMatch): boolean {
  return (
    e.type === m.type &&
    (m.step === undefined || e.payload?.step === m.step) &&
    (m.action === undefined || e.payload?.action === m.action)
  );
}

export function describeMatch(m: EventMatch): string {
  return `${m.type}${m.step ? `(${m.step})` : ''}${m.action ? `(${m.action})` : ''}`;
}

interface EventRow {
  readonly seq: number;
  readonly type: string;
  readonly at: string;
  readonly payload: string;
}

/** Reads the events of the newest deployment of `release`, read-only. */
export class StoreWatch {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
  }

  deploymentId(release: string): number | undefined {
    const row = this.db
      .prepare<[string], { id: number }>(
        'SELECT id FROM deployments WHERE release = ? ORDER BY id DESC LIMIT 1',
      )
      .get(release);
    return row?.id;
  }

  events(deploymentId: number): LoggedEvent[] {
    return this.db
      .prepare<[number], EventRow>(
        'SELECT seq, type, at, payload FROM events WHERE deployment_id = ? ORDER BY seq',
      )
      .all(deploymentId)
      .map((r) => ({ seq: r.seq, type: r.type, at: r.at, payload: JSON.parse(r.payload) }));
  }

  /** The projection row (state as the store's own table says). */
  state(deploymentId: number): string | undefined {
    return this.db
      .prepare<[number], { state: string }>('SELECT state FROM deployments WHERE id = ?')
      .get(deploymentId)?.state;
  }

  leases(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM leases').get()?.n ?? 0;
  }

  /** Polls every `everyMs` until an event of `release`'s deployment matches; gives up when `stop` says so. */
  async waitFor(
    release: string,
    m: EventMatch,
    stop: () => string | undefined,
    everyMs = 5,
  ): Promise<{ deploymentId: number; event: LoggedEvent }> {
    for (;;) {
      const id = this.deploymentId(release);
      const event =
        id === undefined ? undefined : this.events(id).filter((e) => matches(e, m))[(m.nth ?? 1) - 1];
      if (id !== undefined && event) return { deploymentId: id, event };
      const why = stop();
      if (why !== undefined) throw new Error(`gave up waiting for ${describeMatch(m)}: ${why}`);
      await sleep(everyMs);
    }
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Rows for the hold trigger's busy work: a filtered three-way cross join of 400 rows (64M rows) keeps the writer
 * inside its transaction for about 2 s on this machine, far longer than the 5 ms poll that notices and kills.
 */
const BURN_ROWS = 400;

/**
 * Makes the writer (the Slipway process under test) hold the insert of the event that would follow `after`,
 * inside its write transaction, by a BEFORE INSERT trigger that does CPU-bound busy work. The log durably ends at
 * `after` while the trigger runs, so a SIGKILL then leaves exactly the state "killed right after `after`": no
 * later event, no later command. Only timing changes: no event or payload is touched. Remove it before resuming.
 *
 * With `insertOf`, it holds the insert of that event itself instead (e.g. a step's output, written at its end).
 */
export function installHold(file: string, hold: { after?: EventMatch; insertOf?: EventMatch }): void {
  const db = new Database(file);
  try {
    const cond = (alias: string, m: EventMatch) =>
      [
        `${alias}.type = ${quote(m.type)}`,
        ...(m.step ? [`json_extract(${alias}.payload, '$.step') = ${quote(m.step)}`] : []),
        ...(m.action ? [`json_extract(${alias}.payload, '$.action') = ${quote(m.action)}`] : []),
      ].join(' AND ');
    const when = hold.after
      ? `EXISTS (SELECT 1 FROM events p WHERE p.deployment_id = NEW.deployment_id AND p.seq = NEW.seq - 1 AND ${cond('p', hold.after)})`
      : hold.insertOf
        ? cond('NEW', hold.insertOf)
        : 'false';
    db.exec(`
      CREATE TABLE IF NOT EXISTS crash_burn (x INTEGER);
      DELETE FROM crash_burn;
      WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ${BURN_ROWS})
        INSERT INTO crash_burn SELECT x FROM n;
      CREATE TRIGGER crash_hold BEFORE INSERT ON events WHEN ${when}
      BEGIN SELECT count(*) FROM crash_burn a, crash_burn b, crash_burn c WHERE a.x + b.x + c.x > 0; END;
    `);
  } finally {
    db.close();
  }
}

export function removeHold(file: string): void {
  const db = new Database(file);
  try {
    db.exec('DROP TRIGGER IF EXISTS crash_hold; DROP TABLE IF EXISTS crash_burn;');
  } finally {
    db.close();
  }
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
