/** Decides what a runner does next from a deployment's view alone — the heart of resuming after a crash. Pure. */

import { type DeploymentView, gateExpiry, type StepView } from './deployment-view.js';

export type NextAction =
  | { readonly kind: 'start-phase'; readonly phase: string }
  | {
      readonly kind: 'run-step';
      readonly phase: string;
      readonly step: string;
      readonly attempt: number;
      readonly notBefore?: string;
    }
  /** The log shows an attempt that started and never ended: the runner died during it. */
  | { readonly kind: 'interrupted'; readonly phase: string; readonly step: string; readonly attempt: number }
  | { readonly kind: 'open-gate'; readonly phase: string; readonly step: string }
  | { readonly kind: 'wait'; readonly phase: string; readonly step: string }
  /** An approval gate outlived its expiry. */
  | { readonly kind: 'expire'; readonly phase: string; readonly step: string; readonly openedAt: string }
  /** Waiting for a maintenance window: check whether it is open now. */
  | { readonly kind: 'window'; readonly phase: string; readonly step: string; readonly opensAt: string }
  | { readonly kind: 'finish-phase'; readonly phase: string }
  | {
      readonly kind: 'fail';
      readonly phase: string;
      readonly step: string;
      readonly code: string;
      readonly reason: string;
    }
  | { readonly kind: 'rollback' }
  | { readonly kind: 'succeed' }
  | { readonly kind: 'done' };

const GATE_KINDS = new Set(['checklist', 'approval']);

/** `nowMs` matters only for gate expiry; everything else follows from the log. */
export function nextAction(view: DeploymentView, nowMs = 0): NextAction {
  if (view.state === 'rolling-back') return { kind: 'rollback' };
  if (view.state === 'succeeded' || view.state === 'failed' || view.state === 'rolled-back')
    return { kind: 'done' };
  if (view.window) {
    return { kind: 'window', phase: view.window.phase, step: view.window.step, opensAt: view.window.opensAt };
  }
  for (const phase of view.phases) {
    if (phase.status === 'succeeded') continue;
    for (const step of phase.steps) {
      if (step.status === 'succeeded') continue;
      const action = stepAction(step);
      if (action.kind === 'wait' && step.startedAt !== undefined) {
        const expiry = gateExpiry(view, step);
        if (expiry !== undefined && nowMs >= expiry)
          return { kind: 'expire', ...ids(step), openedAt: step.startedAt };
      }
      if (phase.status === 'pending' && (action.kind === 'run-step' || action.kind === 'open-gate')) {
        return { kind: 'start-phase', phase: phase.id };
      }
      return action;
    }
    return { kind: 'finish-phase', phase: phase.id };
  }
  return { kind: 'succeed' };
}

function ids(step: StepView): { phase: string; step: string } {
  return { phase: step.phase, step: step.id };
}

function stepAction(step: StepView): NextAction {
  const ids = { phase: step.phase, step: step.id };
  if (step.openAttempt !== undefined) return { kind: 'interrupted', ...ids, attempt: step.openAttempt };
  switch (step.status) {
    case 'failed':
      return {
        kind: 'fail',
        ...ids,
        code: step.error?.code ?? 'SLW_STEP_FAILED',
        reason: step.error?.message ?? 'failed',
      };
    case 'waiting':
      return { kind: 'wait', ...ids };
    case 'retrying':
      return {
        kind: 'run-step',
        ...ids,
        attempt: step.attempts + 1,
        ...(step.retryAt ? { notBefore: step.retryAt } : {}),
      };
    case 'interrupted':
      return { kind: 'run-step', ...ids, attempt: step.attempts + 1 };
    default:
      return GATE_KINDS.has(step.kind)
        ? { kind: 'open-gate', ...ids }
        : { kind: 'run-step', ...ids, attempt: 1 };
  }
}
