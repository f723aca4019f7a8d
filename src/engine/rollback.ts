/** Rollback: return an environment to its previous good release (switch, restart, verify), recording each action. */

import { setTimeout as sleep } from 'node:timers/promises';
import { type DeploymentView, viewDeployment } from '../core/deployment-view.js';
import { SlipwayError } from '../core/errors.js';
import type { Actor } from '../core/events.js';
import type { DeploymentRecord, Store } from '../core/ports.js';
import { isGate, phasesFor, type StepSpec } from '../core/process.js';
import { retryDelayMs } from '../core/retry.js';
import { rollBackFleet } from '../fleet/fleet-rollback.js';
import { executorFor } from '../steps/registry.js';
import { runServiceCommand, switchTo } from '../steps/service-control.js';
import { FACT, type StepRuntime, type StepUndo, type UndoRecord } from '../steps/step-executor.js';
import { recordSpawn } from './leftover-processes.js';
import { OutputRecorder } from './output-recorder.js';
import { commandEnvFor, type RunContext, scopeFor } from './run-context.js';

const DEFAULT_ACTION_TIMEOUT_MS = 120_000;

export interface GoodRelease {
  readonly deploymentId: number;
  readonly release: string;
  readonly releaseDir: string;
}

/** The newest succeeded deployment of the same environment before `view`, with the release folder it left live. */
export async function previousGoodRelease(store: Store, view: DeploymentView): Promise<GoodRelease | null> {
  const candidates = await store.listDeployments({
    app: view.app,
    environment: view.environment,
    states: ['succeeded'],
    limit: 50,
  });
  for (const d of candidates) {
    if (d.id >= view.id) continue;
    const facts = viewDeployment(await store.readEvents(d.id)).facts;
    const dir = facts[FACT.switchedTo] ?? facts[FACT.releaseDir];
    if (dir) return { deploymentId: d.id, release: d.release, releaseDir: dir };
  }
  return null;
}

/** The details a step recorded in the newest succeeded deployment of the same environment before `view`. */
export async function stepBaseline(
  store: Store,
  view: DeploymentView,
  phase: string,
  step: string,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  const candidates = await store.listDeployments({
    app: view.app,
    environment: view.environment,
    states: ['succeeded'],
    limit: 20,
  });
  for (const d of candidates) {
    if (d.id >= view.id) continue;
    for (const e of await store.readEvents(d.id)) {
      if (
        e.type === 'step.succeeded' &&
        e.payload.phase === phase &&
        e.payload.step === step &&
        e.payload.details
      ) {
        return e.payload.details;
      }
    }
  }
  return undefined;
}

/** Carries out the rollback recorded by `rollback.started`. Every action is idempotent, so a resume repeats them all. */
export async function rollBack(ctx: RunContext, signal: AbortSignal): Promise<void> {
  const rb = ctx.view.rollback;
  if (!rb) throw new Error('rollBack called without rollback.started');
  // Hosts: each host the deployment changed goes back (or traffic goes back to the old slots).
  if (ctx.environment.fleet && rb.toReleaseDir) return rollBackFleet(ctx, signal);
  const started = Date.now();
  const to = rb.toReleaseDir;
  const toRelease = rb.toRelease;
  if (!to || !toRelease) {
    await ctx.append([
      { type: 'rollback.failed', payload: { error: 'no previous good release is recorded' } },
      {
        type: 'deployment.failed',
        payload: { reason: `${rb.reason}; no previous good release`, code: 'SLW_NOTHING_TO_ROLL_BACK' },
      },
    ]);
    return;
  }
  const restartStep = findSteps(ctx, (s) => s.kind === 'restart')[0];
  const hasService = ctx.environment.service.start !== undefined;
  try {
    if (hasService) {
      // A broken release often cannot be stopped cleanly (it already crashed): record that, and go on to
      // switch and start the good one, which is what matters.
      await action(ctx, 'stop', signal, restartStep?.timeoutMs, async (rt) => {
        const ran = await runServiceCommand(rt, 'stop');
        return ran ? 'stopped the failed release' : 'no stop command';
      }).catch((e: unknown) => {
        if (signal.aborted) throw e;
      });
    }
    // What steps changed besides the release (the schema, say) is undone while no release runs, before the switch.
    await undoSteps(ctx, signal);
    await action(ctx, 'switch', signal, undefined, async (rt) => {
      const previous = await switchTo(rt, to);
      return `current → ${to}${previous && previous !== to ? ` (was ${previous})` : ''}`;
    });
    if (hasService) {
      await action(ctx, 'start', signal, restartStep?.timeoutMs, async (rt) => {
        await runServiceCommand(rt, 'start');
        return `started ${toRelease}`;
      });
    }
    for (const check of verifySteps(ctx)) {
      // The step's timeout is per attempt, as in a deployment: allow every attempt and the waits between.
      await action(ctx, `verify ${check.id}`, signal, allAttemptsMs(check), (rt) =>
        withRetries(check, rt, signal),
      );
    }
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    const message = ctx.redact(e instanceof Error ? e.message : String(e));
    await ctx.append([
      { type: 'rollback.failed', payload: { error: message } },
      {
        type: 'deployment.failed',
        payload: {
          reason: `${rb.reason}; rollback to ${toRelease} failed: ${message} — the environment needs a person`,
          code: 'SLW_ROLLBACK_FAILED',
        },
      },
    ]);
    return;
  }
  await ctx.append([
    { type: 'rollback.succeeded', payload: { release: toRelease, durationMs: Date.now() - started } },
    { type: 'deployment.rolled-back', payload: { reason: rb.reason, release: toRelease } },
  ]);
}

