/** Compiles an environment's `hosts`, `ssh` defaults and `strategy` into a `FleetSpec`, defaults applied. */

import { resolve } from 'node:path';
import type {
  BatchSize,
  FleetSpec,
  HostSpec,
  SlotName,
  StrategySpec,
  TargetSpec,
  TrafficSpec,
} from '../core/process.js';
import { type HostInput, SSH_HOST_KEYS, type SshDefaultsInput, type StrategyInput } from './fleet-schema.js';
import { durationMs, type ProcessFile } from './schema.js';
import { buildSshTarget, type SshTargetInput } from './ssh-target-schema.js';
import type { TrafficInput } from './traffic-schema.js';

/** @default documented in the JSON Schema too (fleet-schema.ts). */
export const FLEET_DEFAULTS = {
  concurrency: 10,
  batch: { fraction: 0.25 } as BatchSize,
  maxFailed: 0,
  canarySteps: [10, 50, 100] as readonly number[],
  drainTimeoutMs: 30_000,
} as const;

export interface FleetInput {
  readonly hosts: readonly HostInput[];
  readonly ssh?: SshDefaultsInput | undefined;
  readonly strategy?: StrategyInput | undefined;
}

/** Builds the fleet; the fleet rules have already checked required keys and their combinations. */
export function buildFleet(
  input: FleetInput,
  baseDir: string,
  makeSshTarget: (host: HostInput, ssh: SshDefaultsInput) => TargetSpec,
  traffic: FleetSpec['traffic'],
): FleetSpec {
  const ssh = input.ssh ?? {};
  const hosts = input.hosts.map(
    (h): HostSpec => ({
      name: h.name,
      address: h.address ?? '127.0.0.1',
      groups: h.groups ?? [],
      target:
        (h.type ?? 'ssh') === 'local'
          ? { type: 'local', root: resolve(baseDir, h.root) }
          : makeSshTarget(h, ssh),
      ...(h.servicePort === undefined ? {} : { servicePort: h.servicePort }),
      ...(h.slots === undefined ? {} : { slots: { blue: h.slots.blue, green: h.slots.green } }),
    }),
  );
  const s = input.strategy;
  return {
    hosts,
    strategy: strategy(s),
    concurrency: ssh.concurrency ?? FLEET_DEFAULTS.concurrency,
    ...(traffic ? { traffic } : {}),
    drainTimeoutMs:
      s?.drainTimeout === undefined ? FLEET_DEFAULTS.drainTimeoutMs : durationMs(s.drainTimeout),
  };
}

function strategy(s: StrategyInput | undefined): StrategySpec {
  const slots = (): Readonly<Record<SlotName, number>> =>
    // A strategy without slots relies on every host's own (the fleet rules checked that): 0 is never used.
    s?.slots ? { blue: s.slots.blue, green: s.slots.green } : { blue: 0, green: 0 };
  const ms = (v: string | number | undefined) => (v === undefined ? 0 : durationMs(v));
  switch (s?.type ?? 'all-at-once') {
    case 'rolling':
      return {
        type: 'rolling',
        batch: batchSize(s?.batch),
        maxFailed: s?.maxFailed ?? FLEET_DEFAULTS.maxFailed,
      };
    case 'blue-green':
      return { type: 'blue-green', slots: slots(), scaleDownDelayMs: ms(s?.scaleDownDelay) };
    case 'canary':
      return {
        type: 'canary',
        slots: slots(),
        steps: s?.steps ?? FLEET_DEFAULTS.canarySteps,
        pauseMs: ms(s?.pause),
        scaleDownDelayMs: ms(s?.scaleDownDelay),
      };
    default:
      return { type: 'all-at-once' };
  }
}

function batchSize(batch: string | number | undefined): BatchSize {
  if (batch === undefined) return FLEET_DEFAULTS.batch;
  return typeof batch === 'number' ? { count: batch } : { fraction: Number.parseFloat(batch) / 100 };
}

type EnvironmentInput = ProcessFile['environments'][string];

/**
 * An environment's `target`, and its `fleet` when it lists hosts. Single-target code paths (plan, `current`
 * lookups) see the first host's target.
 */
export function environmentTargets(
  env: EnvironmentInput,
  baseDir: string,
): { target: TargetSpec; fleet?: FleetSpec } {
  if (env.hosts === undefined) {
    // The fleet rules require `target` when there are no hosts.
    const t = env.target as NonNullable<EnvironmentInput['target']>;
    if (t.type === 'ssh') return { target: buildSshTarget(t, baseDir) };
    return { target: { type: 'local', root: resolve(baseDir, t.root) } };
  }
  const fleet = buildFleet(
    { ...env, hosts: env.hosts },
    baseDir,
    (h, d) => sshTarget(h, d, baseDir),
    traffic(env.traffic, baseDir),
  );
  return { target: (fleet.hosts[0] as HostSpec).target, fleet };
}

/** An ssh host: its own connection keys, else the environment's `ssh` defaults, else the SSH target's. */
function sshTarget(h: HostInput, d: SshDefaultsInput, baseDir: string): TargetSpec {
  const input: Record<string, unknown> = { type: 'ssh', address: h.address, root: h.root };
  for (const k of SSH_HOST_KEYS) {
    const v = h[k] ?? d[k];
    if (v !== undefined) input[k] = v;
  }
  // The fleet rules made sure an ssh host has an address and an absolute root.
  return buildSshTarget(input as SshTargetInput, baseDir);
}

/** Paths in a traffic spec are relative to the process file's folder. */
function traffic(t: TrafficInput | undefined, baseDir: string): TrafficSpec | undefined {
  if (!t) return undefined;
  switch (t.type) {
    case 'nginx':
      return {
        type: 'nginx',
        upstreamFile: resolve(baseDir, t.upstreamFile),
        upstream: t.upstream,
        ...(t.config ? { config: resolve(baseDir, t.config) } : {}),
        ...(t.pidFile ? { pidFile: resolve(baseDir, t.pidFile) } : {}),
        ...(t.testCommand ? { testCommand: t.testCommand } : {}),
        ...(t.reloadCommand ? { reloadCommand: t.reloadCommand } : {}),
      };
    case 'haproxy':
      return { type: 'haproxy', socket: resolve(baseDir, t.socket), backend: t.backend };
    case 'embedded':
      return {
        type: 'embedded',
        listen: t.listen,
        ...(t.stateFile ? { stateFile: resolve(baseDir, t.stateFile) } : {}),
      };
  }
}
