/** Folds a deployment's event log into the view that the engine decides from and `status` shows. Pure. */

import type { AnalysisTrigger, IntervalVerdict, MonitorBaseline } from './analysis.js';
import type { Actor, AnyStoredEvent } from './events.js';
import { applyFleetEvent, type FleetView, RESTORE_STEP } from './fleet-view.js';
import type { Plan } from './plan.js';
import type { IncludedFile } from './process.js';
import { type DeploymentState, transition } from './state.js';

export type StepStatus =
  | 'pending'
  | 'running'
  | 'retrying'
  | 'waiting'
  | 'succeeded'
  | 'failed'
  | 'interrupted';

export interface GateDecision {
  readonly kind: 'approved' | 'checked' | 'rejected';
  readonly role: string;
  readonly actor: Actor;
  readonly comment: string;
  readonly at: string;
}

export interface StepView {
  readonly phase: string;
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly summary: string;
  status: StepStatus;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  result?: string;
  error?: { readonly code: string; readonly message: string };
  /** When the next attempt is due (ISO), for a step that failed and will retry. */
  retryAt?: string;
  /** Roles still awaited by a gate. */
  awaiting?: readonly string[];
  decisions: GateDecision[];
  /** The last started attempt had no recorded end (the runner stopped mid-step). */
  openAttempt?: number;
}

export interface PhaseView {
  readonly id: string;
  readonly name: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  readonly steps: StepView[];
}

/** What the monitors showed: the baseline before the switch, the bake's intervals after, and what fired. */
export interface AnalysisView {
  baseline?: { readonly step: string; readonly at: string; readonly monitors: readonly MonitorBaseline[] };
  readonly intervals: {
    readonly step: string;
    readonly index: number;
    readonly of: number;
    readonly at: string;
    readonly monitors: readonly IntervalVerdict[];
  }[];
  trigger?: AnalysisTrigger;
}

export interface RollbackView {
  readonly reason: string;
  readonly trigger: string;
  /** Monitor, baseline and measured value behind a `degradation` or `critical-check` rollback. */
  readonly analysis?: AnalysisTrigger;
  readonly toRelease: string | null;
  readonly toReleaseDir: string | null;
  readonly startedAt: string;
  status: 'running' | 'succeeded' | 'failed';
  readonly actions: { action: string; ok: boolean; detail: string; at: string }[];
}

export interface DeploymentView {
  readonly id: number;
  readonly app: string;
  readonly environment: string;
  readonly release: string;
  readonly artifactSha256: string;
  readonly startedBy: Actor;
  readonly createdAt: string;
  readonly plan: Plan;
  readonly varOverrides: Readonly<Record<string, string>>;
  readonly processSource: string;
  readonly processFile: string;
  /** Inventory texts recorded at creation: recompiling uses these, never the files as they are now. */
  readonly processIncludes: readonly IncludedFile[];
  state: DeploymentState;
  finishedAt?: string;
  /** Why it failed or rolled back. */
  outcome?: string;
  readonly phases: PhaseView[];
  /** Facts recorded by succeeded steps, e.g. `releaseDir`. Later facts win. */
  readonly facts: Record<string, string>;
  rollback?: RollbackView;
  /** Per-host progress and the load balancer's weights, for an environment with `hosts`. */
  fleet?: FleetView;
  /** Baseline and bake measurements, once a baseline or bake step recorded any. */
  analysis?: AnalysisView;
  /** Number of runner take-overs after the first (crash resumes). */
  resumes: number;
  /** Set while the deployment waits for a maintenance window (or the end of a freeze). */
  window?: {
    readonly phase: string;
    readonly step: string;
    readonly opensAt: string;
    readonly opensAtText?: string;
    readonly closesAt: string | null;
    readonly reason: string;
  };
  /** An emergency deployment: not held by windows or freezes, but by extra approvals. */
  readonly emergency?: { readonly reason: string };
  lastSeq: number;
  /** Type of the last event applied. */
  lastEventType: string;
  /** Commands started since the current runner took over: what to stop if that runner died. */
  spawned: {
    readonly step: string;
    readonly host: string;
    readonly pid: number;
    readonly fleetHost?: string;
  }[];
}