/** Runs one rollback action with its own timeout and output, and records it as `rollback.step`. */
async function action(
  ctx: RunContext,
  name: string,
  signal: AbortSignal,
  timeoutMs: number | undefined,
  body: (rt: StepRuntime) => Promise<string>,
): Promise<void> {
  const limit = timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
  const recorder = new OutputRecorder(ctx, 'rollback', name);
  const rt = rollbackRuntime(
    ctx,
    AbortSignal.any([signal, AbortSignal.timeout(limit)]),
    limit,
    recorder.write,
  );
  try {
    const detail = await body(rt);
    await recorder.close();
    await ctx.append([
      { type: 'rollback.step', payload: { action: name, ok: true, detail: ctx.redact(detail) } },
    ]);
  } catch (e) {
    await recorder.close();
    if (signal.aborted) throw signal.reason;
    const message = e instanceof Error ? e.message : String(e);
    await ctx.append([
      { type: 'rollback.step', payload: { action: name, ok: false, detail: ctx.redact(message) } },
    ]);
    throw e;
  }
}

function rollbackRuntime(
  ctx: RunContext,
  signal: AbortSignal,
  timeoutMs: number,
  output: (chunk: string) => void,
): StepRuntime {
  const rb = ctx.view.rollback;
  const release = rb?.toRelease ?? ctx.view.release;
  const releaseName = rb?.toReleaseDir ?? '';
  const scope = scopeFor(ctx, release, releaseName);
  return {
    process: ctx.process,
    environment: ctx.environment,
    deploymentId: ctx.view.id,
    release,
    artifact: { path: ctx.artifactPath, sha256: ctx.view.artifactSha256 },
    target: ctx.target,
    releaseName,
    previousGoodRelease: releaseName,
    scope,
    commandEnv: commandEnvFor(ctx, scope),
    facts: { [FACT.releaseDir]: releaseName },
    restartFollows: false,
    signal,
    timeoutMs,
    output,
    redact: ctx.redact,
    baseline: async () => undefined,
    onSpawn: (pid, onTarget) => recordSpawn(ctx, 'rollback', 'action', pid, onTarget),
  };
}

/** A step of this deployment that ran and whose kind can undo what it did (see `StepUndo`). */
interface Undoer {
  readonly phase: string;
  readonly step: StepSpec;
  readonly record: UndoRecord;
  readonly undo: StepUndo;
}

/** The deployment's steps that ran and can undo what they did, newest first (the order to undo them in). */
function undoers(ctx: RunContext): Undoer[] {
  const specs = phasesFor(ctx.process, ctx.environment.name);
  const out: Undoer[] = [];
  for (const phase of ctx.view.phases) {
    for (const s of phase.steps) {
      if (s.attempts === 0) continue;
      const step = specs.find((p) => p.id === phase.id)?.steps.find((x) => x.id === s.id);
      const undo = step && !isGate(step) ? executorFor(step).undo : undefined;
      if (step && undo) {
        const record = { status: s.status, ...(s.error ? { errorCode: s.error.code } : {}) };
        out.push({ phase: phase.id, step, record, undo });
      }
    }
  }
  return out.reverse();
}

