/** Deployment events: the append-only log that is the single source of truth of a deployment. */

import type { Plan } from './plan.js';

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
  'rollback.started': {
    readonly reason: string;
    readonly trigger: 'step-failed' | 'interrupted' | 'manual' | 'rejected';
    readonly toReleaseDir: string | null;
    readonly toRelease: string | null;
    readonly actor?: Actor;
  };
  'rollback.step': { readonly action: string; readonly ok: boolean; readonly detail: string };
  'rollback.succeeded': { readonly release: string | null; readonly durationMs: number };
  'rollback.failed': { readonly error: string };
  'deployment.succeeded': { readonly durationMs: number };
  'deployment.failed': { readonly reason: string; readonly code: string };
  'deployment.rolled-back': { readonly reason: string; readonly release: string | null };
}

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
