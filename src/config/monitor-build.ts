/** Compiles an environment's `monitors:` into `MonitorSpec`s: defaults applied, durations in ms, fractions. */

import { parseDuration } from '../core/duration.js';
import type { JsonScalar, MonitorCompareSpec, MonitorSpec } from '../core/process.js';
import { MONITOR_DEFAULTS, type MonitorInput } from './monitor-schema.js';
import type { KeyPath } from './yaml-positions.js';

type Scalar = string | number | boolean;
/** A scalar's text as written in the file, when it was a plain scalar. */
type SourceText = (path: KeyPath) => string | undefined;

/** `path` is the environment's (`['environments', name]`); the input has passed the schema and monitor-rules. */
export function buildMonitors(
  input: readonly MonitorInput[] | undefined,
  path: KeyPath,
  sourceText: SourceText,
): MonitorSpec[] {
  return (input ?? []).map((m, i) => buildMonitor(m, [...path, 'monitors', i], sourceText));
}

function buildMonitor(m: MonitorInput, path: KeyPath, sourceText: SourceText): MonitorSpec {
  // Header and env values as written: `X-Version: 1.10` must not become "1.1".
  const strings = (at: KeyPath, record: Readonly<Record<string, Scalar>> | undefined) =>
    Object.fromEntries(
      Object.entries(record ?? {}).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : (sourceText([...at, k]) ?? String(v)),
      ]),
    );
  const statuses = (s: number | readonly number[] | undefined) => {
    const v = s ?? MONITOR_DEFAULTS.expectStatus;
    return typeof v === 'number' ? [v] : [...v];
  };
  const compare: MonitorCompareSpec = {
    direction: m.compare?.direction ?? MONITOR_DEFAULTS.direction,
    maxDegradation: fraction(m.compare?.maxDegradation ?? MONITOR_DEFAULTS.maxDegradation),
    ...(m.compare?.max === undefined ? {} : { max: m.compare.max }),
    ...(m.compare?.min === undefined ? {} : { min: m.compare.min }),
    ...(m.compare?.minChange === undefined ? {} : { minChange: m.compare.minChange }),
  };
  const base = {
    id: m.id,
    critical: m.critical ?? MONITOR_DEFAULTS.critical,
    compare,
    minSamples: m.minSamples ?? MONITOR_DEFAULTS.minSamples,
    timeoutMs: ms(m.timeout ?? MONITOR_DEFAULTS.timeout),
  };

  if ('http' in m) {
    const h = m.http;
    const latency = h.maxLatency ?? h.expect?.maxLatency;
    return {
      ...base,
      kind: 'http',
      http: {
        url: h.url,
        method: h.method ?? MONITOR_DEFAULTS.httpMethod,
        headers: strings([...path, 'http', 'headers'], h.headers),
        ...(h.body === undefined ? {} : { body: h.body }),
        expectStatus: statuses(h.expect?.status),
        ...(h.expect?.body === undefined ? {} : { expectBody: h.expect.body }),
        expectJson: { ...(h.expect?.json ?? {}) } as Record<string, JsonScalar>,
        ...(latency === undefined ? {} : { maxLatencyMs: ms(latency) }),
      },
    };
  }
  if ('prometheus' in m) {
    const p = m.prometheus;
    const r = p.range;
    return {
      ...base,
      kind: 'prometheus',
      prometheus: {
        url: p.url,
        headers: strings([...path, 'prometheus', 'headers'], p.headers),
        query: r?.query ?? (p.query as string),
        ...(r === undefined
          ? {}
          : {
              range: {
                windowMs: ms(r.window),
                stepMs: ms(r.step),
                aggregate: r.aggregate ?? MONITOR_DEFAULTS.rangeAggregate,
              },
            }),
      },
    };
  }
  if ('json' in m) {
    const j = m.json;
    return {
      ...base,
      kind: 'json',
      json: { url: j.url, headers: strings([...path, 'json', 'headers'], j.headers), path: j.path },
    };
  }
  if ('sql' in m) {
    const s = m.sql;
    return {
      ...base,
      kind: 'sql',
      sql:
        s.driver === 'postgres'
          ? {
              driver: 'postgres',
              url: s.url as string,
              ...(s.password === undefined ? {} : { password: s.password }),
              query: s.query,
            }
          : { driver: 'sqlite', path: s.path as string, query: s.query },
    };
  }
  if ('auth' in m) {
    const a = m.auth;
    return {
      ...base,
      kind: 'auth',
      auth: {
        url: a.url,
        method: a.method ?? MONITOR_DEFAULTS.authMethod,
        headers: strings([...path, 'auth', 'headers'], a.headers),
        ...(a.body === undefined ? {} : { body: a.body }),
        expectStatus: statuses(a.expect?.status),
        ...(a.expect?.body === undefined ? {} : { expectBody: a.expect.body }),
        ...(a.maxLatency === undefined ? {} : { maxLatencyMs: ms(a.maxLatency) }),
        ...(a.tokenPath === undefined ? {} : { tokenPath: a.tokenPath }),
      },
    };
  }
  const c = m.command;
  return {
    ...base,
    kind: 'command',
    command: {
      command: typeof c.run === 'string' ? { shell: c.run } : { argv: [...c.run] },
      env: strings([...path, 'command', 'env'], c.env),
      ...(c.cwd === undefined ? {} : { cwd: c.cwd }),
      on: c.on ?? MONITOR_DEFAULTS.commandOn,
      value: c.value ?? MONITOR_DEFAULTS.commandValue,
    },
  };
}

function ms(value: string | number): number {
  return typeof value === 'number' ? value : (parseDuration(value) as number);
}

/** `'20%'` or `0.2` → 0.2. */
function fraction(value: string | number): number {
  return typeof value === 'number' ? value : Number.parseFloat(value) / 100;
}
