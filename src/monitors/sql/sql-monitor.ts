/**
 * `sql` monitor: a read-only query against PostgreSQL or SQLite; the first column of the first row is the
 * value (a data-integrity count, an order total). No rows or NULL is "no data", like an empty Prometheus result.
 */

import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Monitor } from '../../core/ports.js';
import type { MonitorSpec } from '../../core/process.js';
import { makeRedactor } from '../../core/redact.js';
import { renderTemplate } from '../../core/template.js';
import { postgresConnectionString } from '../../migrations/database.js';
import { toNumber } from '../json/json-monitor.js';
import { type MonitorContext, publicScope } from '../monitor-context.js';
import { errorText, formatValue, type ProbeResult, snippet, takeSample } from '../monitor-sampling.js';

type Spec = Extract<MonitorSpec, { kind: 'sql' }>;

export function sqlMonitor(spec: Spec, context: MonitorContext): Monitor {
  const where = `monitors.${spec.id}.sql`;
  const s = spec.sql;
  let run: (signal: AbortSignal) => Promise<unknown[] | undefined>;
  let description: string;
  let redact = context.redact;
  if (s.driver === 'postgres') {
    const url = renderTemplate(s.url, context.scope, `${where}.url`);
    const password =
      s.password === undefined ? undefined : renderTemplate(s.password, context.scope, `${where}.password`);
    // A connection string that is not a declared secret may still hold a password: hide both anyway.
    const hidden = [url, password ?? passwordOf(url)].filter((v): v is string => v !== undefined && v !== '');
    const hide = makeRedactor(hidden);
    redact = (t) => hide(context.redact(t));
    run = (signal) => postgresFirstRow(url, password, s.query, spec.timeoutMs, signal);
    description = `sql (postgres) ${s.query}`;
  } else {
    const file = path.resolve(
      context.baseDir,
      renderTemplate(s.path, publicScope(context.scope), `${where}.path`),
    );
    run = async () => sqliteFirstRow(file, s.query, spec.timeoutMs);
    description = `sql (sqlite ${file}) ${s.query}`;
  }

  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    let row: unknown[] | undefined;
    try {
      row = await run(signal);
    } catch (e) {
      if (signal.aborted) throw e;
      return { ok: false, detail: `query failed: ${errorText(e)} (query: ${s.query})` };
    }
    if (row === undefined) return { ok: true, detail: 'no data (the query returned no rows)' };
    const first = row[0];
    if (first === null || first === undefined) return { ok: true, detail: 'no data (NULL)' };
    const value = toNumber(first);
    if (value === undefined) {
      return {
        ok: false,
        detail: `the first column is ${snippet(JSON.stringify(first) ?? String(first))}, not a number (query: ${s.query})`,
      };
    }
    return { ok: true, value, detail: formatValue(value) };
  };

  return {
    id: spec.id,
    description,
    sample: (signal) => takeSample(signal, spec.timeoutMs, redact, probe),
  };
}

/** One connection per sample: nothing to keep alive between samples seconds apart, nothing to leak. */
async function postgresFirstRow(
  url: string,
  password: string | undefined,
  query: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<unknown[] | undefined> {
  const client = new pg.Client({
    // pg lets the connection string's fields win over `password`: put the password into the URL itself.
    connectionString: postgresConnectionString({
      kind: 'postgres',
      url,
      ...(password === undefined ? {} : { password }),
    }),
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    // A monitor only looks: every transaction it runs is read-only, so a mistaken query cannot write.
    options: '-c default_transaction_read_only=on',
    application_name: 'slipway-monitor',
  });
  client.on('error', () => {}); // a connection dropped after the sample is of no interest
  const onAbort = () => void client.end().catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    const result = await client.query({ text: query, rowMode: 'array' });
    signal.throwIfAborted();
    return (result.rows[0] as unknown[] | undefined) ?? undefined;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => {});
  }
}

/** Opened read-only for each sample, so a replaced or migrated file is always the one read. */
function sqliteFirstRow(file: string, query: string, timeoutMs: number): unknown[] | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: timeoutMs });
  try {
    const statement = db.prepare(query);
    if (!statement.reader) throw new Error('the query returns no rows: write a SELECT');
    return statement.raw(true).get() as unknown[] | undefined;
  } finally {
    db.close();
  }
}

function passwordOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}
