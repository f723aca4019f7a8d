import { describe, expect, it } from 'vitest';
import { viewDeployment } from './deployment-view.js';
import type { AnyNewEvent, AnyStoredEvent } from './events.js';
import { nextAction } from './next-action.js';
import type { Plan, PlannedStep } from './plan.js';

const step = (id: string, kind: PlannedStep['kind'], idempotent = true): PlannedStep => ({
  id,
  name: id,
  kind,
  summary: id,
  idempotent,
  timeoutMs: 1000,
  ...(kind === 'approval' ? { gate: { roles: ['qa'] } } : {}),
});

const plan: Plan = {
  app: 'a',
  environment: 'prod',
  release: 'v1',
  currentRelease: null,
  target: 'local:/t',
  phases: [
    { id: 'p1', name: 'p1', steps: [step('build', 'run', false), step('uat', 'approval')] },
    { id: 'p2', name: 'p2', steps: [step('ship', 'release')] },
  ],
  gates: [],
  missingPromotions: [],
  autoRollback: true,
  emergency: false,
  people: {},
};

/** A log: the created event plus these, stamped as a store would. */
function log(...events: AnyNewEvent[]): AnyStoredEvent[] {
  const all: AnyNewEvent[] = [
    {
      type: 'deployment.created',
      payload: {
        app: 'a',
        environment: 'prod',
        release: 'v1',
        artifactSha256: '0'.repeat(64),
        processSource: '',
        processSourceHash: '',
        processFile: '/x/slipway.yaml',
        plan,
        actor: { user: 'dev', via: 'env' },
        varOverrides: {},
      },
    },
    ...events,
  ];
  return all.map(
    (e, i) =>
      ({
        ...e,
        id: i + 1,
        deploymentId: 1,
        seq: i + 1,
        at: new Date(1000 * i).toISOString(),
        prevHash: '',
        hash: '',
      }) as AnyStoredEvent,
  );
}

const next = (...events: AnyNewEvent[]) => nextAction(viewDeployment(log(...events)));
const started = (s: string, attempt = 1): AnyNewEvent => ({
  type: 'step.started',
  payload: { phase: s === 'ship' ? 'p2' : 'p1', step: s, attempt },
});
const ok = (s: string, attempt = 1): AnyNewEvent => ({
  type: 'step.succeeded',
  payload: { phase: s === 'ship' ? 'p2' : 'p1', step: s, attempt, durationMs: 1, summary: 'ok' },
});

describe('nextAction', () => {
  it('starts the first phase, then its first step', () => {
    expect(next()).toEqual({ kind: 'start-phase', phase: 'p1' });
    expect(next({ type: 'phase.started', payload: { phase: 'p1' } })).toEqual({
      kind: 'run-step',
      phase: 'p1',
      step: 'build',
      attempt: 1,
    });
  });

  it('sees an attempt that never ended as interrupted', () => {
    expect(next({ type: 'phase.started', payload: { phase: 'p1' } }, started('build'))).toEqual({
      kind: 'interrupted',
      phase: 'p1',
      step: 'build',
      attempt: 1,
    });
  });

  it('retries at the recorded time, and opens a gate after a success', () => {
    const failed: AnyNewEvent = {
      type: 'step.failed',
      payload: {
        phase: 'p1',
        step: 'build',
        attempt: 1,
        durationMs: 1,
        code: 'SLW_STEP_FAILED',
        error: 'x',
        willRetry: true,
        retryInMs: 500,
      },
    };
    expect(next({ type: 'phase.started', payload: { phase: 'p1' } }, started('build'), failed)).toMatchObject(
      {
        kind: 'run-step',
        attempt: 2,
        notBefore: new Date(3000 + 500).toISOString(),
      },
    );
    expect(next({ type: 'phase.started', payload: { phase: 'p1' } }, started('build'), ok('build'))).toEqual({
      kind: 'open-gate',
      phase: 'p1',
      step: 'uat',
    });
  });

  it('waits while a gate is open and fails when it is rejected', () => {
    const base: AnyNewEvent[] = [
      { type: 'phase.started', payload: { phase: 'p1' } },
      started('build'),
      ok('build'),
      { type: 'gate.waiting', payload: { phase: 'p1', step: 'uat', gate: 'approval', roles: ['qa'] } },
    ];
    expect(next(...base)).toEqual({ kind: 'wait', phase: 'p1', step: 'uat' });
    const actor = { user: 'quinn', via: 'env' } as const;
    expect(
      next(...base, {
        type: 'gate.rejected',
        payload: { phase: 'p1', step: 'uat', role: 'qa', actor, comment: 'no' },
      }),
    ).toMatchObject({
      kind: 'fail',
      code: 'SLW_GATE_REJECTED',
    });
    expect(
      next(...base, {
        type: 'gate.approved',
        payload: { phase: 'p1', step: 'uat', role: 'qa', actor, comment: '', remaining: [] },
      }),
    ).toEqual({ kind: 'finish-phase', phase: 'p1' });
  });

  it('rolls back while rolling back, succeeds at the end, and is done when final', () => {
    const through: AnyNewEvent[] = [
      { type: 'phase.started', payload: { phase: 'p1' } },
      started('build'),
      ok('build'),
      { type: 'gate.waiting', payload: { phase: 'p1', step: 'uat', gate: 'approval', roles: ['qa'] } },
      {
        type: 'gate.checked',
        payload: { phase: 'p1', step: 'uat', role: 'qa', actor: { user: 'q', via: 'env' }, comment: '' },
      },
      { type: 'phase.succeeded', payload: { phase: 'p1' } },
      { type: 'phase.started', payload: { phase: 'p2' } },
      started('ship'),
      ok('ship'),
      { type: 'phase.succeeded', payload: { phase: 'p2' } },
    ];
    expect(next(...through)).toEqual({ kind: 'succeed' });
    expect(next(...through, { type: 'deployment.succeeded', payload: { durationMs: 1 } })).toEqual({
      kind: 'done',
    });
    expect(
      next(...through, {
        type: 'rollback.started',
        payload: { reason: 'r', trigger: 'step-failed', toRelease: 'v0', toReleaseDir: 'v0-d1' },
      }),
    ).toEqual({ kind: 'rollback' });
  });
});
