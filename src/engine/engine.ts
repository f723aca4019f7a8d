/** The durable engine: drives a deployment from its event log, one recorded step at a time, until it ends or waits. */

import { setTimeout as sleep } from 'node:timers/promises';
import { verifiedBackupRefusal } from '../backup/precondition.js';
import { type DeploymentView, viewDeployment } from '../core/deployment-view.js';
import { SlipwayError } from '../core/errors.js';
import type { Actor, AnyNewEvent } from '../core/events.js';
import { nextAction } from '../core/next-action.js';
import type { Store, Target } from '../core/ports.js';
import { deploymentPhases, type EnvironmentSpec, type PhaseSpec, type StepSpec } from '../core/process.js';
import { redactDeep } from '../core/redact.js';
import { retryDelayMs } from '../core/retry.js';
import { rollbackTriggerFor } from '../core/rollback-trigger.js';
import { isHostStep } from '../core/rollout-plan.js';
import { isTerminal } from '../core/state.js';
import type { WindowStatus } from '../core/window-status.js';
import { finishFleet, fleetTouched, returnUntouchedHosts } from '../fleet/fleet-rollback.js';
import { closeFleetRun, type FleetOptions, fleetRun } from '../fleet/fleet-run.js';
import { runRollout } from '../fleet/rollout-runner.js';
import { describeInstantForUser, windowStatus as environmentWindowStatus } from '../schedule/index.js';
import { executorFor } from '../steps/registry.js';
import { FACT, type StepRuntime } from '../steps/step-executor.js';
import { LeaseKeeper } from './lease-keeper.js';
import { recordSpawn, stopLeftoverProcesses } from './leftover-processes.js';
import { OutputRecorder } from './output-recorder.js';
import { previousGoodRelease, rollBack, stepBaseline, undoPending } from './rollback.js';
import {
  commandEnvFor,
  type EngineHooks,
  openRunContext,
  type RunContext,
  releaseNameFor,
  scopeFor,
} from './run-context.js';

export interface EngineOptions {
  readonly store: Store;
  readonly hooks?: EngineHooks;
  /** How long a runner's claim on a deployment lasts without renewal. @default 30000 */
  readonly leaseTtlMs?: number;
  /** Make targets differently (tests). @default by the environment's target spec */
  readonly makeTarget?: (env: EnvironmentSpec) => Target;
  /**
   * Whether a runner outside a maintenance window sleeps until it opens (true) or records the wait and
   * returns, leaving the deployment `waiting` for a later `resume` (false). @default true
   */
  readonly waitForWindows?: boolean;
  /** The maintenance-window calculator. @default src/schedule */
  readonly windowStatus?: (env: EnvironmentSpec, nowMs: number, needMs: number) => WindowStatus;
  /** For environments with `hosts`: how host targets and the traffic switch are made (tests). @default from the spec */
  readonly fleet?: FleetOptions;
}

const MAX_WINDOW_SLEEP_MS = 3_600_000;

export class Engine {
  readonly store: Store;
  private readonly hooks: EngineHooks;
  private readonly leaseTtlMs: number;
  private readonly makeTarget: ((env: EnvironmentSpec) => Target) | undefined;
  private readonly waitForWindows: boolean;
  private readonly windowStatus: (env: EnvironmentSpec, nowMs: number, needMs: number) => WindowStatus;
  private readonly fleetOptions: FleetOptions;

  constructor(options: EngineOptions) {
    this.fleetOptions = options.fleet ?? {};
    this.store = options.store;
    this.hooks = options.hooks ?? {};
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.makeTarget = options.makeTarget;
    this.waitForWindows = options.waitForWindows ?? true;
    this.windowStatus = options.windowStatus ?? environmentWindowStatus;
  }

