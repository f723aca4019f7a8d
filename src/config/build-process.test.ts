import { describe, expect, it } from 'vitest';
import type {
  ApprovalStep,
  BenchmarkStep,
  ChecklistStep,
  CoverageStep,
  JunitStep,
  LoadStep,
  NpmAuditStep,
  SarifStep,
} from '../core/process.js';
import { compileProcess } from './load-process.js';

/** Two environments, production with a window; tests append phases. */
const BASE = `version: 1
app: shop
roles:
  qa: [quinn]
  security: [sam, sue]
  devops: [dana]
  pm: [pat]
artifact:
  path: dist/shop-{{ release }}.tar.gz
vars: { HOST: 127.0.0.1, PORT: '8080' }
service:
  start: [bin/start]
  stop: [bin/stop]
environments:
  staging:
    target: { root: targets/staging }
  production:
    target: { root: /srv/shop }
    windows:
      - { cron: '0 22 * * 1-5', duration: 4h, timezone: Europe/Berlin }
      - { rrule: 'FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30', duration: 90m, timezone: UTC }
    freezes:
      - { from: 2026-12-20, to: 2027-01-04, reason: Year-end freeze }
      - { from: '2027-03-01T18:00Z', to: '2027-03-02T06:00Z', reason: Migration }
phases:
`;

const compile = (phases: string, base = BASE) => compileProcess(`${base}${phases}`, '/srv/shop/slipway.yaml');

describe('compiling windows, freezes and policy', () => {
  const p = compile(`  - id: deploy
    steps:
      - { id: ship, release: {} }
`);

  it('compiles windows with durations in ms', () => {
    expect(p.environments.production?.windows).toEqual([
      { cron: '0 22 * * 1-5', durationMs: 4 * 3_600_000, timezone: 'Europe/Berlin' },
      { rrule: 'FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30', durationMs: 90 * 60_000, timezone: 'UTC' },
    ]);
    expect(p.environments.staging?.windows).toEqual([]);
  });

  it("reads freeze dates in the first window's timezone, a date alone as the whole day", () => {
    expect(p.environments.production?.freezes).toEqual([
      {
        // Midnight in Berlin (CET, UTC+1) starts the 20th; the 4th is frozen to its end.
        fromMs: Date.parse('2026-12-19T23:00:00Z'),
        toMs: Date.parse('2027-01-04T23:00:00Z'),
        reason: 'Year-end freeze',
      },
      {
        fromMs: Date.parse('2027-03-01T18:00:00Z'),
        toMs: Date.parse('2027-03-02T06:00:00Z'),
        reason: 'Migration',
      },
    ]);
  });

  it('reads freezes in freezeTimezone when given, else UTC without windows', () => {
    const freeze = `    freezes:
      - { from: 2026-12-24, to: 2026-12-24, reason: Christmas Eve }
`;
    const zoned = compile(
      '  - { id: deploy, steps: [{ id: ship, release: {} }] }\n',
      BASE.replace(
        / {4}windows:[\s\S]*?phases:\n/,
        `${freeze}    freezeTimezone: America/New_York\nphases:\n`,
      ),
    );
    expect(zoned.environments.production?.freezes[0]).toMatchObject({
      fromMs: Date.parse('2026-12-24T05:00:00Z'),
      toMs: Date.parse('2026-12-25T05:00:00Z'),
    });
    const utc = compile(
      '  - { id: deploy, steps: [{ id: ship, release: {} }] }\n',
      BASE.replace(/ {4}windows:[\s\S]*?phases:\n/, `${freeze}phases:\n`),
    );
    expect(utc.environments.production?.freezes[0]).toMatchObject({
      fromMs: Date.parse('2026-12-24T00:00:00Z'),
      toMs: Date.parse('2026-12-25T00:00:00Z'),
    });
  });

  it('applies the policy and emergency defaults, and takes them as written', () => {
    expect(p.policy).toEqual({ starterCannotApprove: true, onePersonOneRole: true });
    expect(p.environments.production?.emergencyApprovers).toEqual(['devops', 'pm']);
    const own = compile(
      '  - { id: deploy, steps: [{ id: ship, release: {} }] }\n',
      BASE.replace('artifact:', 'policy: { onePersonOneRole: false }\nartifact:').replace(
        '    freezes:',
        '    emergency: { approvers: [security] }\n    freezes:',
      ),
    );
    expect(own.policy).toEqual({ starterCannotApprove: true, onePersonOneRole: false });
    expect(own.environments.production?.emergencyApprovers).toEqual(['security']);
  });
});

