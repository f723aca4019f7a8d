/** Runs a phase's host steps across a fleet by its strategy, recording every host step and traffic change. */

import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../core/errors.js';
import { hostsDone } from '../core/fleet-view.js';
import type { HostSpec, PhaseSpec, SlotName, StepSpec } from '../core/process.js';
import { retryDelayMs } from '../core/retry.js';
import {
  backendId,
  checksAfterRollout,
  idleSlot,
  overFailureBudget,
  planRollout,
  type RolloutPlan,
  remainingBatches,
  revertWeights,
  rolloutSteps,
  type SlotSwitch,
  slotPorts,
  slotWeights,
  usesSlots,
} from '../core/rollout-plan.js';
import { recordSpawn } from '../engine/leftover-processes.js';
import { OutputRecorder } from '../engine/output-recorder.js';
import { type RunContext, releaseNameFor } from '../engine/run-context.js';
import { executorFor } from '../steps/registry.js';
import { FACT, type StepOutcome, type StepRuntime } from '../steps/step-executor.js';
import { hostTouched, restoreHost } from './fleet-rollback.js';
import { type FleetOptions, type FleetRun, fleetRun } from './fleet-run.js';
import { type HostRunSpec, type HostSlot, hostOutput, hostRuntime } from './host-runtime.js';
import { liveSlots } from './live-slots.js';
import { mapLimit } from './map-limit.js';
import { SLOT_FACT, startOnSlot } from './slot-control.js';

interface Outcome {
  readonly ok: boolean;
  readonly code?: string;
  readonly error?: string;
  /** One line for status: what happened across the fleet. */
  readonly summary: string;
}

/**
 * Runs every host step of `phase` on every host (the engine calls it for the first host step not yet done), then
 * records the phase's host steps as succeeded, or `anchor` as failed with what went wrong where.
 */
export async function runRollout(
  ctx: RunContext,
  phase: PhaseSpec,
  anchor: StepSpec,
  attempt: number,
  signal: AbortSignal,
  options: FleetOptions = {},
): Promise<void> {
  const run = fleetRun(ctx, options);
  const steps = rolloutSteps(phase);
  const plan = planRollout(
    run.spec.hosts.map((h) => h.name),
    run.spec.strategy,
  );
  const ids = { phase: phase.id, step: anchor.id, attempt };
  const started = performance.now();
  await ctx.append([
    { type: 'step.started', payload: ids },
    {
      type: 'rollout.started',
      payload: {
        phase: phase.id,
        strategy: plan.strategy,
        hosts: run.spec.hosts.map((h) => h.name),
        steps: steps.map((s) => s.id),
        batches: plan.batches,
      },
    },
  ]);
  const recorder = new OutputRecorder(ctx, phase.id, anchor.id);
  const rollout = new Rollout(ctx, run, phase, steps, plan, signal, recorder.write);
  let outcome: Outcome;
  try {
    outcome = usesSlots(run.spec.strategy) ? await rollout.slots() : await rollout.hosts();
  } catch (e) {
    await recorder.close();
    if (signal.aborted) throw signal.reason;
    const message = e instanceof Error ? e.message : String(e);
    outcome = {
      ok: false,
      code: e instanceof SlipwayError ? e.code : 'SLW_ROLLOUT_FAILED',
      error: message,
      summary: message,
    };
  }
  await recorder.close();
  const durationMs = Math.round(performance.now() - started);
  if (!outcome.ok) {
    await ctx.append([
      {
        type: 'step.failed',
        payload: {
          ...ids,
          durationMs,
          code: outcome.code ?? 'SLW_ROLLOUT_FAILED',
          error: ctx.redact(outcome.error ?? outcome.summary),
          willRetry: false,
        },
      },
    ]);
    return;
  }
  // The phase's host steps are done everywhere: record them so the engine moves on past them.
  const releaseName = releaseNameFor(ctx.view.id, ctx.view.release);
  const facts = { [FACT.releaseDir]: releaseName, [FACT.switchedTo]: releaseName };
  const pending = steps.filter(
    (s) =>
      ctx.view.phases.find((p) => p.id === phase.id)?.steps.find((v) => v.id === s.id)?.status !==
      'succeeded',
  );
  await ctx.append(
    pending.flatMap((s, i) => {
      const succeeded = {
        type: 'step.succeeded' as const,
        payload: {
          phase: phase.id,
          step: s.id,
          attempt: s.id === anchor.id ? attempt : 1,
          durationMs: s.id === anchor.id ? durationMs : 0,
          summary: ctx.redact(outcome.summary),
          ...(i === pending.length - 1 ? { facts } : {}),
        },
      };
      return s.id === anchor.id
        ? [succeeded]
        : [
            { type: 'step.started' as const, payload: { phase: phase.id, step: s.id, attempt: 1 } },
            succeeded,
          ];
    }),
  );
}

