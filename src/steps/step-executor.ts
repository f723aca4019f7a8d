/** The contract between the engine and a step kind: what a step gets to work with and what it returns. */

import type { MonitorBaseline } from '../core/analysis.js';
import type { EventPayloads } from '../core/events.js';
import type { Target } from '../core/ports.js';
import type { EnvironmentSpec, Process, StepSpec } from '../core/process.js';
import type { Redactor } from '../core/redact.js';
import type { TemplateScope } from '../core/template.js';

/** Everything a step may use. Built by the engine per step attempt. */
export interface StepRuntime {
  readonly process: Process;
  readonly environment: EnvironmentSpec;
  readonly deploymentId: number;
  readonly release: string;
  readonly artifact: { readonly path: string; readonly sha256: string };
  readonly target: Target;
  /** The folder name under `releases/` this deployment installs into. */
  readonly releaseName: string;
  /** The release dir of the last good deployment, kept by pruning and used by rollback. */
  readonly previousGoodRelease: string | null;
  /** Template scope including secrets: use it only where secrets are allowed (env values, headers, config files). */
  readonly scope: TemplateScope;
  /** Variables, secrets and SLIPWAY_* facts, as the environment of every command. */
  readonly commandEnv: Readonly<Record<string, string>>;
  /** Facts recorded by earlier steps of this deployment. */
  readonly facts: Readonly<Record<string, string>>;
  /** Whether a later step of this phase restarts the service (then the release switch waits for it). */
  readonly restartFollows: boolean;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Live output; the engine redacts and records it. */
  readonly output: (chunk: string) => void;
  readonly redact: Redactor;
  /**
   * The `details` this same step (same phase and id) recorded in the environment's last succeeded deployment,
   * or undefined when there is none: the baseline for benchmark and load gates.
   */
  baseline(): Promise<Readonly<Record<string, unknown>> | undefined>;
  /**
   * Called with the process group id of every command started (crash clean-up); `onTarget` when the command
   * runs through the target, whose machine may not be this one.
   */
  readonly onSpawn?: (pid: number, onTarget: boolean) => void;
  /** Records a baseline or bake interval in the deployment's log as it happens (status and logs show it live). */
  readonly recordAnalysis?: (record: AnalysisRecord) => Promise<void>;
  /** The baseline a `baseline` step of this deployment measured, if one did. */
  readonly measuredBaseline?: () => readonly MonitorBaseline[] | undefined;
}

/** An analysis event as a step reports it; the engine adds the step's phase and id. */
export type AnalysisRecord = {
  [T in 'analysis.baseline' | 'analysis.interval']: {
    readonly type: T;
    readonly payload: Omit<EventPayloads[T], 'phase' | 'step'>;
  };
}['analysis.baseline' | 'analysis.interval'];

export interface StepOutcome {
  /** One line for status and history, e.g. "200 in 12ms" or "exit 0 in 1.2s". */
  readonly summary: string;
  readonly facts?: Readonly<Record<string, string>>;
  /** Structured results stored with the step (and used as the next deployment's baseline). No secrets. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A step kind's implementation. Failures throw a SlipwayError (SLW_STEP_FAILED, SLW_STEP_TIMEOUT, ...). */
export interface StepExecutor<S extends StepSpec = StepSpec> {
  readonly kind: S['kind'];
  execute(step: S, runtime: StepRuntime): Promise<StepOutcome>;
  /** Present on kinds that change something besides the release which a rollback must undo (migrate: the schema). */
  readonly undo?: StepUndo<S>;
}

/** How a rollback undoes what a step of the rolled-back deployment did. Used by `src/engine/rollback.ts`. */
export interface StepUndo<S extends StepSpec = StepSpec> {
  /**
   * Whether the deployment left something to undo. Asked when a deployment fails before its release was
   * switched: then this alone makes a rollback necessary. `recorded` is the step as its events left it.
   */
  pending(step: S, runtime: StepRuntime, recorded: UndoRecord): Promise<boolean>;
  /** Undoes it; idempotent (a resumed rollback calls it again). Returns one line for the rollback's events. */
  run(step: S, runtime: StepRuntime): Promise<string>;
}

export interface UndoRecord {
  readonly status: string;
  /** The code of its last failure, if it failed. */
  readonly errorCode?: string;
}

/** Facts the engine and rollback rely on. */
export const FACT = {
  /** Release folder installed by this deployment. */
  releaseDir: 'releaseDir',
  /** Set once `current` points at this deployment's release. */
  switchedTo: 'switchedTo',
  /** What `current` pointed at before the switch. */
  previousRelease: 'previousRelease',
} as const;
