/** A deployment report's data, derived from its event log alone: outcome, approvals, metrics, timeline, and the incident. */

import {
  type AnalysisTrigger,
  formatChange,
  formatNumber,
  type IntervalVerdict,
  type MonitorBaseline,
} from '../core/analysis.js';
import { viewDeployment } from '../core/deployment-view.js';
import { formatDuration } from '../core/duration.js';
import type { AnyStoredEvent, RollbackTrigger } from '../core/events.js';
import { type Redactor, redactDeep } from '../core/redact.js';
import { TRIGGER_LABELS } from '../core/rollback-trigger.js';
import type { DeploymentState } from '../core/state.js';

export interface TimelineEntry {
  readonly at: string;
  /** The event type, e.g. `analysis.interval`. */
  readonly event: string;
  readonly text: string;
  /** Marks what matters in an incident: failures, triggers, rollback. */
  readonly severity: 'info' | 'warning' | 'failure';
}

export interface ApprovalEntry {
  readonly at: string;
  readonly phase: string;
  readonly step: string;
  readonly decision: 'approved' | 'checked' | 'rejected';
  readonly role: string;
  readonly user: string;
  readonly via: string;
  readonly comment: string;
}

/** One monitor before and after the switch. */
export interface MetricComparison {
  readonly monitor: string;
  readonly baseline?: number;
  readonly baselineSamples: number;
  /** The last measured interval's median (or the value that fired the trigger). */
  readonly after?: number;
  readonly change?: number;
  readonly verdict: IntervalVerdict['verdict'] | 'not measured';
  readonly intervals: number;
  readonly failedIntervals: number;
}

