/** Rollout planning: hosts + strategy → batches, traffic weight steps and slot choices. Pure: no I/O. */

import type { BatchSize, HostSpec, PhaseSpec, SlotName, StepSpec, StrategySpec } from './process.js';
import { templateRefs } from './template.js';

export interface RolloutPlan {
  readonly strategy: StrategySpec['type'];
  /** Host names per batch, in order; the hosts of one batch are worked on together. */
  readonly batches: readonly (readonly string[])[];
  /** Percent of traffic on the new slots after each step (blue-green: [100]; rolling and all-at-once: none). */
  readonly weightSteps: readonly number[];
  /** Hosts that may fail before the rollout stops and rolls back. */
  readonly maxFailed: number;
}

/** How many hosts a batch holds for a fleet of `total`: a fraction is rounded up, never below 1 nor above the fleet. */
export function batchCount(total: number, batch: BatchSize): number {
  if (total <= 0) return 0;
  const n = 'count' in batch ? batch.count : Math.ceil(total * batch.fraction - 1e-9);
  return Math.min(total, Math.max(1, n));
}

export function planRollout(hosts: readonly string[], strategy: StrategySpec): RolloutPlan {
  switch (strategy.type) {
    case 'rolling': {
      const size = batchCount(hosts.length, strategy.batch);
      const batches: string[][] = [];
      for (let i = 0; i < hosts.length; i += size) batches.push(hosts.slice(i, i + size));
      return { strategy: 'rolling', batches, weightSteps: [], maxFailed: strategy.maxFailed };
    }
    case 'blue-green':
      return { strategy: 'blue-green', batches: one(hosts), weightSteps: [100], maxFailed: 0 };
    case 'canary':
      return { strategy: 'canary', batches: one(hosts), weightSteps: strategy.steps, maxFailed: 0 };
    case 'all-at-once':
      return { strategy: 'all-at-once', batches: one(hosts), weightSteps: [], maxFailed: 0 };
  }
}

function one(hosts: readonly string[]): (readonly string[])[] {
  return hosts.length === 0 ? [] : [hosts];
}

/** The batches still to do after a crash: hosts already finished are left out, empty batches dropped. */
export function remainingBatches(
  plan: RolloutPlan,
  finished: ReadonlySet<string>,
): readonly (readonly string[])[] {
  return plan.batches.map((b) => b.filter((h) => !finished.has(h))).filter((b) => b.length > 0);
}

/** Whether the failures so far stop the rollout. */
export function overFailureBudget(plan: RolloutPlan, failed: number): boolean {
  return failed > plan.maxFailed;
}

/** Whether the strategy runs the new release beside the old one on a second slot. */
export function usesSlots(strategy: StrategySpec): strategy is Extract<StrategySpec, { slots: unknown }> {
  return strategy.type === 'blue-green' || strategy.type === 'canary';
}

/** The slot the new release goes to: the one not serving now (blue when nothing runs yet). */
export function idleSlot(live: SlotName | null): SlotName {
  return live === 'blue' ? 'green' : 'blue';
}

/** A host's slot ports: its own, else the strategy's. */
export function slotPorts(
  host: HostSpec,
  strategy: StrategySpec,
): Readonly<Record<SlotName, number>> | undefined {
  if (host.slots) return host.slots;
  return usesSlots(strategy) ? strategy.slots : undefined;
}

/** The load balancer's name for a host (rolling) or one of its slots (blue-green, canary). */
export function backendId(host: string, slot?: SlotName): string {
  return slot === undefined ? host : `${host}-${slot}`;
}

export interface SlotSwitch {
  readonly host: string;
  /** The slot serving before the deployment, or null on a host's first deployment. */
  readonly from: SlotName | null;
  readonly to: SlotName;
}

/**
 * The weights of one traffic step: `percent` of each host's share to its new slot, the rest to the old one.
 * A host with nothing running yet has no old slot to share with: its new slot gets everything at once.
 */
export function slotWeights(switches: readonly SlotSwitch[], percent: number): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const s of switches) {
    if (s.from === null || s.from === s.to) {
      weights[backendId(s.host, s.to)] = 100;
      continue;
    }
    weights[backendId(s.host, s.to)] = percent;
    weights[backendId(s.host, s.from)] = 100 - percent;
  }
  return weights;
}

/** The weights that undo a switch: all traffic back on the old slots, none on the new. */
export function revertWeights(switches: readonly SlotSwitch[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const s of switches) {
    weights[backendId(s.host, s.to)] = 0;
    if (s.from !== null && s.from !== s.to) weights[backendId(s.host, s.from)] = 100;
  }
  return weights;
}

/**
 * Whether a step runs once per host in a fleet: what ships and checks a release on a machine (release, config,
 * restart, smoke, `run` on the target, and an `http` check whose URL names the host or slot). Anything else
 * (gates, controller commands, checks of a shared URL) runs once.
 */
export function isHostStep(step: StepSpec): boolean {
  switch (step.kind) {
    case 'release':
    case 'config':
    case 'restart':
    case 'smoke':
      return true;
    case 'run':
      return step.on === 'target';
    case 'http':
      return templateRefs(step.http.url).some((r) => r.startsWith('host.') || r.startsWith('slot.'));
    default:
      return false;
  }
}

/** The steps of a phase every host runs, in order: the phase's rollout. */
export function rolloutSteps(phase: PhaseSpec): readonly StepSpec[] {
  return phase.steps.filter(isHostStep);
}

/**
 * Steps of a phase that run once, after the rollout started (a shared URL's checks): canary runs them after
 * each traffic step too.
 */
export function checksAfterRollout(phase: PhaseSpec): readonly StepSpec[] {
  const first = phase.steps.findIndex(isHostStep);
  if (first === -1) return [];
  return phase.steps.slice(first + 1).filter((s) => !isHostStep(s) && s.kind === 'http');
}
