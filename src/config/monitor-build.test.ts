import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { compileProcess } from './load-process.js';

function compile(monitors: string) {
  const source = `version: 1
app: shop
artifact: { path: shop.tgz }
environments:
  production:
    target: { root: /srv/shop }
    secrets: { DB_URL: { env: DB_URL } }
    monitors:
${monitors}
phases:
  - id: deploy
    steps:
      - { id: noop, run: [node, -e, '0'] }
`;
  return compileProcess(source, 'slipway.yaml');
}

function problems(monitors: string): string[] {
  try {
    compile(monitors);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.line}:${p.col} ${p.message}`);
    throw e;
  }
  return [];
}

describe('compiling monitors', () => {
  it('applies the documented defaults', () => {
    const [m] =
      compile(`      - id: health\n        http: { url: 'http://127.0.0.1:8080/health' }`).environments
        .production?.monitors ?? [];
    expect(m).toEqual({
      id: 'health',
      kind: 'http',
      critical: false,
      compare: { direction: 'lower-is-better', maxDegradation: 0.2 },
      minSamples: 3,
      timeoutMs: 5000,
      http: {
        url: 'http://127.0.0.1:8080/health',
        method: 'GET',
        headers: {},
        expectStatus: [200],
        expectJson: {},
      },
    });
  });

  it('compiles every kind with its own keys', () => {
    const monitors = compile(`      - id: p95
        prometheus: { url: 'http://127.0.0.1:9090', range: { query: up, window: 1m, step: 5s } }
        compare: { direction: higher-is-better, maxDegradation: 0.1, min: 1 }
        minSamples: 5
        timeout: 2s
      - id: login
        critical: true
        auth: { url: 'http://127.0.0.1:8080/login', expect: { status: [200, 201] }, tokenPath: $.token, maxLatency: 1s }
      - id: orders
        sql: { driver: postgres, url: '{{ secrets.DB_URL }}', query: select count(*) from orders }
      - id: worker
        command: { run: check-worker --quick, on: target, value: stdout-number }
      - id: status
        http: { url: 'http://127.0.0.1:8080/status', expect: { json: { $.status: ok, '$.items[0].n': 3, $.gone: null } } }`)
      .environments.production?.monitors;
    expect(monitors?.map((m) => m.kind)).toEqual(['prometheus', 'auth', 'sql', 'command', 'http']);
    expect(monitors?.[0]).toMatchObject({
      compare: { direction: 'higher-is-better', maxDegradation: 0.1, min: 1 },
      minSamples: 5,
      timeoutMs: 2000,
      prometheus: { query: 'up', range: { windowMs: 60_000, stepMs: 5000, aggregate: 'avg' } },
    });
    expect(monitors?.[1]).toMatchObject({
      critical: true,
      auth: { method: 'POST', expectStatus: [200, 201], tokenPath: '$.token', maxLatencyMs: 1000 },
    });
    expect(monitors?.[2]).toMatchObject({ sql: { driver: 'postgres', url: '{{ secrets.DB_URL }}' } });
    expect(monitors?.[3]).toMatchObject({
      command: { command: { shell: 'check-worker --quick' }, on: 'target', value: 'stdout-number' },
    });
    expect(monitors?.[4]).toMatchObject({
      http: { expectJson: { '$.status': 'ok', '$.items[0].n': 3, '$.gone': null } },
    });
  });

  it('an environment without monitors has none', () => {
    const process = compileProcess(
      `version: 1\napp: shop\nartifact: { path: a.tgz }\nenvironments:\n  staging: { target: { root: /srv } }\nphases:\n  - { id: p, steps: [{ id: s, run: [node] }] }\n`,
      'slipway.yaml',
    );
    expect(process.environments.staging?.monitors).toEqual([]);
  });

  it('refuses what one schema cannot say, each at its place', () => {
    expect(
      problems(`      - id: a
        http: { url: 'http://127.0.0.1/x', maxLatency: 1s, expect: { maxLatency: 2s } }
      - id: b
        prometheus: { url: 'http://127.0.0.1:9090', query: up, range: { query: up, window: 1m, step: 5s } }
      - id: c
        prometheus: { url: 'http://127.0.0.1:9090', range: { query: up, window: 5s, step: 1m } }
      - id: d
        json: { url: 'http://127.0.0.1/x', path: '$.a' }
        compare: { min: 5, max: 1 }
        timeout: 1h
      - id: e
        sql: { driver: sqlite, path: a.db, url: 'postgresql://x@h/db', query: select 1 }
      - id: f
        http: { url: 'http://127.0.0.1/x', expect: { json: { 'status': ok } } }`),
    ).toEqual([
      '10:70 maxLatency is given twice',
      '12:64 a prometheus monitor has either "query" or "range", found both',
      '14:91 the step ("1m") is longer than the window ("5s")',
      '17:25 compare.min (5) is above compare.max (1)',
      '18:18 a monitor\'s timeout is at most 10m, found "1h"',
      '20:44 "url" does not apply to driver sqlite',
      '22:62 expected a JSON path like $.status or $.items[0].id, found "status"',
    ]);
  });
});