describe('compiling phases', () => {
  it('makes phases that change the target windowed unless they say otherwise', () => {
    const p = compile(`  - id: plan
    steps:
      - { id: ok, approval: { roles: [pm] } }
  - id: migrate
    steps:
      - { id: migrate, run: [bin/migrate], on: target }
  - id: local
    steps:
      - { id: build, run: [npm, run, build] }
  - id: config
    steps:
      - { id: render, config: [{ template: app.env.tmpl, dest: .env }] }
  - id: bounce
    window: false
    expectedDuration: 1d
    steps:
      - { id: restart, restart: {} }
  - id: check
    window: true
    expectedDuration: 45m
    steps:
      - { id: ping, http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/' } }
`);
    expect(p.phases.map((ph) => [ph.id, ph.windowed])).toEqual([
      ['plan', false],
      ['migrate', true],
      ['local', false],
      ['config', true],
      ['bounce', false],
      ['check', true],
    ]);
    expect(p.phases[5]?.expectedDurationMs).toBe(45 * 60_000);
    expect(p.phases[0]).not.toHaveProperty('expectedDurationMs');
  });
});

describe('compiling gates', () => {
  const p = compile(`  - id: test
    environments: [staging]
    steps:
      - { id: unit, run: [npm, test] }
      - { id: unit-results, junit: { path: 'reports/*.xml' } }
      - { id: strict-results, junit: { path: 'reports/*.xml', minTests: 0, maxFailures: 2, maxSkipped: 10 }, timeout: 5m }
      - { id: tested, checklist: { item: Development testing completed, auto: unit-results } }
      - { id: scan, sarif: { path: reports/scan.sarif } }
      - id: scan-strict
        sarif:
          path: reports/scan.sarif
          max: { error: 0, warning: 10 }
          allow: [{ id: js/xss, until: 2027-01-31, reason: 'false positive, see SEC-12' }]
      - { id: audit, npm-audit: { path: reports/audit.json } }
      - { id: audit-all, npm-audit: { path: reports/audit.json, max: { moderate: 3 }, allow: [] } }
      - { id: perf, benchmark: { path: reports/bench.json } }
      - { id: throughput, benchmark: { path: reports/bench.json, better: bigger, threshold: 0.05 } }
      - { id: cov, coverage: { path: coverage/lcov.info, minLines: 80 } }
      - { id: cov-both, coverage: { path: coverage/lcov.info, minLines: 80.5, minBranches: 70 } }
  - id: staging
    environments: [staging]
    steps:
      - id: load
        load: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/notes', rate: 50, duration: 10s }
      - id: load-all
        load:
          url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/notes'
          method: POST
          headers: { content-type: application/json }
          body: '{}'
          rate: 12.5
          duration: 1m
          connections: 4
          maxP95: 200ms
          maxP99: 1s
          maxErrorRate: 0.5%
          regression: 0.1
        retries: 1
        idempotent: false
      - { id: scanned, checklist: { item: Security scan passed, auto: test.audit, role: security } }
      - { id: manual, checklist: { item: Release notes written, role: pm } }
      - { id: uat, approval: { roles: [qa, security] } }
      - { id: any, approval: { roles: [qa, security], require: any, expires: 48h } }
      - { id: two, approval: { roles: [security], require: 2 } }
`);
  const steps = p.phases.flatMap((ph) => ph.steps);
  const byId = <T>(id: string) => steps.find((s) => s.id === id) as T;

  it('applies the result-gate defaults', () => {
    expect(byId<JunitStep>('unit-results')).toMatchObject({
      kind: 'junit',
      path: 'reports/*.xml',
      minTests: 1,
      maxFailures: 0,
      timeoutMs: 60_000,
      idempotent: true,
      retry: { count: 0 },
    });
    expect(byId<JunitStep>('unit-results')).not.toHaveProperty('maxSkipped');
    expect(byId<JunitStep>('strict-results')).toMatchObject({
      minTests: 0,
      maxFailures: 2,
      maxSkipped: 10,
      timeoutMs: 300_000,
    });
    expect(byId<SarifStep>('scan')).toMatchObject({ kind: 'sarif', max: { error: 0 }, allow: [] });
    expect(byId<SarifStep>('scan-strict')).toMatchObject({
      max: { error: 0, warning: 10 },
      // The exception holds through the 31st (UTC).
      allow: [
        { id: 'js/xss', untilMs: Date.parse('2027-02-01T00:00:00Z'), reason: 'false positive, see SEC-12' },
      ],
    });
    expect(byId<NpmAuditStep>('audit')).toMatchObject({ kind: 'npm-audit', max: { critical: 0, high: 0 } });
    // A `max` given replaces the default: severities not listed are not limited.
    expect(byId<NpmAuditStep>('audit-all').max).toEqual({ moderate: 3 });
    expect(byId<BenchmarkStep>('perf')).toMatchObject({ better: 'smaller', threshold: 0.2 });
    expect(byId<BenchmarkStep>('throughput')).toMatchObject({ better: 'bigger', threshold: 0.05 });
    expect(byId<CoverageStep>('cov')).toEqual(expect.objectContaining({ kind: 'coverage', minLines: 80 }));
    expect(byId<CoverageStep>('cov')).not.toHaveProperty('minBranches');
    expect(byId<CoverageStep>('cov-both')).toMatchObject({ minLines: 80.5, minBranches: 70 });
  });

  it('applies the load defaults and reads percentages as fractions', () => {
    expect(byId<LoadStep>('load')).toEqual(
      expect.objectContaining({
        kind: 'load',
        method: 'GET',
        headers: {},
        rate: 50,
        durationMs: 10_000,
        connections: 10,
        maxErrorRate: 0.01,
        regression: 0.2,
        timeoutMs: 30 * 60_000,
        idempotent: true,
      }),
    );
    expect(byId<LoadStep>('load')).not.toHaveProperty('maxP95Ms');
    expect(byId<LoadStep>('load-all')).toMatchObject({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      rate: 12.5,
      durationMs: 60_000,
      connections: 4,
      maxP95Ms: 200,
      maxP99Ms: 1000,
      maxErrorRate: 0.005,
      regression: 0.1,
      retry: { count: 1 },
      idempotent: false,
    });
  });

  it('compiles automatic checklist items to the phase and step they name', () => {
    expect(byId<ChecklistStep>('tested')).toMatchObject({ auto: { phase: 'test', step: 'unit-results' } });
    expect(byId<ChecklistStep>('tested')).not.toHaveProperty('role');
    expect(byId<ChecklistStep>('scanned')).toMatchObject({
      auto: { phase: 'test', step: 'audit' },
      role: 'security',
      timeoutMs: 0,
    });
    expect(byId<ChecklistStep>('manual')).not.toHaveProperty('auto');
  });

  it('compiles approval rules and expiry', () => {
    expect(byId<ApprovalStep>('uat')).toMatchObject({ rule: { mode: 'all' }, timeoutMs: 0 });
    expect(byId<ApprovalStep>('uat')).not.toHaveProperty('expiresMs');
    expect(byId<ApprovalStep>('any')).toMatchObject({ rule: { mode: 'any' }, expiresMs: 48 * 3_600_000 });
    expect(byId<ApprovalStep>('two')).toMatchObject({ rule: { mode: 'count', count: 2 } });
  });
});
