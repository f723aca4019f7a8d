/** Fleet rollback and clean-up: return the hosts a deployment changed (and only those), or switch traffic back. */

import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../core/errors.js';
import { type HostView, RESTORE_STEP } from '../core/fleet-view.js';
import { type HostSpec, type PhaseSpec, phasesFor, type SlotName, type StepSpec } from '../core/process.js';
import {
  backendId,
  idleSlot,
  isHostStep,
  revertWeights,
  type SlotSwitch,
  slotPorts,
  usesSlots,
} from '../core/rollout-plan.js';
import { recordSpawn } from '../engine/leftover-processes.js';
import { OutputRecorder } from '../engine/output-recorder.js';
import { undoSteps, withRetries } from '../engine/rollback.js';
import type { RunContext } from '../engine/run-context.js';
import { runServiceCommand, switchTo } from '../steps/service-control.js';
import { FACT, type StepRuntime } from '../steps/step-executor.js';
import { type FleetOptions, type FleetRun, fleetRun } from './fleet-run.js';
import { hostOutput, hostRuntime } from './host-runtime.js';
import { liveSlots } from './live-slots.js';
import { mapLimit } from './map-limit.js';
import { SLOT_FACT, stopSlot } from './slot-control.js';

const ACTION_TIMEOUT_MS = 120_000;

/** The phase that ships the release (its host steps are what a rollback undoes and re-checks). */
function shippingPhase(ctx: RunContext): PhaseSpec | undefined {
  const phases = phasesFor(ctx.process, ctx.environment.name);
  const name = ctx.view.fleet?.phase;
  return phases.find((p) => p.id === name) ?? phases.find((p) => p.steps.some((s) => s.kind === 'release'));
}

/** Hosts whose running release this deployment may have changed: a restart (or switching release) began there. */
function touchedHosts(ctx: RunContext): HostView[] {
  // Steps that may move `current` or the running service: a restart, or a release with no restart after it.
  const switching = new Set<string>();
  for (const p of phasesFor(ctx.process, ctx.environment.name))
    p.steps.forEach((s, i) => {
      const restartFollows = p.steps.slice(i + 1).some((x) => x.kind === 'restart');
      if (s.kind === 'restart' || (s.kind === 'release' && !restartFollows)) switching.add(`${p.id}.${s.id}`);
    });
  return (ctx.view.fleet?.hosts ?? []).filter(
    (h) => h.facts[FACT.switchedTo] !== undefined || Object.keys(h.steps).some((k) => switching.has(k)),
  );
}

/** Whether this deployment may have changed what `host` runs (see `touchedHosts`). */
export function hostTouched(ctx: RunContext, host: string): boolean {
  return touchedHosts(ctx).some((h) => h.name === host);
}

/**
 * Hosts this deployment took out of the balancer (weight 0) but never changed go back in: it stopped (failed
 * elsewhere, was cancelled, its runner died) before their update began, so they still serve what they had.
 */
export async function returnUntouchedHosts(ctx: RunContext, signal: AbortSignal): Promise<void> {
  const spec = ctx.environment.fleet;
  if (!spec?.traffic || usesSlots(spec.strategy)) return;
  const weights = ctx.view.fleet?.weights ?? {};
  const back = spec.hosts
    .filter((h) => h.servicePort !== undefined && weights[backendId(h.name)] === 0)
    .filter((h) => !hostTouched(ctx, h.name))
    .map((h) => backendId(h.name));
  if (back.length === 0) return;
  const w = Object.fromEntries(back.map((id) => [id, 100]));
  await fleetRun(ctx).serially((sw) => sw.setWeights(w, signal));
  await ctx.append([
    {
      type: 'traffic.shifted',
      payload: { weights: w, reason: 'back in: the deployment stopped before it changed them' },
    },
  ]);
}

/** Whether a failure of this fleet deployment needs a rollback. */
export function fleetTouched(ctx: RunContext): boolean {
  return touchedHosts(ctx).length > 0;
}

