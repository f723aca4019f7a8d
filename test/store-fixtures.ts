/** Events and helpers for store tests; free of vitest so separate worker processes can use them too. */

import { isSlipwayError } from '../src/core/errors.js';
import type { EventPayloads, EventType, NewEvent } from '../src/core/events.js';
import type { Plan } from '../src/core/plan.js';

export interface CreatedOptions {
  readonly app?: string;
  readonly environment?: string;
  readonly release?: string;
  readonly user?: string;
}

/** A valid `deployment.created` event with a minimal (empty) plan. */
export function createdEvent(options: CreatedOptions = {}): NewEvent<'deployment.created'> {
  const { app = 'shop', environment = 'staging', release = '1.0.0', user = 'alice' } = options;
  const plan: Plan = {
    app,
    environment,
    release,
    currentRelease: null,
    target: 'local:/srv/shop',
    phases: [],
    gates: [],
    missingPromotions: [],
    autoRollback: true,
    emergency: false,
    people: {},
  };
  return {
    type: 'deployment.created',
    payload: {
      app,
      environment,
      release,
      artifactSha256: 'a'.repeat(64),
      processSource: 'app: shop\n',
      processSourceHash: 'b'.repeat(64),
      processFile: 'slipway.yaml',
      plan,
      actor: { user, via: 'os-user' },
      varOverrides: {},
    },
  };
}

/** A typed event, so a payload that does not match its type fails to compile. */
export function event<T extends EventType>(type: T, payload: EventPayloads[T]): NewEvent<T> {
  return { type, payload };
}

export const phaseStarted = (phase = 'build') => event('phase.started', { phase });
export const succeeded = () => event('deployment.succeeded', { durationMs: 1200 });
export const failed = (reason = 'smoke check failed') =>
  event('deployment.failed', { reason, code: 'SLW_STEP_FAILED' });

/** Resolves to the SlipwayError code a promise rejects with (fails the test if it resolves). */
export async function errorOf(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; hint: string }> {
  try {
    await promise;
  } catch (err) {
    if (isSlipwayError(err)) return { code: err.code, message: err.message, hint: err.hint ?? '' };
    throw err;
  }
  throw new Error('expected a SlipwayError, but the call succeeded');
}