export interface StepEntry {
  readonly phase: string;
  readonly id: string;
  readonly kind: string;
  readonly status: string;
  readonly attempts: number;
  readonly durationMs?: number;
  readonly result?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface Incident {
  /** When the first thing went wrong (first failed step, or the trigger). */
  readonly openedAt: string;
  readonly closedAt?: string;
  readonly trigger: RollbackTrigger | 'failed';
  readonly triggerLabel: string;
  readonly summary: string;
  /** The analysis trigger, for degradation and critical-check rollbacks. */
  readonly analysis?: AnalysisTrigger;
  /** How long the new release served: from its switch until the previous one served again (or until now). */
  readonly impact?: { readonly from: string; readonly to?: string; readonly durationMs?: number };
  readonly rollback?: {
    readonly toRelease: string | null;
    readonly status: string;
    readonly durationMs?: number;
    readonly actions: readonly { at: string; action: string; ok: boolean; detail: string }[];
  };
}

export interface DeploymentReport {
  readonly id: number;
  readonly app: string;
  readonly environment: string;
  readonly release: string;
  readonly artifactSha256: string;
  readonly state: DeploymentState;
  readonly startedBy: string;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly outcome?: string;
  readonly emergency?: string;
  readonly steps: readonly StepEntry[];
  readonly approvals: readonly ApprovalEntry[];
  readonly metrics: readonly MetricComparison[];
  readonly timeline: readonly TimelineEntry[];
  /** Present for every failed or rolled-back deployment: the post-incident review is drafted from it. */
  readonly incident?: Incident;
}

/** Builds the report; every string passes `redact` (events are stored redacted already: this is the second lock). */
export function buildReport(events: readonly AnyStoredEvent[], redact: Redactor): DeploymentReport {
  const view = viewDeployment(events);
  const steps: StepEntry[] = view.phases.flatMap((p) =>
    p.steps.map((s) => ({
      phase: p.id,
      id: s.id,
      kind: s.kind,
      status: s.status,
      attempts: s.attempts,
      ...(s.durationMs === undefined ? {} : { durationMs: s.durationMs }),
      ...(s.result === undefined ? {} : { result: s.result }),
      ...(s.error === undefined ? {} : { error: s.error }),
    })),
  );
  const approvals: ApprovalEntry[] = view.phases.flatMap((p) =>
    p.steps.flatMap((s) =>
      s.decisions.map((d) => ({
        at: d.at,
        phase: p.id,
        step: s.id,
        decision: d.kind,
        role: d.role,
        user: d.actor.user,
        via: d.actor.via,
        comment: d.comment,
      })),
    ),
  );
  const finishedAt = view.finishedAt;
  const report: DeploymentReport = {
    id: view.id,
    app: view.app,
    environment: view.environment,
    release: view.release,
    artifactSha256: view.artifactSha256,
    state: view.state,
    startedBy: view.startedBy.user,
    createdAt: view.createdAt,
    ...(finishedAt === undefined
      ? {}
      : { finishedAt, durationMs: Date.parse(finishedAt) - Date.parse(view.createdAt) }),
    ...(view.outcome === undefined ? {} : { outcome: view.outcome }),
    ...(view.emergency ? { emergency: view.emergency.reason } : {}),
    steps,
    approvals,
    metrics: metricsOf(
      view.analysis?.baseline?.monitors ?? [],
      view.analysis?.intervals ?? [],
      view.analysis?.trigger,
    ),
    timeline: events.flatMap((e) => {
      const entry = timelineEntry(e);
      return entry ? [entry] : [];
    }),
    ...incidentOf(view, events),
  };
  return redactDeep(report, redact);
}

function metricsOf(
  baseline: readonly MonitorBaseline[],
  intervals: readonly { readonly monitors: readonly IntervalVerdict[] }[],
  trigger: AnalysisTrigger | undefined,
): MetricComparison[] {
  const ids = [
    ...new Set([
      ...baseline.map((b) => b.monitor),
      ...intervals.flatMap((i) => i.monitors.map((m) => m.monitor)),
    ]),
  ];
  return ids.map((id) => {
    const b = baseline.find((x) => x.monitor === id);
    const verdicts = intervals.flatMap((i) => i.monitors.filter((m) => m.monitor === id));
    const last = verdicts.at(-1);
    const fired = trigger?.monitor === id ? trigger : undefined;
    const after = fired?.value ?? last?.value;
    const base = b?.usable ? b.median : undefined;
    const change = fired?.change ?? last?.change;
    return {
      monitor: id,
      ...(base === undefined ? {} : { baseline: base }),
      baselineSamples: b?.valued ?? 0,
      ...(after === undefined ? {} : { after }),
      ...(change === undefined ? {} : { change }),
      verdict: last?.verdict ?? 'not measured',
      intervals: verdicts.length,
      failedIntervals: verdicts.filter((v) => v.verdict === 'fail').length,
    };
  });
}

function incidentOf(
  view: ReturnType<typeof viewDeployment>,
  events: readonly AnyStoredEvent[],
): { incident?: Incident } {
  const failed = view.state === 'failed' || view.state === 'rolled-back' || view.rollback !== undefined;
  if (!failed) return {};
  const firstFailure = events.find(
    (e) =>
      (e.type === 'step.failed' && !e.payload.willRetry) ||
      e.type === 'gate.rejected' ||
      e.type === 'gate.expired' ||
      e.type === 'rollback.started' ||
      e.type === 'deployment.failed',
  );
  const rb = view.rollback;
  const trigger = (rb?.trigger as RollbackTrigger | undefined) ?? 'failed';
  const switched = events.find(
    (e) => e.type === 'step.succeeded' && e.payload.facts?.switchedTo !== undefined,
  );
  const restored = events.find((e) => e.type === 'rollback.succeeded');
  const impact = switched
    ? {
        from: switched.at,
        ...(restored
          ? { to: restored.at, durationMs: Date.parse(restored.at) - Date.parse(switched.at) }
          : {}),
      }
    : undefined;
  const analysis = rb?.analysis ?? view.analysis?.trigger;
  return {
    incident: {
      openedAt: firstFailure?.at ?? view.createdAt,
      ...(view.finishedAt ? { closedAt: view.finishedAt } : {}),
      trigger,
      triggerLabel: trigger === 'failed' ? 'the deployment failed' : TRIGGER_LABELS[trigger],
      summary: rb?.reason ?? view.outcome ?? 'the deployment failed',
      ...(analysis ? { analysis } : {}),
      ...(impact ? { impact } : {}),
      ...(rb
        ? {
            rollback: {
              toRelease: rb.toRelease,
              status: rb.status,
              ...(restored?.type === 'rollback.succeeded' ? { durationMs: restored.payload.durationMs } : {}),
              actions: rb.actions,
            },
          }
        : {}),
    },
  };
}

function timelineEntry(e: AnyStoredEvent): TimelineEntry | undefined {
  const at = e.at;
  const entry = (text: string, severity: TimelineEntry['severity'] = 'info'): TimelineEntry => ({
    at,
    event: e.type,
    text,
    severity,
  });
  switch (e.type) {
    case 'deployment.created':
      return entry(
        `${e.payload.actor.user} started ${e.payload.app} ${e.payload.release} → ${e.payload.environment}${
          e.payload.emergency ? ` (EMERGENCY: ${e.payload.emergency.reason})` : ''
        }`,
      );
    case 'deployment.runner':
      return e.payload.resumed
        ? entry(`runner ${e.payload.runner} resumed after an interruption`, 'warning')
        : undefined;
    case 'phase.started':
      return entry(`phase ${e.payload.phase} started`);
    case 'phase.succeeded':
      return entry(`phase ${e.payload.phase} done`);
    case 'step.succeeded':
      return entry(`${e.payload.phase}.${e.payload.step} succeeded: ${e.payload.summary}`);
    case 'step.failed':
      return entry(
        `${e.payload.phase}.${e.payload.step} failed [${e.payload.code}]: ${e.payload.error}${
          e.payload.willRetry ? ' (will retry)' : ''
        }`,
        e.payload.willRetry ? 'warning' : 'failure',
      );
    case 'step.interrupted':
      return entry(`${e.payload.phase}.${e.payload.step} interrupted`, 'warning');
    case 'gate.waiting':
      return e.payload.roles.length
        ? entry(
            `${e.payload.phase}.${e.payload.step} waits for ${e.payload.roles.join(' + ')}${e.payload.item ? `: ${e.payload.item}` : ''}`,
          )
        : undefined;
    case 'gate.approved':
    case 'gate.checked':
    case 'gate.rejected':
      return entry(
        `${e.payload.phase}.${e.payload.step} ${e.type.slice(5)} by ${e.payload.actor.user} (${e.payload.role})${
          e.payload.comment ? `: "${e.payload.comment}"` : ''
        }`,
        e.type === 'gate.rejected' ? 'failure' : 'info',
      );
    case 'gate.expired':
      return entry(`${e.payload.phase}.${e.payload.step} expired`, 'failure');
    case 'window.waiting':
      return entry(`waits for the maintenance window: ${e.payload.reason}`);
    case 'window.opened':
      return entry('maintenance window open');
    case 'analysis.baseline':
      return entry(
        `baseline (${e.payload.release ?? 'nothing live'}): ${e.payload.monitors
          .map((b) =>
            b.usable && b.median !== undefined
              ? `${b.monitor} ${formatNumber(b.median)} ± ${formatNumber(b.mad ?? 0)} (${b.valued} samples)`
              : `${b.monitor} no usable baseline`,
          )
          .join(' · ')}`,
      );
    case 'analysis.interval':
      return entry(
        `bake interval ${e.payload.index}/${e.payload.of}: ${e.payload.monitors
          .map(
            (m) =>
              `${m.monitor} ${m.detail} ${m.verdict === 'pass' ? '✓' : m.verdict === 'fail' ? '✗' : '?'}`,
          )
          .join(' · ')}${e.payload.trigger ? ` — TRIGGER ${e.payload.trigger.kind}` : ''}`,
        e.payload.trigger
          ? 'failure'
          : e.payload.monitors.some((m) => m.verdict === 'fail')
            ? 'warning'
            : 'info',
      );
    case 'rollback.started':
      return entry(
        `rollback to ${e.payload.toRelease ?? '(none)'} started — trigger: ${TRIGGER_LABELS[e.payload.trigger]}${
          e.payload.analysis ? ` (${describeTrigger(e.payload.analysis)})` : ''
        }; ${e.payload.actor ? `by ${e.payload.actor.user}; ` : ''}${e.payload.reason}`,
        'failure',
      );
    case 'rollback.step':
      return entry(
        `rollback ${e.payload.action}: ${e.payload.ok ? 'ok' : 'FAILED'} — ${e.payload.detail}`,
        e.payload.ok ? 'info' : 'failure',
      );
    case 'rollback.succeeded':
      return entry(
        `rollback done: ${e.payload.release} serves again (${formatDuration(e.payload.durationMs)})`,
      );
    case 'rollback.failed':
      return entry(`rollback FAILED: ${e.payload.error}`, 'failure');
    case 'deployment.succeeded':
      return entry(`deployment succeeded in ${formatDuration(e.payload.durationMs)}`);
    case 'deployment.failed':
      return entry(`deployment failed [${e.payload.code}]: ${e.payload.reason}`, 'failure');
    case 'deployment.rolled-back':
      return entry(`deployment rolled back to ${e.payload.release}`, 'failure');
    default:
      // Output, process ids and step starts are in `slipway logs`: a report keeps what a reader acts on.
      return undefined;
  }
}

/** "latency 61 vs baseline 20 (+205%), 2 of the last 3 intervals failed", or a critical check's own words. */
export function describeTrigger(t: AnalysisTrigger): string {
  if (t.kind === 'critical-check') return t.message;
  const value = t.value === undefined ? '' : ` ${formatNumber(t.value)}`;
  const base = t.baseline === undefined ? '' : ` vs baseline ${formatNumber(t.baseline)}`;
  const change = t.change === undefined ? '' : ` (${formatChange(t.change)})`;
  return `${t.monitor}${value}${base}${change}, ${t.failures} of the last ${t.of} intervals failed`;
}
