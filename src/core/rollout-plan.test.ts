import { describe, expect, it } from 'vitest';
import type { HostSpec } from './process.js';
import {
  backendId,
  batchCount,
  idleSlot,
  overFailureBudget,
  planRollout,
  remainingBatches,
  revertWeights,
  slotPorts,
  slotWeights,
} from './rollout-plan.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `web${i + 1}`);

describe('batchCount', () => {
  it('rounds a percentage up and never below one host', () => {
    expect(batchCount(10, { fraction: 0.25 })).toBe(3);
    expect(batchCount(4, { fraction: 0.25 })).toBe(1);
    expect(batchCount(3, { fraction: 0.01 })).toBe(1);
    expect(batchCount(8, { fraction: 0.5 })).toBe(4);
    expect(batchCount(3, { fraction: 1 })).toBe(3);
  });
  it('caps a count at the fleet size', () => {
    expect(batchCount(3, { count: 5 })).toBe(3);
    expect(batchCount(7, { count: 2 })).toBe(2);
  });
  it('is 0 for an empty fleet', () => {
    expect(batchCount(0, { count: 2 })).toBe(0);
  });
});

describe('planRollout', () => {
  it('rolling: batches in host order, the last one smaller', () => {
    const plan = planRollout(hosts(5), { type: 'rolling', batch: { count: 2 }, maxFailed: 1 });
    expect(plan.batches).toEqual([['web1', 'web2'], ['web3', 'web4'], ['web5']]);
    expect(plan.maxFailed).toBe(1);
    expect(plan.weightSteps).toEqual([]);
  });
  it('rolling by percentage: 25% of 10 hosts is batches of 3', () => {
    const plan = planRollout(hosts(10), { type: 'rolling', batch: { fraction: 0.25 }, maxFailed: 0 });
    expect(plan.batches.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(plan.batches.flat()).toEqual(hosts(10));
  });
  it('all-at-once, blue-green and canary: one batch; weight steps from the strategy', () => {
    expect(planRollout(hosts(3), { type: 'all-at-once' }).batches).toEqual([hosts(3)]);
    const slots = { blue: 1, green: 2 };
    const bg = planRollout(hosts(3), { type: 'blue-green', slots, scaleDownDelayMs: 0 });
    expect(bg.batches).toEqual([hosts(3)]);
    expect(bg.weightSteps).toEqual([100]);
    const canary = planRollout(hosts(2), {
      type: 'canary',
      slots,
      steps: [10, 50, 100],
      pauseMs: 0,
      scaleDownDelayMs: 0,
    });
    expect(canary.weightSteps).toEqual([10, 50, 100]);
    expect(canary.maxFailed).toBe(0);
  });
  it('an empty fleet has no batches', () => {
    expect(planRollout([], { type: 'all-at-once' }).batches).toEqual([]);
  });
});

describe('resume and failure budget', () => {
  const plan = planRollout(hosts(5), { type: 'rolling', batch: { count: 2 }, maxFailed: 1 });
  it('leaves finished hosts out and drops batches that are done', () => {
    expect(remainingBatches(plan, new Set(['web1', 'web2', 'web3']))).toEqual([['web4'], ['web5']]);
    expect(remainingBatches(plan, new Set(hosts(5)))).toEqual([]);
  });
  it('stops only beyond maxFailed', () => {
    expect(overFailureBudget(plan, 1)).toBe(false);
    expect(overFailureBudget(plan, 2)).toBe(true);
    expect(overFailureBudget(planRollout(hosts(2), { type: 'all-at-once' }), 1)).toBe(true);
  });
});

describe('slots and weights', () => {
  const host: HostSpec = {
    name: 'web1',
    address: '127.0.0.1',
    groups: [],
    target: { type: 'local', root: '/x' },
  };
  const bg = { type: 'blue-green' as const, slots: { blue: 4312, green: 4313 }, scaleDownDelayMs: 0 };
  it('picks the idle slot: blue first, then alternating', () => {
    expect(idleSlot(null)).toBe('blue');
    expect(idleSlot('blue')).toBe('green');
    expect(idleSlot('green')).toBe('blue');
  });
  it("uses a host's own slot ports before the strategy's", () => {
    expect(slotPorts(host, bg)).toEqual({ blue: 4312, green: 4313 });
    expect(slotPorts({ ...host, slots: { blue: 5000, green: 5001 } }, bg)).toEqual({
      blue: 5000,
      green: 5001,
    });
    expect(slotPorts(host, { type: 'all-at-once' })).toBeUndefined();
  });
  it('splits each host between its old and new slot, and reverts', () => {
    const switches = [
      { host: 'web1', from: 'blue' as const, to: 'green' as const },
      { host: 'web2', from: null, to: 'blue' as const },
    ];
    expect(slotWeights(switches, 10)).toEqual({ 'web1-green': 10, 'web1-blue': 90, 'web2-blue': 100 });
    expect(slotWeights(switches, 100)).toEqual({ 'web1-green': 100, 'web1-blue': 0, 'web2-blue': 100 });
    expect(revertWeights(switches)).toEqual({ 'web1-green': 0, 'web1-blue': 100, 'web2-blue': 0 });
    expect(backendId('web1')).toBe('web1');
  });
});