/** `releases/<name>` → the release id it holds (`v1.2-d7` → `v1.2`). */
function releaseOf(dir: string): string {
  return dir.replace(/-d\d+$/, '');
}

/** Carries out a `rollback.started` of a fleet environment; records each host restored, then the verdict. */
export async function rollBackFleet(
  ctx: RunContext,
  signal: AbortSignal,
  options: FleetOptions = {},
): Promise<void> {
  const rb = ctx.view.rollback;
  if (!rb) throw new Error('rollBackFleet called without rollback.started');
  const started = Date.now();
  const run = fleetRun(ctx, options);
  const phase = shippingPhase(ctx);
  const touched = touchedHosts(ctx)
    .filter((h) => h.state !== 'restored')
    .map((h) => h.name);
  // A failure that is not one host's (an undo, the load balancer): hosts it kept from being restored are not.
  let problem: string | undefined;
  let undone = false;
  try {
    // What other steps left (applied migrations) is undone first, as on a single target; each undo is recorded.
    await undoSteps(ctx, signal).catch((e: unknown) => {
      if (signal.aborted) throw e;
      const undo = ctx.view.rollback?.actions.at(-1)?.action ?? 'undo';
      throw new Error(`${undo} failed: ${e instanceof Error ? e.message : String(e)}`);
    });
    undone = true;
    if (usesSlots(run.spec.strategy))
      await slotRollback(
        ctx,
        run,
        (ctx.view.fleet?.hosts ?? []).filter((h) => touched.includes(h.name)),
        signal,
      );
    else
      await mapLimit(touched, run.spec.concurrency, (name) =>
        restoreHost(ctx, run, phase, hostSpec(run, name), signal),
      );
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    problem = e instanceof Error ? e.message : String(e);
  }
  if (undone && problem === undefined)
    await returnUntouchedHosts(ctx, signal).catch((e: unknown) => {
      if (signal.aborted) throw signal.reason;
      problem = `could not put the untouched hosts back in: ${e instanceof Error ? e.message : String(e)}`;
    });
  // Only what the recorded `host.restored` events say: never a host whose restore did not finish.
  const isRestored = (name: string) =>
    ctx.view.fleet?.hosts.find((h) => h.name === name)?.state === 'restored';
  const restored = touched.filter(isRestored);
  const failures = touched.filter((n) => !isRestored(n));
  const untouched = run.spec.hosts.map((h) => h.name).filter((n) => !touched.includes(n));
  const failed = undone
    ? `${failures.length ? `; FAILED ${failures.join(', ')}` : ''}${problem ? `: ${problem}` : ''}`
    : `; not tried ${failures.join(', ') || 'any host'}: ${problem}`;
  await ctx.append([
    {
      type: 'rollback.step',
      payload: {
        action: 'hosts',
        ok: failures.length === 0 && problem === undefined,
        detail: ctx.redact(
          `restored ${restored.length ? restored.join(', ') : 'none'}${untouched.length ? `; untouched ${untouched.join(', ')}` : ''}${failed}`,
        ),
      },
    },
  ]);
  if (failures.length > 0 || problem !== undefined) {
    const message = ctx.redact(
      `could not restore ${failures.join(', ') || 'the fleet'}${problem ? `: ${problem}` : ''}`,
    );
    await ctx.append([
      { type: 'rollback.failed', payload: { error: message } },
      {
        type: 'deployment.failed',
        payload: {
          reason: `${rb.reason}; rollback to ${rb.toRelease ?? '(none)'} failed: ${message} — the environment needs a person`,
          code: 'SLW_ROLLBACK_FAILED',
        },
      },
    ]);
    return;
  }
  await ctx.append([
    { type: 'rollback.succeeded', payload: { release: rb.toRelease, durationMs: Date.now() - started } },
    { type: 'deployment.rolled-back', payload: { reason: rb.reason, release: rb.toRelease } },
  ]);
}

function hostSpec(run: FleetRun, name: string): HostSpec {
  const h = run.spec.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`host ${name} is not in the recorded process`);
  return h;
}