/** Builds the view; throws if the log is not a valid sequence of moves. */
export function viewDeployment(events: readonly AnyStoredEvent[]): DeploymentView {
  const first = events[0];
  if (first?.type !== 'deployment.created')
    throw new Error('a deployment log must start with deployment.created');
  const c = first.payload;
  const phases: PhaseView[] = c.plan.phases.map((p) => ({
    id: p.id,
    name: p.name,
    status: 'pending',
    steps: p.steps.map((s) => ({
      phase: p.id,
      id: s.id,
      name: s.name,
      kind: s.kind,
      summary: s.summary,
      status: 'pending',
      attempts: 0,
      decisions: [],
    })),
  }));
  const view: DeploymentView = {
    id: first.deploymentId,
    app: c.app,
    environment: c.environment,
    release: c.release,
    artifactSha256: c.artifactSha256,
    startedBy: c.actor,
    createdAt: first.at,
    plan: c.plan,
    varOverrides: c.varOverrides,
    processSource: c.processSource,
    processFile: c.processFile,
    processIncludes: c.processIncludes ?? [],
    state: 'running',
    phases,
    facts: {},
    resumes: 0,
    ...(c.emergency ? { emergency: c.emergency } : {}),
    lastSeq: 1,
    lastEventType: 'deployment.created',
    spawned: [],
  };
  for (const e of events.slice(1)) applyEvent(view, e);
  return view;
}

