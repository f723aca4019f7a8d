/** The per-host part of a deployment's view: folded from rollout, host and traffic events. Pure. */

import type { AnyStoredEvent } from './events.js';

/** The step a fleet host's restore records its commands under (`step.process` of phase `rollback`). */
export const RESTORE_STEP = 'restore';

export type HostState = 'pending' | 'running' | 'succeeded' | 'failed' | 'restored' | 'restore-failed';

export interface HostStepView {
  status: 'running' | 'succeeded' | 'failed' | 'retrying';
  attempts: number;
  /** The last attempt started and has no recorded end (the runner stopped during it). */
  open: boolean;
  summary?: string;
  error?: { readonly code: string; readonly message: string };
}

export interface HostView {
  readonly name: string;
  state: HostState;
  /** The step now running, or the last one that ran. */
  lastStep?: string;
  /** `phase.step` → its state on this host (rollout steps and slot actions). */
  readonly steps: Record<string, HostStepView>;
  /** Rollout steps that succeeded on this host, of `total`. */
  done: number;
  total: number;
  error?: { readonly step: string; readonly code: string; readonly message: string };
  /** Facts recorded on this host: `switchedTo`, `previousRelease`, `slot`, `liveSlot`. */
  readonly facts: Record<string, string>;
  /** What a rollback did on this host. */
  restored?: { readonly ok: boolean; readonly release: string | null; readonly detail: string };
}

export interface FleetView {
  /** The phase whose rollout ran last. */
  phase: string;
  strategy: string;
  /** Hosts in the environment's order. */
  readonly hosts: HostView[];
  /** `phase` → host steps of its rollout, in order. */
  readonly rolloutSteps: Record<string, readonly string[]>;
  batches: readonly (readonly string[])[];
  /** Index of the batch being worked on. */
  batch?: number;
  /** The load balancer's weights as last set by Slipway. */
  readonly weights: Record<string, number>;
  /** Blue-green / canary: the share of traffic last put on the new slots. */
  percent?: number;
}

/** Applies a fleet event to `fleet` (creating it on `rollout.started`); other events are ignored. */
export function applyFleetEvent(fleet: FleetView | undefined, e: AnyStoredEvent): FleetView | undefined {
  if (e.type === 'rollout.started') {
    const f: FleetView = fleet ?? {
      phase: e.payload.phase,
      strategy: e.payload.strategy,
      hosts: [],
      rolloutSteps: {},
      batches: [],
      weights: {},
    };
    f.phase = e.payload.phase;
    f.strategy = e.payload.strategy;
    f.batches = e.payload.batches;
    // A resumed rollout announces itself again: its steps count once.
    const again = f.rolloutSteps[e.payload.phase] !== undefined;
    f.rolloutSteps[e.payload.phase] = e.payload.steps;
    for (const name of e.payload.hosts) {
      let h = f.hosts.find((x) => x.name === name);
      if (!h) {
        h = { name, state: 'pending', steps: {}, done: 0, total: 0, facts: {} };
        f.hosts.push(h);
      }
      if (!again) h.total += e.payload.steps.length;
    }
    return f;
  }
  if (!fleet) return fleet;
  const host = (name: string) => fleet.hosts.find((h) => h.name === name);
  switch (e.type) {
    case 'rollout.batch':
      fleet.batch = e.payload.index;
      break;
    case 'host.step.started': {
      const h = host(e.payload.host);
      if (!h) break;
      const key = `${e.payload.phase}.${e.payload.step}`;
      h.steps[key] = { ...h.steps[key], status: 'running', attempts: e.payload.attempt, open: true };
      h.lastStep = e.payload.step;
      if (h.state !== 'failed') h.state = 'running';
      break;
    }
    case 'host.step.succeeded': {
      const h = host(e.payload.host);
      if (!h) break;
      const key = `${e.payload.phase}.${e.payload.step}`;
      const before = h.steps[key];
      h.steps[key] = {
        status: 'succeeded',
        attempts: e.payload.attempt,
        open: false,
        summary: e.payload.summary,
      };
      Object.assign(h.facts, e.payload.facts ?? {});
      h.lastStep = e.payload.step;
      const rollout = fleet.rolloutSteps[e.payload.phase] ?? [];
      if (rollout.includes(e.payload.step) && before?.status !== 'succeeded') h.done++;
      if (h.state !== 'failed' && h.done >= h.total) h.state = 'succeeded';
      break;
    }
    case 'host.step.failed': {
      const h = host(e.payload.host);
      if (!h) break;
      const key = `${e.payload.phase}.${e.payload.step}`;
      const error = { code: e.payload.code, message: e.payload.error };
      h.steps[key] = {
        status: e.payload.willRetry ? 'retrying' : 'failed',
        attempts: e.payload.attempt,
        open: false,
        error,
      };
      h.lastStep = e.payload.step;
      // A slot action after the rollout (scale-down) failing leaves the host serving: not a failed host.
      const rollout = fleet.rolloutSteps[e.payload.phase] ?? [];
      if (!e.payload.willRetry && rollout.includes(e.payload.step)) {
        h.state = 'failed';
        h.error = { step: e.payload.step, ...error };
      }
      break;
    }
    case 'traffic.shifted':
      Object.assign(fleet.weights, e.payload.weights);
      if (e.payload.percent !== undefined) fleet.percent = e.payload.percent;
      break;
    case 'host.restored': {
      const h = host(e.payload.host);
      if (!h) break;
      h.state = e.payload.ok ? 'restored' : 'restore-failed';
      h.restored = { ok: e.payload.ok, release: e.payload.release, detail: e.payload.detail };
      break;
    }
    default:
      break;
  }
  return fleet;
}

/** Hosts whose rollout of `phase` finished: every rollout step succeeded there. */
export function hostsDone(fleet: FleetView | undefined, phase: string): Set<string> {
  const steps = fleet?.rolloutSteps[phase] ?? [];
  const done = new Set<string>();
  for (const h of fleet?.hosts ?? []) {
    if (steps.every((s) => h.steps[`${phase}.${s}`]?.status === 'succeeded')) done.add(h.name);
  }
  return done;
}
