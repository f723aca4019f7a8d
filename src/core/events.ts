/** Deployment events: the append-only log that is the single source of truth of a deployment. */

import type { AnalysisTrigger, IntervalVerdict, MonitorBaseline } from './analysis.js';
import type { Plan } from './plan.js';
import type { IncludedFile } from './process.js';

/** Who did something. `via` says how the identity was established (OS user, SLIPWAY_USER, demo). */
export interface Actor {
  readonly user: string;
  /** `auto`: Slipway itself, e.g. ticking a checklist item bound to a step that succeeded. */
  readonly via: 'os-user' | 'env' | 'demo' | 'api' | 'auto';
}

export interface EventPayloads {
  'deployment.created': {
    readonly app: string;
    readonly environment: string;
    readonly release: string;
    readonly artifactSha256: string;
    readonly processSource: string;
    readonly processSourceHash: string;
    readonly processFile: string;
    /** Files the process file includes (inventories), pinned like `processSource`; absent before they existed. */
    readonly processIncludes?: readonly IncludedFile[];
    readonly plan: Plan;
    readonly actor: Actor;
    /** `--var KEY=VALUE` overrides given at deploy time (never secrets). */
    readonly varOverrides: Readonly<Record<string, string>>;
    /** An emergency deployment: windows and freezes do not hold it, extra approvals do; flagged everywhere. */
    readonly emergency?: { readonly reason: string };
  };
  /** A runner (process) took over execution; `resumed` when earlier runs were cut short. */
  'deployment.runner': {
    readonly runner: string;
    readonly resumed: boolean;
    /** Process groups of the previous, killed runner that were still running and were stopped. */
    readonly stoppedLeftovers?: readonly number[];
  };
  /** A step (or rollback action) started a command: its process group, so a successor can stop it after a crash. */
  'step.process': {
    readonly phase: string;
    readonly step: string;
    readonly host: string;
    readonly pid: number;
    /** The fleet host whose step started it: its `host.step.*` end forgets it (other hosts' runs go on). */
    readonly fleetHost?: string;
  };
  'phase.started': { readonly phase: string };
  'phase.succeeded': { readonly phase: string };
  'step.started': { readonly phase: string; readonly step: string; readonly attempt: number };
  'step.output': { readonly phase: string; readonly step: string; readonly text: string };
  'step.succeeded': {
    readonly phase: string;
    readonly step: string;
    readonly attempt: number;
    readonly durationMs: number;
    readonly summary: string;
    /** Facts later steps and rollback need (e.g. the release directory, the previous `current`). */
    readonly facts?: Readonly<Record<string, string>>;
    /** Structured results (test counts, findings, measurements); the next deployment's baseline. */
    readonly details?: Readonly<Record<string, unknown>>;
  };
  'step.failed': {
    readonly phase: string;
    readonly step: string;
    readonly attempt: number;
    readonly durationMs: number;
    readonly code: string;
    readonly error: string;
    /** True when another attempt follows (retry with backoff). */
    readonly willRetry: boolean;
    readonly retryInMs?: number;
    /** Structured results behind the failure (failing tests, findings over the limit, measurements). */
    readonly details?: Readonly<Record<string, unknown>>;
  };
  /** A step that may have started before a crash; `rerun` says whether it is run again (idempotent). */
  'step.interrupted': {
    readonly phase: string;
    readonly step: string;
    readonly attempt: number;
    readonly rerun: boolean;
  };
  'gate.waiting': {
    readonly phase: string;
    readonly step: string;
    readonly gate: 'approval' | 'checklist';
    readonly roles: readonly string[];
    readonly item?: string;
  };
  'gate.approved': {
    readonly phase: string;
    readonly step: string;
    readonly role: string;
    readonly actor: Actor;
    readonly comment: string;
    /** Roles still awaited after this approval; the gate clears when empty. */
    readonly remaining: readonly string[];
  };
  'gate.checked': {
    readonly phase: string;
    readonly step: string;
    readonly role: string;
    readonly actor: Actor;
    readonly comment: string;
  };
  'gate.rejected': {
    readonly phase: string;
    readonly step: string;
    readonly role: string;
    readonly actor: Actor;
    readonly comment: string;
  };
  /** Outside a maintenance window or inside a freeze: the deployment waits, without a runner, until `opensAt`. */
  'window.waiting': {
    readonly phase: string;
    readonly step: string;
    readonly opensAt: string;
    /** The opening in the window's timezone and the runner's, e.g. "2026-12-05 22:00 Europe/Berlin (21:00 UTC)". */
    readonly opensAtText?: string;
    /** Null when nothing closes it within the search horizon. */
    readonly closesAt: string | null;
    readonly reason: string;
  };
  'window.opened': { readonly phase: string; readonly step: string };
  /** An approval gate was not cleared in time. */
  'gate.expired': { readonly phase: string; readonly step: string; readonly openedAt: string };
  /** A `baseline` step measured the monitors against the release serving before the switch. */
  'analysis.baseline': {
    readonly phase: string;
    readonly step: string;
    readonly release: string | null;
    readonly durationMs: number;
    readonly monitors: readonly MonitorBaseline[];
  };
  /** One bake interval: every monitor's samples, median and verdict; `trigger` when it fired a rollback. */
  'analysis.interval': {
    readonly phase: string;
    readonly step: string;
    /** 1-based. */
    readonly index: number;
    readonly of: number;
    readonly monitors: readonly IntervalVerdict[];
    readonly trigger?: AnalysisTrigger;
  };
  'rollback.started': {
    readonly reason: string;
    readonly trigger: RollbackTrigger;
    /** The analysis trigger behind a `degradation` or `critical-check` rollback: monitor, baseline, value, change. */
    readonly analysis?: AnalysisTrigger;
    readonly toReleaseDir: string | null;
    readonly toRelease: string | null;
    readonly actor?: Actor;
  };
  'rollback.step': { readonly action: string; readonly ok: boolean; readonly detail: string };
  'rollback.succeeded': { readonly release: string | null; readonly durationMs: number };
  'rollback.failed': { readonly error: string };
  /** A fleet phase's rollout began: its hosts, the steps each host runs, and the strategy's batches. */
  'rollout.started': {
    readonly phase: string;
    readonly strategy: string;
    readonly hosts: readonly string[];
    readonly steps: readonly string[];
    readonly batches: readonly (readonly string[])[];
  };
  /** A batch of hosts is being worked on (rolling: one batch at a time). */
  'rollout.batch': { readonly phase: string; readonly index: number; readonly hosts: readonly string[] };
  /** One step on one host of a fleet (release, config, restart, smoke, on-target run; or a slot action). */
  'host.step.started': {
    readonly phase: string;
    readonly step: string;
    readonly host: string;
    readonly attempt: number;
  };
  'host.step.succeeded': {
    readonly phase: string;
    readonly step: string;
    readonly host: string;
    readonly attempt: number;
    readonly durationMs: number;
    readonly summary: string;
    /** Per-host facts, e.g. `switchedTo`, `previousRelease`, `slot`. */
    readonly facts?: Readonly<Record<string, string>>;
  };
  'host.step.failed': {
    readonly phase: string;
    readonly step: string;
    readonly host: string;
    readonly attempt: number;
    readonly durationMs: number;
    readonly code: string;
    readonly error: string;
    readonly willRetry: boolean;
    readonly retryInMs?: number;
  };
  /** The load balancer's weights were changed (backend id → 0–100), and why. */
  'traffic.shifted': {
    readonly weights: Readonly<Record<string, number>>;
    readonly reason: string;
    /** Blue-green / canary: the percentage of traffic now on the new slots. */
    readonly percent?: number;
    /** Backends drained after the change: requests still active when the drain ended (0 = drained). */
    readonly drained?: Readonly<Record<string, number>>;
  };
  /** A fleet rollback (or a failed host within `maxFailed`) returned one host to the previous release. */
  'host.restored': {
    readonly host: string;
    readonly ok: boolean;
    readonly release: string | null;
    readonly detail: string;
  };
  'deployment.succeeded': { readonly durationMs: number };
  'deployment.failed': { readonly reason: string; readonly code: string };
  'deployment.rolled-back': { readonly reason: string; readonly release: string | null };
}