/** Applies one more event to a view (in place), so a runner need not re-fold the whole log. */
export function applyEvent(view: DeploymentView, e: AnyStoredEvent): void {
  view.state = transition(view.state, e);
  view.lastSeq = e.seq;
  view.lastEventType = e.type;
  const phases = view.phases;
  const stepOf = (phase: string, step: string): StepView | undefined =>
    phases.find((p) => p.id === phase)?.steps.find((s) => s.id === step);
  const phaseOf = (phase: string) => phases.find((p) => p.id === phase);
  switch (e.type) {
    case 'deployment.runner':
      if (e.payload.resumed) view.resumes++;
      view.spawned = [];
      break;
    case 'step.process':
      view.spawned.push({
        step: `${e.payload.phase}.${e.payload.step}`,
        host: e.payload.host,
        pid: e.payload.pid,
        ...(e.payload.fleetHost === undefined ? {} : { fleetHost: e.payload.fleetHost }),
      });
      break;
    case 'phase.started': {
      const p = phaseOf(e.payload.phase);
      if (p) p.status = 'running';
      break;
    }
    case 'phase.succeeded': {
      const p = phaseOf(e.payload.phase);
      if (p) p.status = 'succeeded';
      break;
    }
    case 'step.started': {
      const s = stepOf(e.payload.phase, e.payload.step);
      if (!s) break;
      s.status = 'running';
      s.attempts = e.payload.attempt;
      s.startedAt ??= e.at;
      s.openAttempt = e.payload.attempt;
      delete s.retryAt;
      break;
    }
    case 'step.succeeded': {
      forgetSpawned(view, `${e.payload.phase}.${e.payload.step}`);
      const s = stepOf(e.payload.phase, e.payload.step);
      if (!s) break;
      s.status = 'succeeded';
      s.finishedAt = e.at;
      s.durationMs = e.payload.durationMs;
      s.result = e.payload.summary;
      delete s.openAttempt;
      delete s.error;
      Object.assign(view.facts, e.payload.facts ?? {});
      break;
    }
    case 'step.failed': {
      forgetSpawned(view, `${e.payload.phase}.${e.payload.step}`);
      const s = stepOf(e.payload.phase, e.payload.step);
      if (!s) break;
      s.status = e.payload.willRetry ? 'retrying' : 'failed';
      s.error = { code: e.payload.code, message: e.payload.error };
      s.finishedAt = e.at;
      s.durationMs = e.payload.durationMs;
      delete s.openAttempt;
      if (e.payload.willRetry)
        s.retryAt = new Date(Date.parse(e.at) + (e.payload.retryInMs ?? 0)).toISOString();
      else {
        const p = phaseOf(e.payload.phase);
        if (p) p.status = 'failed';
      }
      break;
    }
    case 'step.interrupted': {
      const s = stepOf(e.payload.phase, e.payload.step);
      if (!s) break;
      delete s.openAttempt;
      if (e.payload.rerun) {
        s.status = 'interrupted';
        break;
      }
      // Not to be run again, whatever follows (older logs recorded the failure in a separate append).
      s.status = 'failed';
      s.error = {
        code: 'SLW_STEP_INTERRUPTED',
        message: `Slipway stopped while "${s.id}" was running; it is not idempotent, so it is not run again`,
      };
      const p = phaseOf(e.payload.phase);
      if (p) p.status = 'failed';
      break;
    }
    case 'gate.waiting': {
      const s = stepOf(e.payload.phase, e.payload.step);
      if (!s) break;
      s.status = 'waiting';
      s.startedAt ??= e.at;
      s.awaiting = e.payload.roles;
      const p = phaseOf(e.payload.phase);
      if (p) p.status = 'running';
      break;
    }
    case 'gate.approved':
    case 'gate.checked':
    case 'gate.rejected': {
      const s = stepOf(e.payload.phase, e.payload.step);
      if (!s) break;
      const kind =
        e.type === 'gate.approved' ? 'approved' : e.type === 'gate.checked' ? 'checked' : 'rejected';
      s.decisions.push({
        kind,
        role: e.payload.role,
        actor: e.payload.actor,
        comment: e.payload.comment,
        at: e.at,
      });
      if (e.type === 'gate.approved') s.awaiting = e.payload.remaining;
      else s.awaiting = [];
      if (s.awaiting.length === 0) {
        s.status = kind === 'rejected' ? 'failed' : 'succeeded';
        s.finishedAt = e.at;
        s.result = `${kind} by ${e.payload.actor.user} (${e.payload.role})${e.payload.comment ? `: ${e.payload.comment}` : ''}`;
        if (kind === 'rejected') {
          s.error = { code: 'SLW_GATE_REJECTED', message: s.result };
          const p = phaseOf(e.payload.phase);
          if (p) p.status = 'failed';
        }
      }
      break;
    }
    case 'window.waiting':
      view.window = { ...e.payload };
      break;
    case 'window.opened':
      delete view.window;
      break;
    case 'gate.expired': {
      const s = stepOf(e.payload.phase, e.payload.step);
      if (!s) break;
      s.status = 'failed';
      s.awaiting = [];
      s.finishedAt = e.at;
      s.error = {
        code: 'SLW_GATE_EXPIRED',
        message: `"${s.id}" was not cleared in time (open since ${e.payload.openedAt})`,
      };
      const p = phaseOf(e.payload.phase);
      if (p) p.status = 'failed';
      break;
    }
    case 'analysis.baseline':
      view.analysis ??= { intervals: [] };
      view.analysis.baseline = { step: e.payload.step, at: e.at, monitors: e.payload.monitors };
      break;
    case 'analysis.interval': {
      view.analysis ??= { intervals: [] };
      const { step, index, of, monitors, trigger } = e.payload;
      view.analysis.intervals.push({ step, index, of, at: e.at, monitors });
      if (trigger) view.analysis.trigger = trigger;
      break;
    }
    case 'rollback.started':
      view.rollback = {
        reason: e.payload.reason,
        trigger: e.payload.trigger,
        ...(e.payload.analysis ? { analysis: e.payload.analysis } : {}),
        toRelease: e.payload.toRelease,
        toReleaseDir: e.payload.toReleaseDir,
        startedAt: e.at,
        status: 'running',
        actions: [],
      };
      break;
    case 'rollback.step':
      forgetSpawned(view, 'rollback.action');
      view.rollback?.actions.push({ ...e.payload, at: e.at });
      break;
    case 'rollback.succeeded':
      if (view.rollback) view.rollback.status = 'succeeded';
      break;
    case 'rollback.failed':
      if (view.rollback) view.rollback.status = 'failed';
      break;
    case 'deployment.succeeded':
      view.finishedAt = e.at;
      break;
    case 'deployment.failed':
      view.finishedAt = e.at;
      view.outcome = e.payload.reason;
      break;
    case 'deployment.rolled-back':
      view.finishedAt = e.at;
      view.outcome = e.payload.reason;
      break;
    case 'rollout.started':
    case 'rollout.batch':
    case 'host.step.started':
    case 'host.step.succeeded':
    case 'host.step.failed':
    case 'traffic.shifted':
    case 'host.restored': {
      if (e.type === 'host.step.succeeded' || e.type === 'host.step.failed')
        forgetSpawned(view, `${e.payload.phase}.${e.payload.step}`, e.payload.host);
      // A fleet host's restore (commands recorded as `rollback.restore`) ended there.
      if (e.type === 'host.restored') forgetSpawned(view, `rollback.${RESTORE_STEP}`, e.payload.host);
      const fleet = applyFleetEvent(view.fleet, e);
      if (fleet) view.fleet = fleet;
      break;
    }
    case 'step.output':
    case 'deployment.created':
      break;
  }
}

/**
 * A step that ended has no leftovers to stop: what it started and left running (a service it started) is
 * meant to keep running. Only the commands of a cut-short attempt stay listed. With `fleetHost`, only that
 * host's (a fleet step ends host by host).
 */
function forgetSpawned(view: DeploymentView, step: string, fleetHost?: string): void {
  view.spawned = view.spawned.filter(
    (p) => p.step !== step || (fleetHost !== undefined && p.fleetHost !== fleetHost),
  );
}

/** Every step in plan order. */
export function allSteps(view: DeploymentView): StepView[] {
  return view.phases.flatMap((p) => p.steps);
}

/** The gate a waiting deployment waits at (none while it waits for a window). */
export function openGate(view: DeploymentView): StepView | undefined {
  return allSteps(view).find((s) => s.status === 'waiting');
}

/** When the open gate of a view expires (epoch ms), if it has an expiry. */
export function gateExpiry(view: DeploymentView, gate: StepView): number | undefined {
  const planned = view.plan.phases.find((p) => p.id === gate.phase)?.steps.find((s) => s.id === gate.id);
  const expires = planned?.gate?.expiresMs;
  return expires === undefined || gate.startedAt === undefined
    ? undefined
    : Date.parse(gate.startedAt) + expires;
}
