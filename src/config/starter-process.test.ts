import { describe, expect, it } from 'vitest';
import type { ChecklistStep } from '../core/process.js';
import { compileProcess } from './load-process.js';
import { STARTER_PROCESS } from './starter-process.js';

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

  it("has every item of the seed's checklists, each ticked by a declared role", () => {
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
});
