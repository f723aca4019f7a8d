/** Checks of `monitors:` that one schema cannot express: unique ids, one query shape, driver needs, URLs, JSON paths. */

import { parseDuration } from '../core/duration.js';
import { parseJsonPath } from '../monitors/json/json-path.js';
import { MAX_MONITOR_TIMEOUT_MS, type MonitorInput } from './monitor-schema.js';
import { type ProblemList, show } from './problems.js';
import type { ProcessFile } from './schema.js';
import type { KeyPath } from './yaml-positions.js';

export function checkMonitors(file: ProcessFile, problems: ProblemList): void {
  for (const [name, env] of Object.entries(file.environments)) {
    const seen = new Map<string, number>();
    (env.monitors ?? []).forEach((m, i) => {
      const path = ['environments', name, 'monitors', i];
      const earlier = seen.get(m.id);
      if (earlier === undefined) seen.set(m.id, i);
      else
        problems.add([...path, 'id'], `duplicate monitor id "${m.id}", already used by monitors.${earlier}`, {
          hint: 'monitor ids must be unique within an environment: baselines, triggers and reports name them',
        });
      checkMonitor(m, path, problems);
    });
  }
}

function checkMonitor(m: MonitorInput, path: KeyPath, problems: ProblemList): void {
  if (m.timeout !== undefined && ms(m.timeout) > MAX_MONITOR_TIMEOUT_MS) {
    problems.add([...path, 'timeout'], `a monitor's timeout is at most 10m, found ${show(m.timeout)}`, {
      hint: 'a sample is taken every few seconds: a check that needs longer belongs in a step',
    });
  }
  const c = m.compare;
  if (c?.min !== undefined && c.max !== undefined && c.min > c.max) {
    problems.add([...path, 'compare', 'min'], `compare.min (${c.min}) is above compare.max (${c.max})`, {
      hint: 'no value could pass: swap them',
    });
  }
  if ('http' in m) {
    const h = m.http;
    checkUrl(h.url, [...path, 'http', 'url'], problems);
    if (h.maxLatency !== undefined && h.expect?.maxLatency !== undefined) {
      problems.add([...path, 'http', 'expect', 'maxLatency'], 'maxLatency is given twice', {
        at: 'key',
        hint: 'keep one: http.maxLatency or http.expect.maxLatency',
      });
    }
    for (const key of Object.keys(h.expect?.json ?? {})) {
      checkJsonPath(key, [...path, 'http', 'expect', 'json', key], problems, 'key');
    }
  }
  if ('prometheus' in m) {
    const p = m.prometheus;
    const at = [...path, 'prometheus'];
    checkUrl(p.url, [...at, 'url'], problems);
    if ((p.query === undefined) === (p.range === undefined)) {
      problems.add(
        p.query === undefined ? at : [...at, 'range'],
        p.query === undefined
          ? 'a prometheus monitor needs a PromQL query: "query" (instant) or "range"'
          : 'a prometheus monitor has either "query" or "range", found both',
        {
          ...(p.query === undefined ? {} : { at: 'key' as const }),
          hint: "query: 'sum(rate(http_requests_total[1m]))', or range: { query: …, window: 1m, step: 5s }",
        },
      );
    }
    if (p.range !== undefined && ms(p.range.step) > ms(p.range.window)) {
      problems.add(
        [...at, 'range', 'step'],
        `the step (${show(p.range.step)}) is longer than the window (${show(p.range.window)})`,
        { hint: 'a range needs several points: e.g. window: 1m, step: 5s' },
      );
    }
  }
  if ('json' in m) {
    checkUrl(m.json.url, [...path, 'json', 'url'], problems);
    checkJsonPath(m.json.path, [...path, 'json', 'path'], problems);
  }
  if ('auth' in m) {
    checkUrl(m.auth.url, [...path, 'auth', 'url'], problems);
    if (m.auth.tokenPath !== undefined)
      checkJsonPath(m.auth.tokenPath, [...path, 'auth', 'tokenPath'], problems);
  }
  if ('sql' in m) {
    const s = m.sql;
    const at = [...path, 'sql'];
    const needs = s.driver === 'postgres' ? 'url' : 'path';
    if (s[needs] === undefined) {
      problems.add(at, `a ${s.driver} sql monitor needs "${needs}"`, {
        hint:
          s.driver === 'postgres'
            ? "url: '{{ secrets.DB_URL }}' or url: postgresql://app@127.0.0.1:5432/app with password: '{{ secrets.DB_PASSWORD }}'"
            : 'path: the database file, e.g. path: data/app.db',
      });
    }
    const foreign = s.driver === 'postgres' ? (['path'] as const) : (['url', 'password'] as const);
    for (const key of foreign) {
      if (s[key] !== undefined)
        problems.add([...at, key], `"${key}" does not apply to driver ${s.driver}`, {
          at: 'key',
          hint: s.driver === 'postgres' ? 'postgres takes url (and password)' : 'sqlite takes path',
        });
    }
    if (s.driver === 'postgres' && s.url !== undefined && !s.url.startsWith('{{')) {
      if (!/^postgres(ql)?:\/\//.test(s.url)) {
        problems.add([...at, 'url'], `expected a postgres:// or postgresql:// URL, found ${show(s.url)}`);
      } else if (/^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(s.url)) {
        problems.add([...at, 'url'], 'the URL holds a password in plain text', {
          hint: "move it to a secret: password: '{{ secrets.DB_PASSWORD }}', or url: '{{ secrets.DB_URL }}'",
        });
      }
    }
  }
}

/** A URL without templates must be one already; with templates it is checked when rendered. */
function checkUrl(url: string, path: KeyPath, problems: ProblemList): void {
  if (url.includes('{{')) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.add(path, `expected an http:// or https:// URL, found ${show(url)}`, {
      hint: 'e.g. http://127.0.0.1:9090',
    });
    return;
  }
  if (parsed.hostname === '')
    problems.add(path, `the URL ${show(url)} names no host`, { hint: 'e.g. http://127.0.0.1:9090' });
  // Not shown in the message: fetch repeats such a URL in its error, so it would reach every failed sample.
  if (parsed.username !== '' || parsed.password !== '')
    problems.add(path, 'the URL holds a user name and password, which would show in every sample', {
      hint: "send them as a header from a secret: headers: { authorization: 'Basic {{ secrets.PROMETHEUS_AUTH }}' }",
    });
}

function checkJsonPath(
  text: string,
  path: KeyPath,
  problems: ProblemList,
  at: 'key' | 'value' = 'value',
): void {
  const parsed = parseJsonPath(text);
  if ('error' in parsed)
    problems.add(path, `expected a JSON path like $.status or $.items[0].id, found ${show(text)}`, {
      at,
      hint: parsed.error,
    });
}

function ms(value: string | number): number {
  return typeof value === 'number' ? value : (parseDuration(value) ?? 0);
}
