import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileProcess } from '../config/load-process.js';
import { planDeployment, worstCaseDuration } from './plan.js';

const file = fileURLToPath(new URL('../../examples/notes/slipway.yaml', import.meta.url));
const notes = compileProcess(readFileSync(file, 'utf8'), file);

describe('planDeployment', () => {
  it('plans production: only its phases, its gates in order, promotion still missing', () => {
    const plan = planDeployment(notes, {
      environment: 'production',
      release: 'v2',
      currentRelease: 'v1',
      succeededIn: [],
    });
    expect(plan.phases.map((p) => p.id)).toEqual(['plan', 'production', 'validate']);
    expect(plan.phases[1]?.steps.map((s) => `${s.id}:${s.kind}`)).toEqual([
      'go-ahead:approval',
      'backup:backup',
      'verify-backup:verify-backup',
      'ship:release',
      'render-config:config',
      'integrity-before:integrity',
      'migrate:migrate',
      'baseline:baseline',
      'restart:restart',
      'smoke:smoke',
      'integrity-after:integrity',
      'bake:bake',
    ]);
    expect(plan.gates).toEqual([
      'checklist "Requirements documented and approved" by pm (plan.requirements-approved)',
      'checklist "Stakeholders notified of the schedule" by pm (plan.stakeholders-notified)',
      'checklist "Rollback plan prepared" by devops (plan.rollback-plan)',
      'approval by devops (production.go-ahead)',
    ]);
    expect(plan.missingPromotions).toEqual(['staging']);
    expect(plan.currentRelease).toBe('v1');
    expect(plan.autoRollback).toBe(true);
  });

  it('is pure: the same input gives the same plan, and staging needs no promotion', () => {
    const ctx = { environment: 'staging', release: 'v1', currentRelease: null, succeededIn: [] };
    expect(planDeployment(notes, ctx)).toEqual(planDeployment(notes, ctx));
    const plan = planDeployment(notes, ctx);
    expect(plan.missingPromotions).toEqual([]);
    expect(plan.phases.map((p) => p.id)).toEqual(['plan', 'test', 'staging', 'validate']);
    expect(plan.phases[1]?.steps[0]).toMatchObject({ kind: 'run', idempotent: true, timeoutMs: 120_000 });
    expect(worstCaseDuration(plan)).toMatch(/m/);
  });
});
