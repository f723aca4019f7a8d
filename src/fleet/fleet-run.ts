/** What one runner keeps for a fleet while it drives a deployment: one target per host, one traffic switch. */

import path from 'node:path';
import type { Backend, Target, TrafficSwitch } from '../core/ports.js';
import type { FleetSpec, HostSpec, TrafficSpec } from '../core/process.js';
import { backendId, slotPorts, usesSlots } from '../core/rollout-plan.js';
import type { RunContext } from '../engine/run-context.js';
import { createTarget } from '../targets/create-target.js';
import { createTrafficSwitch } from '../traffic/create-traffic-switch.js';

export interface FleetOptions {
  /** Makes a host's target. @default createTarget(host.target) */
  readonly makeHostTarget?: (host: HostSpec) => Target;
  /**
   * Makes the environment's traffic switch for these backends. @default the switch of `src/traffic` for the spec
   */
  readonly makeTrafficSwitch?: (
    spec: TrafficSpec,
    backends: readonly Backend[],
  ) => TrafficSwitch | Promise<TrafficSwitch>;
}

/** The fleet side of a run: created once per runner, closed with it. */
export interface FleetRun {
  readonly spec: FleetSpec;
  /** The host's target: one per host for the whole run (an SSH target keeps its one connection). */
  target(host: HostSpec): Target;
  /** Every host's target (made on first use; an SSH target connects only when used). */
  targets(): Target[];
  /** The traffic switch, or undefined when the environment has no `traffic`. */
  traffic(): Promise<TrafficSwitch | undefined>;
  /** Runs load-balancer changes one at a time: parallel hosts must not interleave rewrites of one config. */
  serially<T>(fn: (sw: TrafficSwitch) => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}

const RUNS = new WeakMap<RunContext, FleetRun>();

export function fleetRun(ctx: RunContext, options: FleetOptions = {}): FleetRun {
  const existing = RUNS.get(ctx);
  if (existing) return existing;
  const spec = ctx.environment.fleet;
  if (!spec) throw new Error(`environment ${ctx.environment.name} has no hosts`);
  const targets = new Map<string, Target>();
  let sw: Promise<TrafficSwitch | undefined> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const run: FleetRun = {
    spec,
    target(host) {
      let t = targets.get(host.name);
      if (!t) {
        t = options.makeHostTarget?.(host) ?? createTarget(host.target);
        targets.set(host.name, t);
      }
      return t;
    },
    targets() {
      return spec.hosts.map((h) => run.target(h));
    },
    traffic() {
      const traffic = spec.traffic;
      if (!traffic) return Promise.resolve(undefined);
      sw ??= Promise.resolve(
        options.makeTrafficSwitch
          ? options.makeTrafficSwitch(traffic, fleetBackends(spec))
          : defaultSwitch(ctx, traffic, fleetBackends(spec)),
      );
      return sw;
    },
    async serially(fn) {
      const s = await run.traffic();
      if (!s) return undefined;
      const next = queue.then(() => fn(s));
      queue = next.catch(() => undefined);
      return next;
    },
    async close() {
      RUNS.delete(ctx);
      const closing = [...targets.values()].map((t) => t.close().catch(() => undefined));
      if (sw) closing.push(sw.then((s) => s?.close()).catch(() => undefined));
      await Promise.all(closing);
    },
  };
  RUNS.set(ctx, run);
  return run;
}

/** Closes the fleet side of a run, if one was opened. */
export async function closeFleetRun(ctx: RunContext): Promise<void> {
  await RUNS.get(ctx)?.close();
}

/** Every backend the load balancer knows for this fleet: a host (rolling) or each of its two slots. */
export function fleetBackends(spec: FleetSpec): Backend[] {
  const out: Backend[] = [];
  for (const h of spec.hosts) {
    if (usesSlots(spec.strategy)) {
      const ports = slotPorts(h, spec.strategy);
      if (!ports) continue;
      out.push({ id: backendId(h.name, 'blue'), address: h.address, port: ports.blue });
      out.push({ id: backendId(h.name, 'green'), address: h.address, port: ports.green });
    } else if (h.servicePort !== undefined) {
      out.push({ id: backendId(h.name), address: h.address, port: h.servicePort });
    }
  }
  return out;
}

function defaultSwitch(ctx: RunContext, spec: TrafficSpec, backends: readonly Backend[]): TrafficSwitch {
  // An embedded proxy's state file lives beside the store's default folder, next to the process file.
  return createTrafficSwitch(spec, {
    backends,
    redact: ctx.redact,
    stateDir: path.join(ctx.process.baseDir, '.slipway'),
  });
}
