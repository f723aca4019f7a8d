/** The deployment state machine: states, the one legal `transition()`, and folding an event log into a state. */

import { SlipwayError } from './errors.js';
import type { EventType, NewEvent } from './events.js';

export type DeploymentState = 'running' | 'waiting' | 'rolling-back' | 'succeeded' | 'failed' | 'rolled-back';

export const TERMINAL_STATES: ReadonlySet<DeploymentState> = new Set(['succeeded', 'failed', 'rolled-back']);
/** States that hold the environment: a second deployment to it must wait or be refused. */
export const ACTIVE_STATES: readonly DeploymentState[] = ['running', 'waiting', 'rolling-back'];

export function isTerminal(state: DeploymentState): boolean {
  return TERMINAL_STATES.has(state);
}

/** Events that may be appended in each state, and the state they lead to (`same` keeps it). */
const TABLE: Readonly<Record<DeploymentState, Partial<Record<EventType, DeploymentState | 'same'>>>> = {
  running: {
    'deployment.runner': 'same',
    'phase.started': 'same',
    'phase.succeeded': 'same',
    'step.started': 'same',
    'step.output': 'same',
    'step.process': 'same',
    'step.succeeded': 'same',
    'step.failed': 'same',
    'step.interrupted': 'same',
    'analysis.baseline': 'same',
    'analysis.interval': 'same',
    'gate.waiting': 'waiting',
    'window.waiting': 'waiting',
    'rollback.started': 'rolling-back',
    'deployment.succeeded': 'succeeded',
    'deployment.failed': 'failed',
    'rollout.started': 'same',
    'rollout.batch': 'same',
    'host.step.started': 'same',
    'host.step.succeeded': 'same',
    'host.step.failed': 'same',
    'traffic.shifted': 'same',
    'host.restored': 'same',
  },
  waiting: {
    'deployment.runner': 'same',
    'gate.waiting': 'same',
    'gate.approved': 'same', // see transition(): back to running once nothing is awaited
    'gate.checked': 'running',
    'gate.rejected': 'running',
    'gate.expired': 'running',
    'window.waiting': 'same',
    'window.opened': 'running',
    // A window wait that can never end, or is cancelled, ends the deployment — rolling back if it changed the target.
    'deployment.failed': 'failed',
    'rollback.started': 'rolling-back',
  },
  'rolling-back': {
    'deployment.runner': 'same',
    'rollback.step': 'same',
    'step.output': 'same',
    'step.process': 'same',
    'rollback.succeeded': 'same',
    'rollback.failed': 'same',
    'traffic.shifted': 'same',
    'host.restored': 'same',
    'deployment.rolled-back': 'rolled-back',
    'deployment.failed': 'failed',
  },
  // A succeeded deployment can still be rolled back by hand (`slipway rollback`), and so can a failed one
  // whose release was left live (automatic rollback off).
  succeeded: { 'rollback.started': 'rolling-back' },
  failed: { 'rollback.started': 'rolling-back' },
  'rolled-back': {},
};

/** The state after `event`; throws SLW_ILLEGAL_TRANSITION naming the current state when the move is not allowed. */
export function transition(state: DeploymentState, event: NewEvent): DeploymentState {
  const next = TABLE[state][event.type];
  if (next === undefined) {
    throw new SlipwayError(
      'SLW_ILLEGAL_TRANSITION',
      `a deployment in state "${state}" cannot take event "${event.type}"`,
      {
        hint: allowedHint(state),
      },
    );
  }
  if (event.type === 'gate.approved') {
    const remaining = (event as NewEvent<'gate.approved'>).payload.remaining;
    return remaining.length === 0 ? 'running' : 'waiting';
  }
  return next === 'same' ? state : next;
}

function allowedHint(state: DeploymentState): string {
  const allowed = Object.keys(TABLE[state]);
  return allowed.length === 0 ? `"${state}" is final` : `in "${state}" only ${allowed.join(', ')} may follow`;
}

/** Folds a whole log into its state; throws if the log contains an illegal move. */
export function foldState(events: readonly NewEvent[]): DeploymentState {
  const [first, ...rest] = events;
  if (first?.type !== 'deployment.created') {
    throw new SlipwayError('SLW_ILLEGAL_TRANSITION', 'a deployment log must start with "deployment.created"');
  }
  let state: DeploymentState = 'running';
  for (const e of rest) state = transition(state, e);
  return state;
}
