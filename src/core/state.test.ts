import { describe, expect, it } from 'vitest';
import { SlipwayError } from './errors.js';
import type { AnyNewEvent } from './events.js';
import { foldState, transition } from './state.js';

const actor = { user: 'quinn', via: 'env' } as const;
const ev = (e: AnyNewEvent) => e;

describe('transition', () => {
  it('moves through a whole successful deployment', () => {
    const events: AnyNewEvent[] = [
      ev({ type: 'deployment.created', payload: {} as never }),
      ev({ type: 'phase.started', payload: { phase: 'p' } }),
      ev({
        type: 'gate.waiting',
        payload: { phase: 'p', step: 'uat', gate: 'approval', roles: ['qa', 'pm'] },
      }),
      ev({
        type: 'gate.approved',
        payload: { phase: 'p', step: 'uat', role: 'qa', actor, comment: '', remaining: ['pm'] },
      }),
    ];
    expect(foldState(events)).toBe('waiting');
    events.push(
      ev({
        type: 'gate.approved',
        payload: { phase: 'p', step: 'uat', role: 'pm', actor, comment: '', remaining: [] },
      }),
    );
    expect(foldState(events)).toBe('running');
    events.push(ev({ type: 'deployment.succeeded', payload: { durationMs: 1 } }));
    expect(foldState(events)).toBe('succeeded');
    // A succeeded deployment may still be rolled back by hand, and nothing else.
    expect(
      transition(
        'succeeded',
        ev({
          type: 'rollback.started',
          payload: { reason: 'r', trigger: 'manual', toRelease: 'v1', toReleaseDir: 'v1-d1' },
        }),
      ),
    ).toBe('rolling-back');
  });

  it('refuses illegal moves, naming the current state', () => {
    const attempt = () =>
      transition('failed', ev({ type: 'step.started', payload: { phase: 'p', step: 's', attempt: 1 } }));
    expect(attempt).toThrow(SlipwayError);
    expect(attempt).toThrow(/state "failed"/);
    expect(() =>
      transition('waiting', ev({ type: 'deployment.succeeded', payload: { durationMs: 1 } })),
    ).toThrow(/state "waiting" cannot take event "deployment.succeeded"/);
  });

  it('requires a log to start with deployment.created', () => {
    expect(() => foldState([ev({ type: 'phase.started', payload: { phase: 'p' } })])).toThrow(/must start/);
  });
});
