import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import type { HttpStep, RunStep, SmokeStep } from '../core/process.js';
import { compileProcess, loadProcess } from './load-process.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/notes/slipway.yaml');

/** A small valid file; tests append to it or replace parts of it. */
const BASE = `version: 1
app: shop
roles:
  qa: [quinn]
artifact:
  path: dist/shop-{{ release }}.tar.gz
vars:
  HOST: 127.0.0.1
  VERSION: 1.10
service:
  start: ['{{ target.current }}/bin/start']
  stop: ['{{ target.current }}/bin/stop']
environments:
  staging:
    target: { root: targets/staging }
    vars: { PORT: 8081 }
    secrets:
      TOKEN: { env: SHOP_TOKEN }
  production:
    target: { root: /srv/shop }
    vars: { PORT: 8080 }
    secrets:
      TOKEN: { file: /etc/shop/token }
    requires: [staging]
    service:
      reload: [systemctl, reload, shop]
phases:
`;

function problemsOf(source: string): ConfigError['problems'] {
  try {
    compileProcess(source, 'slipway.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('compiled without problems');
}

describe('the example process file', () => {
  it('loads and compiles to the documented shape', async () => {
    const p = await loadProcess(EXAMPLE);
    const source = readFileSync(EXAMPLE, 'utf8');
    expect(p.file).toBe(EXAMPLE);
    expect(p.baseDir).toBe(resolve(EXAMPLE, '..'));
    expect(p.source).toBe(source);
    expect(p.sourceHash).toBe(createHash('sha256').update(source).digest('hex'));
    expect(p.app).toBe('notes');
    expect(p.phases.map((ph) => ph.id)).toEqual(['plan', 'test', 'staging', 'production', 'validate']);

    const staging = p.environments.staging;
    expect(staging?.target).toEqual({ type: 'local', root: join(p.baseDir, 'targets/staging') });
    expect(staging?.vars).toMatchObject({ HOST: '127.0.0.1', PORT: '4311' });
    expect(staging?.rollback.auto).toBe(true);
    expect(staging?.requires).toEqual([]);
    expect(p.environments.production?.requires).toEqual(['staging']);
    expect(staging?.service.start).toEqual({ argv: ['node', '{{ target.current }}/ctl.cjs', 'start'] });
    expect(staging?.service.env).toMatchObject({ NOTES_PORT: '{{ vars.PORT }}' });

    const plan = p.phases[0];
    expect(plan?.name).toBe('plan');
    expect(plan?.environments).toBeUndefined();
    expect(plan?.steps[0]).toMatchObject({ kind: 'checklist', role: 'pm', timeoutMs: 0, idempotent: true });

    const unit = p.phases[1]?.steps[0] as RunStep;
    expect(unit).toMatchObject({ kind: 'run', timeoutMs: 120_000, idempotent: true, on: 'controller' });
    expect(unit.command).toEqual({
      argv: [
        'node',
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        '--test-reporter=junit',
        '--test-reporter-destination=reports/junit.xml',
      ],
    });
    expect(unit.cwd).toBe('app/{{ release }}');
    expect(unit.retry).toEqual({ count: 0, delayMs: 1000, maxDelayMs: 30_000 });

    const steps = p.phases[2]?.steps ?? [];
    expect(steps.map((s) => s.kind)).toEqual([
      'backup',
      'verify-backup',
      'release',
      'config',
      'integrity',
      'migrate',
      'restart',
      'smoke',
      'integrity',
      'approval',
    ]);
    const step = (id: string) => steps.find((s) => s.id === id);
    expect(step('ship')).toMatchObject({ kind: 'release', keep: 3, timeoutMs: 600_000 });
    expect(step('restart')).toMatchObject({ kind: 'restart', mode: 'restart', timeoutMs: 120_000 });
    const smoke = step('smoke') as SmokeStep;
    expect(smoke.retry).toEqual({ count: 5, delayMs: 200, maxDelayMs: 30_000 });
    expect(smoke.checks[0]).toEqual({
      id: 'health',
      kind: 'http',
      http: {
        url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/health',
        method: 'GET',
        headers: {},
        expectStatus: [200],
        expectBody: 'ok',
      },
    });
    expect(smoke.checks[1]).toMatchObject({ kind: 'http', http: { method: 'POST', expectStatus: [201] } });

    const versionLive = p.phases[4]?.steps[0] as HttpStep;
    expect(versionLive).toMatchObject({ kind: 'http', timeoutMs: 30_000, idempotent: true });
  });

  it('is deeply frozen', async () => {
    const p = await loadProcess(EXAMPLE);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.environments.staging?.target)).toBe(true);
    expect(Object.isFrozen(p.phases[2]?.steps.find((s) => s.kind === 'smoke'))).toBe(true);
    expect(() => {
      (p.phases as unknown as unknown[]).push({});
    }).toThrow(TypeError);
  });
});

