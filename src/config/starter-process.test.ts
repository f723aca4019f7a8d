import { describe, expect, it } from 'vitest';
import type { ChecklistStep } from '../core/process.js';
import { compileProcess } from './load-process.js';
import { MINIMAL_PROCESS, STARTER_PROCESS } from './starter-process.js';

describe('STARTER_PROCESS', () => {
  const p = compileProcess(STARTER_PROCESS, '/srv/my-app/slipway.yaml');

  it('compiles, with the placeholder target relative to the file', () => {
    expect(p.app).toBe('my-app');
    expect(p.environments.staging?.target.root).toBe('/srv/my-app/targets/staging');
    expect(p.environments.production?.requires).toEqual(['staging']);
  });

  it("holds the seed's phases, production steps in the seed's order", () => {
    expect(p.phases.map((ph) => ph.id)).toEqual(['plan', 'test', 'staging', 'production', 'validate']);
    const production = p.phases.find((ph) => ph.id === 'production');
    expect(production?.steps.map((s) => s.kind)).toEqual([
      'checklist',
      'checklist',
      'release',
      'config',
      'run',
      'restart',
      'smoke',
    ]);
    expect(production?.steps[1]).toMatchObject({ item: 'Final backup verified' });
    expect(production?.steps[4]).toMatchObject({ id: 'migrate', on: 'target' });
    const staging = p.phases.find((ph) => ph.id === 'staging');
    expect(staging?.steps.at(-1)).toMatchObject({ kind: 'approval', roles: ['qa'] });
  });

  it("has every item of the seed's checklists", () => {
    const items = p.phases.flatMap((ph) =>
      ph.steps.filter((s): s is ChecklistStep => s.kind === 'checklist').map((s) => s.item),
    );
    for (const item of [
      'Requirements documented and approved',
      'Development testing completed',
      'Security scan passed',
      'Backup completed and verified',
      'Rollback plan prepared',
      'Production deployment window confirmed',
      'Post-deployment validation passed',
    ]) {
      expect(items).toContain(item);
    }
    expect(items.some((i) => i.startsWith('Stakeholders notified'))).toBe(true);
    expect(Object.keys(p.roles)).toEqual(['developer', 'qa', 'devops', 'security', 'pm']);
  });

  it('ticks the items a step proves automatically, the others by role', () => {
    const checklist = p.phases
      .flatMap((ph) => ph.steps)
      .filter((s): s is ChecklistStep => s.kind === 'checklist');
    const automatic = Object.fromEntries(checklist.filter((s) => s.auto).map((s) => [s.item, s.auto]));
    expect(automatic).toEqual({
      'Development testing completed': { phase: 'test', step: 'test-results' },
      'Security scan passed': { phase: 'test', step: 'audit' },
      'Staging deployment successful': { phase: 'staging', step: 'smoke' },
    });
    expect(checklist.filter((s) => !s.auto).every((s) => s.role !== undefined)).toBe(true);
  });

  it('gates testing on its reports and staging on a load test', () => {
    const kinds = (id: string) => p.phases.find((ph) => ph.id === id)?.steps.map((s) => s.kind) ?? [];
    expect(kinds('test')).toEqual(expect.arrayContaining(['junit', 'npm-audit', 'coverage', 'benchmark']));
    const staging = kinds('staging');
    expect(staging.indexOf('load')).toBeGreaterThan(staging.indexOf('smoke'));
  });

  it('deploys production in a weekday-evening window, after a go-ahead that expires', () => {
    expect(p.environments.production?.windows).toEqual([
      { cron: '0 18 * * 1-5', durationMs: 3 * 3_600_000, timezone: 'UTC' },
    ]);
    expect(p.environments.production?.freezes).toEqual([]);
    expect(p.environments.production?.emergencyApprovers).toEqual(['devops', 'pm']);
    expect(p.environments.staging?.windows).toEqual([]);
    expect(p.phases.map((ph) => [ph.id, ph.windowed])).toEqual([
      ['plan', false],
      ['test', false],
      ['staging', true],
      ['production', true],
      ['validate', false],
    ]);
    expect(p.phases.find((ph) => ph.id === 'production')?.expectedDurationMs).toBe(30 * 60_000);
    const goAhead = p.phases.flatMap((ph) => ph.steps).find((s) => s.id === 'go-ahead');
    expect(goAhead).toMatchObject({ kind: 'approval', rule: { mode: 'all' }, expiresMs: 24 * 3_600_000 });
    expect(p.policy).toEqual({ starterCannotApprove: true, onePersonOneRole: true });
  });

  it('keeps the commented freeze and allow examples valid', () => {
    const uncommented = STARTER_PROCESS.replace('# freezes:', 'freezes:')
      .replace('#   - { from:', '  - { from:')
      .replace('# allow: [', 'allow: [');
    const q = compileProcess(uncommented, '/srv/my-app/slipway.yaml');
    expect(q.environments.production?.freezes).toEqual([
      {
        fromMs: Date.parse('2026-12-20T00:00:00Z'),
        toMs: Date.parse('2027-01-05T00:00:00Z'),
        reason: 'Year-end freeze',
      },
    ]);
    expect(q.phases.flatMap((ph) => ph.steps).find((s) => s.id === 'audit')).toMatchObject({
      allow: [
        {
          id: 'GHSA-xxxx-xxxx-xxxx',
          untilMs: Date.parse('2027-02-01T00:00:00Z'),
          reason: 'not reachable, see SEC-12',
        },
      ],
    });
  });
});

describe('MINIMAL_PROCESS', () => {
  it('compiles: staging then production, a QA sign-off in staging, smoke checks that roll back', () => {
    const p = compileProcess(MINIMAL_PROCESS, '/srv/my-app/slipway.yaml');
    expect(Object.keys(p.environments)).toEqual(['staging', 'production']);
    expect(p.environments.production?.requires).toEqual(['staging']);
    expect(p.phases.map((ph) => ph.steps.map((s) => s.kind))).toEqual([
      ['release', 'restart', 'http'],
      ['approval'],
    ]);
    expect(p.environments.production?.rollback.auto).toBe(true);
  });
});
