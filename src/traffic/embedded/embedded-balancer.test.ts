import { describe, expect, it } from 'vitest';
import { SmoothWeightedPicker } from './embedded-balancer.js';

const picks = (weights: Record<string, number>, n: number): string[] => {
  const p = new SmoothWeightedPicker();
  const candidates = Object.entries(weights).map(([id, weight]) => ({ id, weight }));
  return Array.from({ length: n }, () => p.pick(candidates) ?? '-');
};
const count = (list: string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const x of list) counts[x] = (counts[x] ?? 0) + 1;
  return counts;
};

describe('SmoothWeightedPicker', () => {
  it('gives each backend exactly its share over a full cycle', () => {
    expect(count(picks({ a: 10, b: 90 }, 200))).toEqual({ a: 20, b: 180 });
    expect(count(picks({ a: 1, b: 2, c: 3 }, 60))).toEqual({ a: 10, b: 20, c: 30 });
  });

  it('interleaves instead of sending bursts', () => {
    expect(picks({ a: 5, b: 1, c: 1 }, 7).join('')).toBe('aabacaa');
  });

  it('skips weight 0 and returns undefined when nothing has weight', () => {
    expect(count(picks({ a: 0, b: 100 }, 10))).toEqual({ b: 10 });
    expect(picks({ a: 0, b: 0 }, 1)).toEqual(['-']);
    expect(new SmoothWeightedPicker().pick([])).toBeUndefined();
  });
});