class Rollout {
  constructor(
    private readonly ctx: RunContext,
    private readonly run: FleetRun,
    private readonly phase: PhaseSpec,
    private readonly steps: readonly StepSpec[],
    private readonly plan: RolloutPlan,
    private readonly signal: AbortSignal,
    private readonly output: (chunk: string) => void,
  ) {}

  private get spec() {
    return this.run.spec;
  }

  private host(name: string): HostSpec {
    const h = this.spec.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`host ${name} is not in the recorded process`);
    return h;
  }

  private facts(name: string): Readonly<Record<string, string>> {
    return this.ctx.view.fleet?.hosts.find((h) => h.name === name)?.facts ?? {};
  }

  /** Hosts on which a rollout step failed for good (some may have been restored since). */
  private failedHosts(): string[] {
    return (this.ctx.view.fleet?.hosts ?? []).filter((h) => h.error !== undefined).map((h) => h.name);
  }

  private hostError(name: string): string {
    const e = this.ctx.view.fleet?.hosts.find((h) => h.name === name)?.error;
    return e ? `${name}: ${e.step}: ${e.message.split('\n')[0]}` : `${name}: failed`;
  }

  // ───────────── rolling and all-at-once ─────────────

  /** Batch after batch; a host is taken out of the balancer for its update and put back once its checks pass. */
  async hosts(): Promise<Outcome> {
    const done = hostsDone(this.ctx.view.fleet, this.phase.id);
    const batches = this.plan.batches;
    const alreadyFailed = new Set(this.failedHosts());
    let failures = alreadyFailed.size;
    const todo = remainingBatches(this.plan, new Set([...done, ...alreadyFailed]));
    if (overFailureBudget(this.plan, failures)) return this.stopped(todo.flat());
    for (const batch of todo) {
      this.signal.throwIfAborted();
      const index = batches.findIndex((b) => b.includes(batch[0] as string));
      await this.ctx.append([
        { type: 'rollout.batch', payload: { phase: this.phase.id, index, hosts: batch } },
      ]);
      this.output(`batch ${index + 1}/${batches.length}: ${batch.join(', ')}\n`);
      const results = await mapLimit(batch, this.spec.concurrency, (name) =>
        this.updateHost(this.host(name)),
      );
      const failed = batch.filter((_, i) => !results[i]);
      failures += failed.length;
      if (overFailureBudget(this.plan, failures)) {
        const rest = todo.slice(todo.indexOf(batch) + 1).flat();
        return this.stopped(rest);
      }
      // Within maxFailed: the failed host goes back to the release it had, the rollout goes on.
      for (const name of failed)
        await restoreHost(this.ctx, this.run, this.phase, this.host(name), this.signal);
    }
    const total = this.spec.hosts.length;
    const failedNow = this.failedHosts();
    return {
      ok: true,
      summary:
        failedNow.length === 0
          ? `${total}/${total} hosts updated (${this.plan.strategy})`
          : `${total - failedNow.length}/${total} hosts updated; ${failedNow.join(', ')} failed within maxFailed ${this.plan.maxFailed} and went back`,
    };
  }

  private stopped(untouched: readonly string[]): Outcome {
    const failed = this.failedHosts();
    const error = `rollout stopped: ${failed.length} host${failed.length === 1 ? '' : 's'} failed, ${this.plan.maxFailed} allowed — ${failed.map((h) => this.hostError(h)).join('; ')}${untouched.length ? ` (not started: ${untouched.join(', ')})` : ''}`;
    return { ok: false, code: 'SLW_ROLLOUT_FAILED', error, summary: error };
  }

  private async updateHost(host: HostSpec): Promise<boolean> {
    const backend = this.spec.traffic && host.servicePort !== undefined ? backendId(host.name) : undefined;
    if (backend) await this.takeOut([backend], `${host.name} out of the balancer for its update`);
    const ok = await this.runHost(host, undefined);
    if (ok && backend) await this.shift({ [backend]: 100 }, `${host.name} back in: its checks passed`);
    // Failed before anything changed what it runs (a full disk during the upload): it still serves the old
    // release, and no rollback will touch it, so it goes back in now rather than stay out for good.
    else if (backend && !hostTouched(this.ctx, host.name))
      await this.shift({ [backend]: 100 }, `${host.name} back in: it failed before anything changed on it`);
    return ok;
  }

  // ───────────── blue-green and canary ─────────────

  /** New release on each host's idle slot, checked, then traffic moved to the new slots in the strategy's steps. */
  async slots(): Promise<Outcome> {
    const strategy = this.spec.strategy;
    if (strategy.type !== 'blue-green' && strategy.type !== 'canary') throw new Error('not a slot strategy');
    const live = await liveSlots(this.ctx);
    const switches: SlotSwitch[] = this.spec.hosts.map((h) => {
      const facts = this.facts(h.name);
      // A resumed rollout keeps the slots it chose.
      const from =
        facts[SLOT_FACT.liveSlot] !== undefined
          ? ((facts[SLOT_FACT.liveSlot] || null) as SlotName | null)
          : (live.get(h.name) ?? null);
      const to = (facts[SLOT_FACT.slot] as SlotName | undefined) ?? idleSlot(from);
      return { host: h.name, from, to };
    });
    const percentSoFar = this.ctx.view.fleet?.percent;
    if (percentSoFar === undefined) {
      // Nothing may reach a new slot before it is up and checked.
      await this.shift(
        Object.fromEntries(switches.map((s) => [backendId(s.host, s.to), 0])),
        'new slots take no traffic until checked',
      );
    }
    const results = await mapLimit(this.spec.hosts, this.spec.concurrency, (h) => {
      const s = switches.find((x) => x.host === h.name) as SlotSwitch;
      return this.runHost(h, s);
    });
    if (results.some((ok) => !ok)) {
      const failed = this.failedHosts();
      const error = `${failed.length} of ${this.spec.hosts.length} hosts failed before traffic moved — ${failed.map((h) => this.hostError(h)).join('; ')}; traffic stays on the old slots`;
      return { ok: false, code: 'SLW_ROLLOUT_FAILED', error, summary: error };
    }
    // With nothing serving yet (a first deployment) there is no old release to share traffic with.
    const fresh = switches.every((s) => s.from === null);
    const steps = (fresh ? [100] : this.plan.weightSteps).filter(
      (w) => percentSoFar === undefined || w >= percentSoFar,
    );
    for (const percent of steps) {
      this.signal.throwIfAborted();
      await this.shift(
        slotWeights(switches, percent),
        percent === 100 ? 'all traffic to the new slots' : `canary: ${percent}% to the new slots`,
        percent,
      );
      if (percent === 100) break;
      const pauseMs = strategy.type === 'canary' ? strategy.pauseMs : 0;
      if (pauseMs > 0) {
        this.output(`pausing ${pauseMs}ms at ${percent}%\n`);
        await sleep(pauseMs, undefined, { signal: this.signal });
      }
      const problem = await this.canaryChecks(switches, percent);
      if (problem) {
        await this.shift(
          revertWeights(switches),
          `canary check failed at ${percent}%: traffic back to the old slots`,
          0,
        );
        const error = `canary stopped at ${percent}%: ${problem}`;
        return { ok: false, code: 'SLW_ROLLOUT_FAILED', error, summary: error };
      }
    }
    // Requests the old slots took before the switch finish there; the old slots stay up until the deployment ends.
    const old = switches
      .filter((s) => s.from !== null && s.from !== s.to)
      .map((s) => backendId(s.host, s.from as SlotName));
    const drained: Record<string, number> = {};
    const sw = await this.run.traffic();
    await mapLimit(old, this.spec.concurrency, async (id) => {
      drained[id] = sw ? await sw.drain(id, this.spec.drainTimeoutMs, this.signal) : 0;
    });
    if (old.length > 0)
      await this.ctx.append([
        { type: 'traffic.shifted', payload: { weights: {}, reason: 'old slots drained', drained } },
      ]);
    const n = this.spec.hosts.length;
    return {
      ok: true,
      summary: `${n}/${n} hosts on their new slot; traffic switched (${this.plan.weightSteps.join(' → ')}%)`,
    };
  }

  /** The checks between canary steps: each host's smoke steps against its new slot, then the phase's shared checks. */
  private async canaryChecks(switches: readonly SlotSwitch[], percent: number): Promise<string | undefined> {
    const problems: string[] = [];
    const smoke = this.steps.filter((s) => s.kind === 'smoke' || s.kind === 'http');
    await mapLimit(this.spec.hosts, this.spec.concurrency, async (h) => {
      const s = switches.find((x) => x.host === h.name) as SlotSwitch;
      for (const step of smoke) {
        try {
          await this.attempts(step, this.hostRun(h, s), `canary ${percent}%`);
        } catch (e) {
          if (this.signal.aborted) throw e;
          problems.push(
            `${h.name}: ${step.id}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
          );
        }
      }
    });
    if (problems.length) return problems.join('; ');
    const first = this.spec.hosts[0] as HostSpec;
    for (const step of checksAfterRollout(this.phase)) {
      try {
        await this.attempts(step, this.hostRun(first, undefined), `canary ${percent}%`);
      } catch (e) {
        if (this.signal.aborted) throw e;
        return `${step.id}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      }
    }
    return undefined;
  }

  // ───────────── one host ─────────────

  private hostRun(host: HostSpec, sw: SlotSwitch | undefined): HostRunSpec {
    const slot = sw ? this.slotOf(host, sw.to) : undefined;
    return { host, target: this.run.target(host), facts: this.facts(host.name), ...(slot ? { slot } : {}) };
  }

  private slotOf(host: HostSpec, name: SlotName): HostSlot {
    const ports = slotPorts(host, this.spec.strategy);
    if (!ports) throw new Error(`host ${host.name} has no slot ports`);
    return { name, port: ports[name] };
  }

  /** The phase's host steps on one host, skipping those already done there; false once one fails for good. */
  private async runHost(host: HostSpec, sw: SlotSwitch | undefined): Promise<boolean> {
    for (const step of this.steps) {
      const key = `${this.phase.id}.${step.id}`;
      const seen = this.ctx.view.fleet?.hosts.find((h) => h.name === host.name)?.steps[key];
      if (seen?.status === 'succeeded') continue;
      if (!(await this.runHostStep(host, step, sw, seen))) return false;
    }
    return true;
  }

  private async runHostStep(
    host: HostSpec,
    step: StepSpec,
    sw: SlotSwitch | undefined,
    seen: { attempts: number; open: boolean } | undefined,
  ): Promise<boolean> {
    const base = { phase: this.phase.id, step: step.id, host: host.name };
    let attempt = (seen?.attempts ?? 0) + 1;
    if (seen?.open && !step.idempotent) {
      // It may have had its effect on this host: running it twice could do harm.
      await this.ctx.append([
        {
          type: 'host.step.failed',
          payload: {
            ...base,
            attempt: seen.attempts,
            durationMs: 0,
            code: 'SLW_STEP_INTERRUPTED',
            error: `Slipway stopped while "${step.id}" was running on ${host.name}; it is not idempotent, so it is not run again`,
            willRetry: false,
          },
        },
      ]);
      return false;
    }
    for (; ; attempt++) {
      this.signal.throwIfAborted();
      await this.ctx.append([{ type: 'host.step.started', payload: { ...base, attempt } }]);
      const started = performance.now();
      try {
        const outcome = await this.attempt(step, this.hostRun(host, sw), sw, true);
        await this.ctx.append([
          {
            type: 'host.step.succeeded',
            payload: {
              ...base,
              attempt,
              durationMs: Math.round(performance.now() - started),
              summary: this.ctx.redact(outcome.summary),
              ...(outcome.facts ? { facts: outcome.facts } : {}),
            },
          },
        ]);
        return true;
      } catch (e) {
        if (this.signal.aborted) throw this.signal.reason;
        const willRetry = attempt <= step.retry.count;
        const retryInMs = retryDelayMs(step.retry, attempt);
        await this.ctx.append([
          {
            type: 'host.step.failed',
            payload: {
              ...base,
              attempt,
              durationMs: Math.round(performance.now() - started),
              code: e instanceof SlipwayError ? e.code : 'SLW_STEP_FAILED',
              error: this.ctx.redact(e instanceof Error ? e.message : String(e)),
              willRetry,
              ...(willRetry ? { retryInMs } : {}),
            },
          },
        ]);
        if (!willRetry) return false;
        await sleep(retryInMs, undefined, { signal: this.signal });
      }
    }
  }

  /**
   * One attempt of a host step, with its own timeout; a slot strategy's restart starts the idle slot instead.
   * `recorded`: the attempt is a host step whose end is recorded, so the commands it starts are recorded too (a
   * later runner stops those of a cut-short attempt; the end of the attempt forgets them).
   */
  private async attempt(
    step: StepSpec,
    h: HostRunSpec,
    sw: SlotSwitch | undefined,
    recorded = false,
  ): Promise<StepOutcome> {
    const timeout = AbortSignal.timeout(step.timeoutMs);
    const signal = AbortSignal.any([this.signal, timeout]);
    const base = hostRuntime(
      this.ctx,
      { phase: this.phase, step },
      h,
      signal,
      step.timeoutMs,
      hostOutput(h.host.name, this.output),
    );
    const fleetHost = { name: h.host.name, target: h.target };
    const rt: StepRuntime = recorded
      ? {
          ...base,
          onSpawn: (pid, onTarget) => recordSpawn(this.ctx, this.phase.id, step.id, pid, onTarget, fleetHost),
        }
      : base;
    try {
      if (step.kind === 'restart' && sw) {
        const outcome = await startOnSlot(rt, rt.releaseName);
        return {
          ...outcome,
          facts: { ...outcome.facts, [SLOT_FACT.slot]: sw.to, [SLOT_FACT.liveSlot]: sw.from ?? '' },
        };
      }
      return await executorFor(step).execute(step, rt);
    } catch (e) {
      if (timeout.aborted && !this.signal.aborted)
        throw new SlipwayError(
          'SLW_STEP_TIMEOUT',
          `"${step.id}" did not finish within its timeout of ${step.timeoutMs}ms on ${h.host.name}`,
        );
      throw e;
    }
  }

  /** A check with the step's retries, not recorded as a host step (canary checks between steps). */
  private async attempts(step: StepSpec, h: HostRunSpec, label: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.attempt(step, h, undefined);
        this.output(`[${h.host.name}] ${label}: ${step.id}: ${outcome.summary}\n`);
        return;
      } catch (e) {
        if (this.signal.aborted || attempt > step.retry.count) throw e;
        await sleep(retryDelayMs(step.retry, attempt), undefined, { signal: this.signal });
      }
    }
  }

  // ───────────── traffic ─────────────

  private async shift(weights: Record<string, number>, reason: string, percent?: number): Promise<void> {
    if (Object.keys(weights).length === 0) return;
    const done = await this.run.serially((sw) => sw.setWeights(weights, this.signal).then(() => true));
    if (!done) return;
    await this.ctx.append([
      {
        type: 'traffic.shifted',
        payload: { weights, reason, ...(percent === undefined ? {} : { percent }) },
      },
    ]);
  }

  /** Weight 0, then wait for the backends' requests to finish. */
  private async takeOut(ids: readonly string[], reason: string): Promise<void> {
    const weights = Object.fromEntries(ids.map((id) => [id, 0]));
    const done = await this.run.serially((sw) => sw.setWeights(weights, this.signal).then(() => true));
    if (!done) return;
    const drained: Record<string, number> = {};
    for (const id of ids) {
      const sw = await this.run.traffic();
      drained[id] = sw ? await sw.drain(id, this.spec.drainTimeoutMs, this.signal) : 0;
    }
    await this.ctx.append([{ type: 'traffic.shifted', payload: { weights, reason, drained } }]);
  }
}
