import { describe, expect, it } from 'vitest';
import type { AnyStoredEvent, EventPayloads, EventType } from './events.js';
import { applyFleetEvent, type FleetView, hostsDone } from './fleet-view.js';

let seq = 1;
function ev<T extends EventType>(type: T, payload: EventPayloads[T]): AnyStoredEvent {
  seq++;
  return {
    type,
    payload,
    id: seq,
    deploymentId: 1,
    seq,
    at: new Date(0).toISOString(),
    prevHash: '',
    hash: '',
  } as AnyStoredEvent;
}

function fold(events: readonly AnyStoredEvent[]): FleetView | undefined {
  let fleet: FleetView | undefined;
  for (const e of events) fleet = applyFleetEvent(fleet, e);
  return fleet;
}

const started = ev('rollout.started', {
  phase: 'deploy',
  strategy: 'rolling',
  hosts: ['web1', 'web2'],
  steps: ['ship', 'restart'],
  batches: [['web1'], ['web2']],
});
const step = (
  host: string,
  s: string,
  ok: boolean,
  extra: Partial<EventPayloads['host.step.failed']> = {},
) =>
  ok
    ? ev('host.step.succeeded', {
        phase: 'deploy',
        step: s,
        host,
        attempt: 1,
        durationMs: 5,
        summary: `${s} ok`,
        facts: { switchedTo: 'v2-d2' },
      })
    : ev('host.step.failed', {
        phase: 'deploy',
        step: s,
        host,
        attempt: 1,
        durationMs: 5,
        code: 'SLW_STEP_FAILED',
        error: 'boom\nmore',
        willRetry: false,
        ...extra,
      });

describe('fleet view', () => {
  it('ignores host events before a rollout started', () => {
    expect(fold([step('web1', 'ship', true)])).toBeUndefined();
  });

  it('counts steps done per host and marks a host succeeded when all are', () => {
    const f = fold([
      started,
      ev('host.step.started', { phase: 'deploy', step: 'ship', host: 'web1', attempt: 1 }),
      step('web1', 'ship', true),
      step('web1', 'restart', true),
      ev('host.step.started', { phase: 'deploy', step: 'ship', host: 'web2', attempt: 1 }),
    ]);
    expect(f?.hosts.map((h) => [h.name, h.state, h.done, h.total, h.lastStep])).toEqual([
      ['web1', 'succeeded', 2, 2, 'restart'],
      ['web2', 'running', 0, 2, 'ship'],
    ]);
    expect(f?.hosts[0]?.facts).toEqual({ switchedTo: 'v2-d2' });
    expect(f?.hosts[1]?.steps['deploy.ship']?.open).toBe(true);
    expect([...hostsDone(f, 'deploy')]).toEqual(['web1']);
  });

  it('a failed step fails the host, a retried one does not; a slot action failing leaves it serving', () => {
    const f = fold([
      started,
      step('web1', 'ship', false, { willRetry: true, retryInMs: 10 }),
      step('web2', 'ship', false),
      step('web1', 'scale-down', false),
    ]);
    expect(f?.hosts.map((h) => h.state)).toEqual(['pending', 'failed']);
    expect(f?.hosts[0]?.steps['deploy.ship']?.status).toBe('retrying');
    expect(f?.hosts[1]?.error).toEqual({ step: 'ship', code: 'SLW_STEP_FAILED', message: 'boom\nmore' });
  });

  it('a resumed rollout counts its steps once; traffic and restores are recorded', () => {
    const f = fold([
      started,
      step('web1', 'ship', true),
      started,
      ev('traffic.shifted', { weights: { web1: 0 }, reason: 'out', percent: 10 }),
      ev('traffic.shifted', { weights: { web2: 0 }, reason: 'out' }),
      ev('host.restored', { host: 'web1', ok: true, release: 'v1', detail: 'started' }),
    ]);
    expect(f?.hosts[0]?.total).toBe(2);
    expect(f?.hosts[0]?.done).toBe(1);
    expect(f?.weights).toEqual({ web1: 0, web2: 0 });
    expect(f?.percent).toBe(10);
    expect(f?.hosts[0]?.state).toBe('restored');
    expect(f?.hosts[0]?.restored?.release).toBe('v1');
  });
});