/**
 * Why a rollback started. The seed's triggers: `critical-check` (a critical monitor failing), `degradation`
 * (beyond the threshold against the baseline), `security` (a findings gate failing after the switch),
 * `integrity` (a data-integrity check failing after the switch). The others: a step failed, a runner was cut
 * short in a non-idempotent step, a gate was rejected or the deployment cancelled, a person asked.
 */
export type RollbackTrigger =
  | 'step-failed'
  | 'interrupted'
  | 'manual'
  | 'rejected'
  | 'critical-check'
  | 'degradation'
  | 'security'
  | 'integrity';

export type EventType = keyof EventPayloads;

/** An event before it is stored. */
export interface NewEvent<T extends EventType = EventType> {
  readonly type: T;
  readonly payload: EventPayloads[T];
}

/** Any one event before it is stored, as a tagged union so a payload always matches its type. */
export type AnyNewEvent = { [T in EventType]: NewEvent<T> }[EventType];

/** An event as stored: numbered per deployment, hash-chained across the whole store. */
export interface StoredEvent<T extends EventType = EventType> extends NewEvent<T> {
  /** Global, strictly increasing position in the store (the order of the hash chain). */
  readonly id: number;
  readonly deploymentId: number;
  /** 1-based sequence within the deployment. */
  readonly seq: number;
  /** ISO-8601 UTC time of the append. */
  readonly at: string;
  readonly prevHash: string;
  readonly hash: string;
}

export type AnyStoredEvent = { [T in EventType]: StoredEvent<T> }[EventType];