describe('compileProcess', () => {
  it('applies defaults and keeps scalars as written', () => {
    const p = compileProcess(
      `${BASE}  - id: deploy
    environments: [production]
    steps:
      - id: ship
        release:
      - id: reload
        restart: { mode: reload }
      - id: ping
        http:
          url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/'
          headers: { authorization: 'Bearer {{ secrets.TOKEN }}', x-version: 2 }
          expect: { status: [200, 204], maxLatency: 1500 }
        timeout: 1h30m
      - id: notify
        run: 'echo "deployed $RELEASE"'
        env: { RELEASE: '{{ release }}', TOKEN: '{{ secrets.TOKEN }}' }
`,
      'shop/slipway.yaml',
    );
    expect(p.file).toBe(resolve('shop/slipway.yaml'));
    const production = p.environments.production;
    expect(production?.target.root).toBe('/srv/shop');
    expect(production?.vars).toEqual({ HOST: '127.0.0.1', VERSION: '1.10', PORT: '8080' });
    expect(production?.secrets).toEqual({ TOKEN: { file: '/etc/shop/token' } });
    expect(production?.service.reload).toEqual({ argv: ['systemctl', 'reload', 'shop'] });
    expect(production?.service.stop).toEqual({ argv: ['{{ target.current }}/bin/stop'] });
    expect(p.environments.staging?.target.root).toBe(resolve('shop/targets/staging'));

    const [ship, reload, ping, notify] = p.phases[0]?.steps ?? [];
    expect(ship).toMatchObject({ kind: 'release', keep: 5 });
    expect(reload).toMatchObject({ kind: 'restart', mode: 'reload' });
    expect(ping).toMatchObject({
      kind: 'http',
      timeoutMs: 5_400_000,
      http: { expectStatus: [200, 204], maxLatencyMs: 1500, headers: { 'x-version': '2' } },
    });
    expect(notify).toMatchObject({
      kind: 'run',
      command: { shell: 'echo "deployed $RELEASE"' },
      idempotent: false,
      timeoutMs: 600_000,
      on: 'controller',
    });
  });

  it('reports every problem at once, in file order', () => {
    const problems = problemsOf(`version: 1
app: shop
artifact: { path: dist/shop.tar.gz }
environments:
  staging:
    target: { root: x, kind: local }
phases:
  - id: a
    steps:
      - id: one
        run: [npm, test]
        retries: -1
      - id: two
        aproval: { roles: [qa] }
`);
    expect(problems.map((p) => [p.line, p.col, p.path])).toEqual([
      [6, 24, 'environments.staging.target.kind'],
      [12, 18, 'phases.0.steps.0.retries'],
      [14, 9, 'phases.0.steps.1.aproval'],
    ]);
    expect(problems[2]?.hint).toBe('did you mean "approval"?');
    expect(problems.every((p) => p.file === 'slipway.yaml')).toBe(true);
  });

  it('reports reference problems together once the shape is right', () => {
    const problems = problemsOf(`${BASE}  - id: deploy
    environments: [staging]
    steps:
      - id: sign-off
        approval: { roles: [qa, security] }
      - id: reload
        restart: { mode: reload }
      - id: purge
        run: [cdn, purge, '{{ secrets.TOKEN }}']
`);
    expect(problems.map((p) => p.message)).toEqual([
      'unknown role "security"',
      'restart needs service.reload, which environment "staging" lacks',
      '"{{ secrets.TOKEN }}" may not be used in an argv list: it would show in process lists and logs',
    ]);
  });

  it('checks vars and secrets only in the environments a phase runs in', () => {
    const source = `${BASE}  - id: deploy
    environments: [production]
    steps:
      - id: ping
        http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/{{ vars.ONLY_PROD }}' }
`;
    expect(problemsOf(source)[0]?.message).toBe('"{{ vars.ONLY_PROD }}" is not declared');
    const declared = source.replace('vars: { PORT: 8080 }', 'vars: { PORT: 8080, ONLY_PROD: x }');
    expect(compileProcess(declared, 'slipway.yaml').phases).toHaveLength(1);
  });

  it('rejects a malformed template', () => {
    const problems = problemsOf(`${BASE}  - id: a
    steps:
      - id: ping
        http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT/health' }
`);
    expect(problems[0]?.message).toContain('malformed template');
  });

  it('does not expand alias bombs', () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`;
    expect(() => compileProcess(bomb, 'slipway.yaml')).toThrow(ConfigError);
  });

  it('survives pathological nesting', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(() => compileProcess(deep, 'slipway.yaml')).toThrow(ConfigError);
  });
});