/**
 * Returns one host to the release it ran before (rolling, all-at-once): out of the balancer, stop, switch
 * `current` back, start, verify with the phase's checks, back in. Records `host.restored`; true when it worked.
 */
export async function restoreHost(
  ctx: RunContext,
  run: FleetRun,
  phase: PhaseSpec | undefined,
  host: HostSpec,
  signal: AbortSignal,
): Promise<boolean> {
  const facts = ctx.view.fleet?.hosts.find((h) => h.name === host.name)?.facts ?? {};
  const to = facts[FACT.previousRelease] ?? ctx.view.rollback?.toReleaseDir ?? ctx.previousGood;
  if (!to) {
    await ctx.append([
      {
        type: 'host.restored',
        payload: {
          host: host.name,
          ok: false,
          release: null,
          detail: 'no earlier release on this host to return to',
        },
      },
    ]);
    return false;
  }
  const release = releaseOf(to);
  const recorder = new OutputRecorder(ctx, 'rollback', `restore-${host.name}`);
  const output = hostOutput(host.name, recorder.write);
  const backend = run.spec.traffic && host.servicePort !== undefined ? backendId(host.name) : undefined;
  const fleetHost = { name: host.name, target: run.target(host) };
  const rt = (limit: number, step?: StepSpec): StepRuntime => ({
    ...hostRuntime(
      ctx,
      { ...(phase ? { phase } : {}), ...(step ? { step } : {}) },
      { host, target: fleetHost.target, facts: { [FACT.releaseDir]: to }, release, releaseName: to },
      AbortSignal.any([signal, AbortSignal.timeout(limit)]),
      limit,
      output,
    ),
    // A runner killed mid-restore leaves its command running: the next one stops it before restoring again.
    // The `host.restored` that ends this restore forgets them (a service it started keeps running).
    onSpawn: (pid, onTarget) => recordSpawn(ctx, 'rollback', RESTORE_STEP, pid, onTarget, fleetHost),
  });
  const done: string[] = [];
  try {
    if (backend) {
      await run.serially((sw) => sw.setWeights({ [backend]: 0 }, signal));
      const sw = await run.traffic();
      await sw?.drain(backend, run.spec.drainTimeoutMs, signal);
      done.push('out of the balancer');
    }
    const restart = phase?.steps.find((s) => s.kind === 'restart');
    const limit = restart?.timeoutMs ?? ACTION_TIMEOUT_MS;
    if (ctx.environment.service.start) {
      // A broken release often cannot be stopped cleanly (it crashed already): go on to the good one.
      await runServiceCommand(rt(limit), 'stop').then(
        () => done.push('stopped'),
        (e: unknown) => {
          if (signal.aborted) throw e;
          output(`stop failed (going on): ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
        },
      );
    }
    await switchTo(rt(ACTION_TIMEOUT_MS), to);
    done.push(`current → ${to}`);
    if (ctx.environment.service.start) {
      await runServiceCommand(rt(limit), 'start');
      done.push('started');
    }
    for (const check of verifySteps(phase)) {
      await withRetries(check, (l) => rt(l, check), signal);
      done.push(`${check.id} ok`);
    }
    if (backend) {
      await run.serially((sw) => sw.setWeights({ [backend]: 100 }, signal));
      done.push('back in');
    }
  } catch (e) {
    await recorder.close();
    if (signal.aborted) throw signal.reason;
    const message = ctx.redact(e instanceof Error ? e.message : String(e));
    await ctx.append([
      {
        type: 'host.restored',
        payload: {
          host: host.name,
          ok: false,
          release,
          detail: `${done.join(', ')}${done.length ? '; then ' : ''}${message}`,
        },
      },
    ]);
    return false;
  }
  await recorder.close();
  await ctx.append([
    { type: 'host.restored', payload: { host: host.name, ok: true, release, detail: done.join(', ') } },
  ]);
  if (backend)
    await ctx.append([
      { type: 'traffic.shifted', payload: { weights: { [backend]: 100 }, reason: `${host.name} restored` } },
    ]);
  return true;
}

/** The checks that prove a host works: the phase's smoke steps and per-host http checks. */
function verifySteps(phase: PhaseSpec | undefined): StepSpec[] {
  return (phase?.steps ?? []).filter((s) => isHostStep(s) && (s.kind === 'smoke' || s.kind === 'http'));
}

/**
 * Blue-green / canary rollback: the old slots never stopped (unless scaled down already, then they start again
 * first), so traffic simply goes back to them; the new slots are drained and stopped. Returns the hosts that failed.
 */
async function slotRollback(
  ctx: RunContext,
  run: FleetRun,
  touched: readonly HostView[],
  signal: AbortSignal,
): Promise<string[]> {
  const phase = shippingPhase(ctx);
  const live = await liveSlots(ctx);
  const switches: SlotSwitch[] = touched.map((h) => {
    const recorded = h.facts[SLOT_FACT.liveSlot];
    const from =
      recorded !== undefined ? ((recorded || null) as SlotName | null) : (live.get(h.name) ?? null);
    return { host: h.name, from, to: (h.facts[SLOT_FACT.slot] as SlotName | undefined) ?? idleSlot(from) };
  });
  const failures: string[] = [];
  const runtime = (h: HostView, slot: SlotName, dir: string, limit: number, step?: StepSpec) => {
    const host = hostSpec(run, h.name);
    const ports = slotPorts(host, run.spec.strategy);
    return hostRuntime(
      ctx,
      { ...(phase ? { phase } : {}), ...(step ? { step } : {}) },
      {
        host,
        target: run.target(host),
        facts: { [FACT.releaseDir]: dir },
        release: releaseOf(dir),
        releaseName: dir,
        ...(ports ? { slot: { name: slot, port: ports[slot] } } : {}),
      },
      AbortSignal.any([signal, AbortSignal.timeout(limit)]),
      limit,
      hostOutput(h.name, (chunk) => ctx.hooks.onOutput?.(ctx.view.id, 'rollback', h.name, ctx.redact(chunk))),
    );
  };
  // Old slots already stopped (a rollback after the deployment finished) start again before traffic returns.
  const restarted = new Set<string>();
  await mapLimit(switches, run.spec.concurrency, async (s) => {
    const h = touched.find((x) => x.name === s.host) as HostView;
    const dir = h.facts[FACT.previousRelease] ?? ctx.view.rollback?.toReleaseDir ?? null;
    if (s.from === null || h.facts[SLOT_FACT.scaledDown] === undefined || !dir) return;
    try {
      const rt = runtime(h, s.from, dir, ACTION_TIMEOUT_MS);
      // The service starts whatever `current` points at: the release that slot served.
      await switchTo(rt, dir);
      await runServiceCommand(rt, 'start');
      for (const check of verifySteps(phase))
        await withRetries(check, (l) => runtime(h, s.from as SlotName, dir, l, check), signal);
      restarted.add(s.host);
    } catch (e) {
      if (signal.aborted) throw e;
      failures.push(s.host);
    }
  });
  const back = switches.filter((s) => !failures.includes(s.host));
  const weights = revertWeights(back);
  if (Object.keys(weights).length > 0) {
    await run.serially((sw) => sw.setWeights(weights, signal));
    await ctx.append([
      {
        type: 'traffic.shifted',
        payload: { weights, reason: 'rollback: traffic back to the old slots', percent: 0 },
      },
    ]);
  }
  const sw = await run.traffic();
  await mapLimit(back, run.spec.concurrency, async (s) => {
    const h = touched.find((x) => x.name === s.host) as HostView;
    const dir = h.facts[FACT.previousRelease] ?? ctx.view.rollback?.toReleaseDir ?? null;
    const done: string[] = [
      s.from
        ? `traffic back on ${s.from}${restarted.has(s.host) ? ' (started again)' : ' (never stopped)'}`
        : 'no old slot',
    ];
    try {
      await sw?.drain(backendId(s.host, s.to), run.spec.drainTimeoutMs, signal);
      done.push(
        await stopSlot(runtime(h, s.to, dir ?? ctx.view.release, ACTION_TIMEOUT_MS)).then(
          (t) => `${s.to}: ${t}`,
        ),
      );
      if (dir) {
        await switchTo(runtime(h, s.to, dir, ACTION_TIMEOUT_MS), dir);
        done.push(`current → ${dir}`);
      }
      await ctx.append([
        {
          type: 'host.restored',
          payload: { host: s.host, ok: true, release: dir ? releaseOf(dir) : null, detail: done.join(', ') },
        },
      ]);
    } catch (e) {
      if (signal.aborted) throw e;
      failures.push(s.host);
      await ctx.append([
        {
          type: 'host.restored',
          payload: {
            host: s.host,
            ok: false,
            release: dir ? releaseOf(dir) : null,
            detail: ctx.redact(`${done.join(', ')}; then ${e instanceof Error ? e.message : String(e)}`),
          },
        },
      ]);
    }
  });
  return failures;
}

/**
 * Before a slot-strategy deployment is declared succeeded: after `scaleDownDelay`, the old slots stop (recorded
 * per host as a `scale-down` step). Idempotent: hosts already scaled down are skipped.
 */
export async function finishFleet(
  ctx: RunContext,
  signal: AbortSignal,
  options: FleetOptions = {},
): Promise<void> {
  const spec = ctx.environment.fleet;
  const fleet = ctx.view.fleet;
  if (!spec || !fleet || (spec.strategy.type !== 'blue-green' && spec.strategy.type !== 'canary')) return;
  const strategy = spec.strategy;
  const todo = fleet.hosts.filter((h) => {
    const from = h.facts[SLOT_FACT.liveSlot];
    return (
      from &&
      from !== h.facts[SLOT_FACT.slot] &&
      h.facts[SLOT_FACT.scaledDown] === undefined &&
      h.state !== 'restored'
    );
  });
  if (todo.length === 0) return;
  const run = fleetRun(ctx, options);
  if (strategy.scaleDownDelayMs > 0) await sleep(strategy.scaleDownDelayMs, undefined, { signal });
  const phase = fleet.phase;
  await mapLimit(todo, spec.concurrency, async (h) => {
    const host = hostSpec(run, h.name);
    const from = h.facts[SLOT_FACT.liveSlot] as SlotName;
    const ports = slotPorts(host, strategy);
    const base = { phase, step: 'scale-down', host: h.name };
    const attempt = (h.steps[`${phase}.scale-down`]?.attempts ?? 0) + 1;
    await ctx.append([{ type: 'host.step.started', payload: { ...base, attempt } }]);
    const started = performance.now();
    const dir = h.facts[FACT.previousRelease] ?? h.facts[FACT.switchedTo] ?? '';
    try {
      const rt = hostRuntime(
        ctx,
        {},
        {
          host,
          target: run.target(host),
          facts: { [FACT.releaseDir]: dir },
          release: releaseOf(dir),
          releaseName: dir,
          ...(ports ? { slot: { name: from, port: ports[from] } } : {}),
        },
        AbortSignal.any([signal, AbortSignal.timeout(ACTION_TIMEOUT_MS)]),
        ACTION_TIMEOUT_MS,
        () => undefined,
      );
      const summary = await stopSlot(rt);
      await ctx.append([
        {
          type: 'host.step.succeeded',
          payload: {
            ...base,
            attempt,
            durationMs: Math.round(performance.now() - started),
            summary: `old ${summary}`,
            facts: { [SLOT_FACT.scaledDown]: from },
          },
        },
      ]);
    } catch (e) {
      if (signal.aborted) throw e;
      // The new release serves either way: a leftover old slot is reported, not a failed deployment.
      await ctx.append([
        {
          type: 'host.step.failed',
          payload: {
            ...base,
            attempt,
            durationMs: Math.round(performance.now() - started),
            code: e instanceof SlipwayError ? e.code : 'SLW_STEP_FAILED',
            error: ctx.redact(e instanceof Error ? e.message : String(e)),
            willRetry: false,
          },
        },
      ]);
    }
  });
}