  async view(deploymentId: number): Promise<DeploymentView> {
    const events = await this.store.readEvents(deploymentId);
    if (events.length === 0) {
      throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${deploymentId} in this store`, {
        hint: 'list deployments with "slipway history"',
      });
    }
    return viewDeployment(events);
  }

  /**
   * Runs a deployment until it ends or waits at a gate, resuming from wherever its log ends.
   * Aborting `signal` stops between (or inside) steps without recording a verdict: a later run resumes.
   */
  async run(
    deploymentId: number,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<DeploymentView> {
    const initial = await this.view(deploymentId);
    if (!needsRunner(initial)) return initial;
    const lease = await LeaseKeeper.take(this.store, deploymentId, this.leaseTtlMs);
    const runSignal = AbortSignal.any([signal, lease.lostSignal]);
    try {
      // Re-read under the lease: another runner may have moved it on before we got it.
      const view = await this.view(deploymentId);
      if (!needsRunner(view)) return view;
      const ctx = openRunContext(this.store, this.hooks, view, this.makeTarget);
      const fleet = ctx.environment.fleet ? fleetRun(ctx, this.fleetOptions) : undefined;
      try {
        // Commands a killed runner started may still be running: stop them before anything is decided or re-run.
        const stopped = await stopLeftoverProcesses(view.spawned, [...(fleet?.targets() ?? []), ctx.target]);
        await ctx.append([
          {
            type: 'deployment.runner',
            payload: {
              runner: lease.owner,
              resumed: wasCutShort(view),
              ...(stopped.length ? { stoppedLeftovers: stopped } : {}),
            },
          },
        ]);
        // What a rollback would return to must survive pruning: find it once, before any step runs.
        ctx.previousGood = (await previousGoodRelease(this.store, ctx.view))?.releaseDir ?? null;
        await this.drive(ctx, runSignal);
      } finally {
        await ctx.target.close();
        await closeFleetRun(ctx);
      }
      return ctx.view;
    } finally {
      await lease.release();
    }
  }

  /**
   * Ends an unfinished deployment on a person's word (waiting at a gate or for a window, or left running by a
   * dead runner): it fails, and rolls back first when it had already changed the target.
   */
  async cancel(deploymentId: number, actor: Actor, comment: string): Promise<DeploymentView> {
    const initial = await this.view(deploymentId);
    if (isTerminal(initial.state) || initial.state === 'rolling-back') {
      throw new SlipwayError(
        'SLW_ILLEGAL_TRANSITION',
        `deployment ${deploymentId} is ${initial.state}: nothing to cancel`,
      );
    }
    const lease = await LeaseKeeper.take(this.store, deploymentId, this.leaseTtlMs);
    try {
      const view = await this.view(deploymentId);
      const ctx = openRunContext(this.store, this.hooks, view, this.makeTarget);
      const fleet = ctx.environment.fleet ? fleetRun(ctx, this.fleetOptions) : undefined;
      try {
        await stopLeftoverProcesses(view.spawned, [...(fleet?.targets() ?? []), ctx.target]);
        ctx.previousGood = (await previousGoodRelease(this.store, ctx.view))?.releaseDir ?? null;
        const reason = `cancelled by ${actor.user}${comment ? `: ${comment}` : ''}`;
        await this.fail(ctx, reason, 'SLW_CANCELLED', lease.lostSignal);
      } finally {
        await ctx.target.close();
        await closeFleetRun(ctx);
      }
      return ctx.view;
    } finally {
      await lease.release();
    }
  }

  private async drive(ctx: RunContext, signal: AbortSignal): Promise<void> {
    const ordered = deploymentPhases(ctx.process, ctx.environment.name, ctx.view.emergency !== undefined);
    const phases = new Map(ordered.map((p) => [p.id, p]));
    for (;;) {
      signal.throwIfAborted();
      const action = nextAction(ctx.view, Date.now());
      switch (action.kind) {
        case 'done':
        case 'wait':
          return;
        case 'expire':
          await ctx.append([
            {
              type: 'gate.expired',
              payload: { phase: action.phase, step: action.step, openedAt: action.openedAt },
            },
          ]);
          break;
        case 'window': {
          const phase = phases.get(action.phase);
          if (!phase) throw new Error(`phase ${action.phase} missing from the recorded process`);
          if (!(await this.awaitWindow(ctx, phase, action.step, signal))) return;
          break;
        }
        case 'start-phase':
          await ctx.append([{ type: 'phase.started', payload: { phase: action.phase } }]);
          break;
        case 'finish-phase':
          await ctx.append([{ type: 'phase.succeeded', payload: { phase: action.phase } }]);
          break;
        case 'succeed':
          // Blue-green / canary: the old slots stop only now, after their scale-down delay.
          if (ctx.environment.fleet) await finishFleet(ctx, signal);
          await ctx.append([
            {
              type: 'deployment.succeeded',
              payload: { durationMs: Date.now() - Date.parse(ctx.view.createdAt) },
            },
          ]);
          return;
        case 'open-gate': {
          const step = findStep(phases, action.phase, action.step);
          if (step.kind === 'checklist' && step.auto) {
            await this.tickAutomatically(ctx, action.phase, step.id, step.item, step.auto);
            break;
          }
          const roles =
            step.kind === 'checklist'
              ? step.role
                ? [step.role]
                : []
              : step.kind === 'approval'
                ? step.roles
                : [];
          await ctx.append([
            {
              type: 'gate.waiting',
              payload: {
                phase: action.phase,
                step: action.step,
                gate: step.kind === 'checklist' ? 'checklist' : 'approval',
                roles,
                ...(step.kind === 'checklist' ? { item: step.item } : {}),
              },
            },
          ]);
          return;
        }
        case 'interrupted': {
          const step = findStep(phases, action.phase, action.step);
          const ids = { phase: action.phase, step: action.step, attempt: action.attempt };
          // One append: a crash between "interrupted" and "failed" must not read as "run it again".
          // A fleet rollout is resumed host by host: its own records say what each host may run again.
          const rerun = step.idempotent || (ctx.environment.fleet !== undefined && isHostStep(step));
          await ctx.append([
            { type: 'step.interrupted', payload: { ...ids, rerun } },
            ...(rerun
              ? []
              : [
                  {
                    type: 'step.failed' as const,
                    payload: {
                      ...ids,
                      durationMs: 0,
                      code: 'SLW_STEP_INTERRUPTED',
                      // It may have had its effect already: running it twice could do harm, so fail safely.
                      error: `Slipway stopped while "${step.id}" was running; it is not idempotent, so it is not run again`,
                      willRetry: false,
                    },
                  },
                ]),
          ]);
          break;
        }
        case 'run-step': {
          if (action.notBefore) {
            const wait = Date.parse(action.notBefore) - Date.now();
            if (wait > 0) await sleep(wait, undefined, { signal });
          }
          const phase = phases.get(action.phase);
          if (!phase) throw new Error(`phase ${action.phase} missing from the recorded process`);
          if (!(await this.awaitWindow(ctx, phase, action.step, signal))) return;
          const step = findStep(phases, action.phase, action.step);
          // Final backup verification: refused before anything of the phase's own work starts.
          const refusal = await verifiedBackupRefusal(ctx.environment, phase, step, ctx.view, Date.now());
          if (refusal) {
            await this.fail(ctx, refusal.message, refusal.code, signal);
            break;
          }
          if (ctx.environment.fleet && isHostStep(step))
            await runRollout(ctx, phase, step, action.attempt, signal);
          else await this.runStep(ctx, phase, step, action.attempt, signal);
          break;
        }
        case 'fail':
          await this.fail(ctx, action.reason, action.code, signal);
          break;
        case 'rollback':
          await rollBack(ctx, signal);
          return;
      }
    }
  }

  /**
   * Before a step of a windowed phase: go on only inside a maintenance window (outside freezes) that stays open
   * for what the phase still expects to need. Otherwise record the wait and either sleep until the window opens
   * (returns true) or hand the deployment back as waiting (returns false). Emergencies are not held.
   */
  private async awaitWindow(
    ctx: RunContext,
    phase: PhaseSpec,
    step: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    const env = ctx.environment;
    if (!phase.windowed || ctx.view.emergency || (env.windows.length === 0 && env.freezes.length === 0)) {
      if (ctx.view.window) await ctx.append([{ type: 'window.opened', payload: { phase: phase.id, step } }]);
      return true;
    }
    for (;;) {
      const now = Date.now();
      const status = this.windowStatus(env, now, remainingNeed(ctx.view, phase, now));
      if (status.state === 'open') {
        if (ctx.view.window)
          await ctx.append([{ type: 'window.opened', payload: { phase: phase.id, step } }]);
        return true;
      }
      if (status.state === 'never') {
        // An earlier phase may already have changed the target: the ordinary failure path rolls back then.
        await this.fail(ctx, `${phase.id}: ${status.reason}`, 'SLW_WINDOW_NEVER', signal);
        return false;
      }
      const opensAt = new Date(status.opensAt).toISOString();
      if (ctx.view.window?.opensAt !== opensAt) {
        await ctx.append([
          {
            type: 'window.waiting',
            payload: {
              phase: phase.id,
              step,
              opensAt,
              opensAtText: describeInstantForUser(status.opensAt, env.windows[0]?.timezone ?? 'UTC'),
              closesAt: status.closesAt === null ? null : new Date(status.closesAt).toISOString(),
              reason: status.reason,
            },
          },
        ]);
      }
      if (!this.waitForWindows) return false;
      // In chunks: timers cannot wait longer than ~24.8 days, and a check now and then costs nothing.
      await sleep(Math.min(MAX_WINDOW_SLEEP_MS, Math.max(0, status.opensAt - Date.now())), undefined, {
        signal,
      });
    }
  }

  /** An automatic checklist item is ticked by Slipway when the step it is bound to succeeded. */
  private async tickAutomatically(
    ctx: RunContext,
    phase: string,
    step: string,
    item: string,
    auto: { readonly phase: string; readonly step: string },
  ): Promise<void> {
    const bound = ctx.view.phases.find((p) => p.id === auto.phase)?.steps.find((s) => s.id === auto.step);
    const ok = bound?.status === 'succeeded';
    const actor = { user: 'slipway', via: 'auto' } as const;
    const gate = { phase, step };
    await ctx.append([
      { type: 'gate.waiting', payload: { ...gate, gate: 'checklist', roles: [], item } },
      ok
        ? {
            type: 'gate.checked',
            payload: { ...gate, role: 'auto', actor, comment: `${auto.phase}.${auto.step} succeeded` },
          }
        : {
            type: 'gate.rejected',
            payload: { ...gate, role: 'auto', actor, comment: `${auto.phase}.${auto.step} did not succeed` },
          },
    ]);
  }

  private async runStep(
    ctx: RunContext,
    phase: PhaseSpec,
    step: StepSpec,
    attempt: number,
    signal: AbortSignal,
  ): Promise<void> {
    const ids = { phase: phase.id, step: step.id, attempt };
    await ctx.append([{ type: 'step.started', payload: ids }]);
    const started = performance.now();
    const timeout = AbortSignal.timeout(step.timeoutMs);
    const stepSignal = AbortSignal.any([signal, timeout]);
    const recorder = new OutputRecorder(ctx, phase.id, step.id);
    const runtime = this.runtimeFor(ctx, phase, step, stepSignal, recorder.write);
    let outcome: Awaited<ReturnType<ReturnType<typeof executorFor>['execute']>>;
    try {
      outcome = await executorFor(step).execute(step, runtime);
    } catch (e) {
      await recorder.close();
      // Stopped from outside (Ctrl-C, lost lease): record nothing, the next runner decides from the open attempt.
      if (signal.aborted) throw signal.reason;
      const willRetry = attempt <= step.retry.count;
      const retryInMs = retryDelayMs(step.retry, attempt);
      const timedOut = timeout.aborted;
      const code = timedOut ? 'SLW_STEP_TIMEOUT' : e instanceof SlipwayError ? e.code : 'SLW_STEP_FAILED';
      const message = timedOut
        ? `"${step.id}" did not finish within its timeout of ${step.timeoutMs}ms`
        : e instanceof Error
          ? e.message
          : String(e);
      await ctx.append([
        {
          type: 'step.failed',
          payload: {
            ...ids,
            durationMs: Math.round(performance.now() - started),
            code,
            error: ctx.redact(message),
            willRetry,
            ...(willRetry ? { retryInMs } : {}),
            ...(e instanceof SlipwayError && e.details ? { details: redactDetails(ctx, e.details) } : {}),
          },
        },
      ]);
      return;
    }
    // Outside the try: a store that cannot record the success must not turn it into a failure (or a re-run).
    await recorder.close();
    await ctx.append([
      {
        type: 'step.succeeded',
        payload: {
          ...ids,
          durationMs: Math.round(performance.now() - started),
          summary: ctx.redact(outcome.summary),
          ...(outcome.facts ? { facts: outcome.facts } : {}),
          ...(outcome.details ? { details: redactDetails(ctx, outcome.details) } : {}),
        },
      },
    ]);
  }

  private runtimeFor(
    ctx: RunContext,
    phase: PhaseSpec,
    step: StepSpec,
    signal: AbortSignal,
    output: (chunk: string) => void,
  ): StepRuntime {
    const releaseName = releaseNameFor(ctx.view.id, ctx.view.release);
    const scope = scopeFor(ctx, ctx.view.release, releaseName);
    const index = phase.steps.indexOf(step);
    return {
      process: ctx.process,
      environment: ctx.environment,
      deploymentId: ctx.view.id,
      release: ctx.view.release,
      artifact: { path: ctx.artifactPath, sha256: ctx.view.artifactSha256 },
      target: ctx.target,
      releaseName,
      previousGoodRelease: ctx.previousGood ?? ctx.view.facts[FACT.previousRelease] ?? null,
      scope,
      commandEnv: commandEnvFor(ctx, scope),
      facts: ctx.view.facts,
      restartFollows: phase.steps.slice(index + 1).some((s) => s.kind === 'restart'),
      signal,
      timeoutMs: step.timeoutMs,
      output,
      redact: ctx.redact,
      baseline: () => stepBaseline(ctx.store, ctx.view, phase.id, step.id),
      onSpawn: (pid, onTarget) => recordSpawn(ctx, phase.id, step.id, pid, onTarget),
      recordAnalysis: (r) =>
        ctx.append([
          { type: r.type, payload: { phase: phase.id, step: step.id, ...r.payload } } as AnyNewEvent,
        ]),
      measuredBaseline: () => ctx.view.analysis?.baseline?.monitors,
    };
  }

  /** A step failed for good: roll back if the target may have changed and the environment wants it, else fail. */
  private async fail(ctx: RunContext, reason: string, code: string, signal: AbortSignal): Promise<void> {
    const failedStep = ctx.view.phases.flatMap((p) => p.steps).find((s) => s.status === 'failed');
    const trigger = rollbackTriggerFor(code, failedStep?.kind);
    const analysis =
      trigger === 'degradation' || trigger === 'critical-check' ? ctx.view.analysis?.trigger : undefined;
    const why = failedStep ? `${failedStep.phase}.${failedStep.id} failed: ${reason}` : reason;
    const touched = await targetTouched(ctx);
    if (touched && ctx.environment.rollback.auto) {
      const previous = await previousGoodRelease(ctx.store, ctx.view);
      if (previous) {
        await ctx.append([
          {
            type: 'rollback.started',
            payload: {
              reason: why,
              trigger,
              ...(analysis ? { analysis } : {}),
              toRelease: previous.release,
              toReleaseDir: previous.releaseDir,
            },
          },
        ]);
        await rollBack(ctx, signal);
        return;
      }
    }
    // Fleet hosts taken out of the balancer for an update that never began go back in.
    let putBack = '';
    if (ctx.environment.fleet)
      await returnUntouchedHosts(ctx, signal).catch((e: unknown) => {
        if (signal.aborted) throw e;
        putBack = `; hosts out of the balancer could not be put back: ${e instanceof Error ? e.message : String(e)}`;
      });
    const note = !touched
      ? ' (the live release was not changed)'
      : ctx.environment.rollback.auto
        ? ' (no earlier good release to roll back to: the new release stays in place)'
        : ' (automatic rollback is off: run "slipway rollback" to return to the previous release)';
    await ctx.append([
      { type: 'deployment.failed', payload: { reason: ctx.redact(`${why}${note}${putBack}`), code } },
    ]);
  }
}

/** Details are stored and shown: every string in them goes through the redactor. */
function redactDetails(
  ctx: RunContext,
  details: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  return redactDeep(details, ctx.redact);
}

function findStep(phases: ReadonlyMap<string, PhaseSpec>, phaseId: string, stepId: string): StepSpec {
  const step = phases.get(phaseId)?.steps.find((s) => s.id === stepId);
  if (!step) throw new Error(`step ${phaseId}.${stepId} missing from the recorded process`);
  return step;
}

/** Did this deployment (possibly) change what runs on the target? Then a failure needs a rollback. */
async function targetTouched(ctx: RunContext): Promise<boolean> {
  if (ctx.environment.fleet) return (await fleetTouched(ctx)) || (await undoPending(ctx));
  if (ctx.view.facts[FACT.switchedTo]) return true;
  const steps = ctx.view.phases.flatMap((p) => p.steps);
  if (steps.some((s) => s.kind === 'restart' && s.attempts > 0)) return true;
  // A step that changed something else (migrations) needs the rollback to undo it, switched or not.
  if (await undoPending(ctx)) return true;
  const ownRelease = releaseNameFor(ctx.view.id, ctx.view.release);
  if (!steps.some((s) => s.kind === 'release' && s.attempts > 0)) return false;
  // A release step may have switched `current` before the crash that cut it short: look.
  return (await ctx.target.currentRelease()) === ownRelease;
}

/** Whether running it would do anything now: not when final, nor when a gate (not yet expired) waits for people. */
export function needsRunner(view: DeploymentView): boolean {
  if (isTerminal(view.state)) return false;
  if (view.state !== 'waiting' || view.window) return true;
  return nextAction(view, Date.now()).kind === 'expire';
}

/** What a windowed phase still expects to need: its declared duration, less the time it has already run. */
function remainingNeed(view: DeploymentView, phase: PhaseSpec, now: number): number {
  if (phase.expectedDurationMs === undefined) return 0;
  // Time spent waiting for people at a gate is not time the phase's work has taken.
  const started = view.phases
    .find((p) => p.id === phase.id)
    ?.steps.filter((s) => s.kind !== 'approval' && s.kind !== 'checklist')
    .map((s) => s.startedAt)
    .filter((t): t is string => t !== undefined)
    .sort()[0];
  const elapsed = started === undefined ? 0 : now - Date.parse(started);
  return Math.max(0, phase.expectedDurationMs - elapsed);
}

/** Did the previous runner stop in the middle (crash, kill) rather than at a gate? */
function wasCutShort(view: DeploymentView): boolean {
  return (
    view.lastSeq > 1 &&
    !['gate.approved', 'gate.checked', 'gate.rejected', 'rollback.started'].includes(view.lastEventType)
  );
}