/**
 * Runs the `undo` of every step of the deployment that can undo what it did, newest first, each recorded as a
 * rollback action `undo <phase>.<step>`; throws (after recording) when one fails. Idempotent.
 */
export async function undoSteps(ctx: RunContext, signal: AbortSignal): Promise<void> {
  for (const u of undoers(ctx)) {
    await action(ctx, `undo ${u.phase}.${u.step.id}`, signal, u.step.timeoutMs, (rt) =>
      u.undo.run(u.step, rt),
    );
  }
}

/**
 * Whether a step of this deployment left something besides the release that a rollback must undo (e.g. applied
 * migrations). The engine asks when a deployment fails before its release was switched.
 */
export async function undoPending(ctx: RunContext): Promise<boolean> {
  for (const u of undoers(ctx)) {
    const rt = rollbackRuntime(ctx, AbortSignal.timeout(u.step.timeoutMs), u.step.timeoutMs, () => undefined);
    if (await u.undo.pending(u.step, rt, u.record)) return true;
  }
  return false;
}

/** Steps of this environment's phases matching `predicate`, in order. */
function findSteps(ctx: RunContext, predicate: (s: StepSpec) => boolean): StepSpec[] {
  return phasesFor(ctx.process, ctx.environment.name).flatMap((p) => p.steps.filter(predicate));
}

/** The checks that prove the restored release works: the smoke and http steps of the phase that ships the release. */
function verifySteps(ctx: RunContext): StepSpec[] {
  const phase = phasesFor(ctx.process, ctx.environment.name).find((p) =>
    p.steps.some((s) => s.kind === 'release'),
  );
  if (!phase) return [];
  const after = phase.steps.slice(phase.steps.findIndex((s) => s.kind === 'release') + 1);
  return after.filter((s) => s.kind === 'smoke' || s.kind === 'http');
}

function allAttemptsMs(step: StepSpec): number {
  let total = step.timeoutMs;
  for (let attempt = 1; attempt <= step.retry.count; attempt++) {
    total += step.timeoutMs + retryDelayMs(step.retry, attempt);
  }
  return total;
}

/**
 * Runs a check with the step's retries; returns its summary. `rt` may be a function giving each attempt its own
 * runtime (a fresh per-attempt timeout, as a fleet host's restore uses).
 */
export async function withRetries(
  step: StepSpec,
  rt: StepRuntime | ((timeoutMs: number) => StepRuntime),
  signal: AbortSignal,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await executorFor(step).execute(step, typeof rt === 'function' ? rt(step.timeoutMs) : rt))
        .summary;
    } catch (e) {
      if (signal.aborted || attempt > step.retry.count) throw e;
      if (!(e instanceof SlipwayError)) throw e;
      await sleep(retryDelayMs(step.retry, attempt), undefined, {
        signal,
      });
    }
  }
}

/**
 * Starts a manual rollback of an environment: the live (latest succeeded) deployment is marked rolling back
 * to the good release before it. The caller then runs the deployment to carry it out.
 */
export async function startManualRollback(
  store: Store,
  live: DeploymentRecord,
  actor: Actor,
  comment: string | undefined,
): Promise<GoodRelease> {
  const view = viewDeployment(await store.readEvents(live.id));
  const previous = await previousGoodRelease(store, view);
  if (!previous) {
    throw new SlipwayError(
      'SLW_NOTHING_TO_ROLL_BACK',
      `${live.environment} has no good release before ${live.release} (deployment ${live.id}) to return to`,
    );
  }
  await store.append(live.id, view.lastSeq, [
    {
      type: 'rollback.started',
      payload: {
        reason: `manual rollback by ${actor.user}${comment ? `: ${comment}` : ''}`,
        trigger: 'manual',
        toRelease: previous.release,
        toReleaseDir: previous.releaseDir,
        actor,
      },
    },
  ]);
  return previous;
}
