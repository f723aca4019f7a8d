import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnalysisCriteria,
  computeBaseline,
  criticalTrigger,
  DEFAULT_NOISE_RULE,
  degradationTrigger,
  type IntervalVerdict,
  judgeInterval,
  mad,
  median,
  noiseRuleProblem,
  relativeChange,
} from './analysis.js';
import type { MonitorSample } from './ports.js';

const latency: AnalysisCriteria = {
  monitor: 'latency',
  critical: false,
  bad: 'increase',
  maxDegradation: 0.2,
  minSamples: 3,
};
const ok = (value: number, atMs = 0): MonitorSample => ({ atMs, ok: true, value, detail: `${value} ms` });
const bad = (detail = '503'): MonitorSample => ({ atMs: 0, ok: false, detail });
const base = (values: number[]) =>
  computeBaseline(
    latency,
    values.map((v) => ok(v)),
  );

describe('median and mad', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
  });

  it('lies between the smallest and largest value (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1 }), (xs) => {
        const m = median(xs) as number;
        expect(m).toBeGreaterThanOrEqual(Math.min(...xs));
        expect(m).toBeLessThanOrEqual(Math.max(...xs));
      }),
    );
  });
});

describe('computeBaseline', () => {
  it('counts samples, ignores failed checks for the median, and says whether it is usable', () => {
    const b = computeBaseline(latency, [ok(10), ok(12), bad(), ok(11), ok(500)]);
    expect(b).toMatchObject({ samples: 5, valued: 4, failed: 1, median: 11.5, usable: true });
    expect(computeBaseline(latency, [ok(10), ok(11)]).usable).toBe(false);
    expect(computeBaseline(latency, []).median).toBeUndefined();
  });
});

describe('judgeInterval', () => {
  const b = base([100, 102, 98, 101, 99]);

  it('passes within the allowed degradation and names value, baseline and change', () => {
    const v = judgeInterval(latency, b, [ok(110), ok(118), ok(115)]);
    expect(v).toMatchObject({ verdict: 'pass', reason: 'ok', value: 115, baseline: 100 });
    expect(v.change).toBeCloseTo(0.15);
    expect(v.detail).toBe('115 vs baseline 100 (+15%)');
  });

  it('fails beyond maxDegradation in the bad direction only', () => {
    expect(judgeInterval(latency, b, [ok(125), ok(130), ok(128)])).toMatchObject({
      verdict: 'fail',
      reason: 'degradation',
      value: 128,
    });
    // Faster is fine for latency…
    expect(judgeInterval(latency, b, [ok(50), ok(50), ok(50)]).verdict).toBe('pass');
    // …but a drop is the bad direction for throughput.
    const throughput = { ...latency, monitor: 'rps', bad: 'decrease' as const };
    expect(judgeInterval(throughput, b, [ok(70), ok(75), ok(72)])).toMatchObject({
      verdict: 'fail',
      reason: 'degradation',
    });
    expect(judgeInterval(throughput, b, [ok(170), ok(175), ok(172)]).verdict).toBe('pass');
  });

  it("does not call a shift within the baseline's own noise a degradation", () => {
    const noisy = base([1, 1.5, 0.6, 1.0, 1.4, 0.7, 1.0]); // median 1, MAD 0.3
    expect(judgeInterval(latency, noisy, [ok(1.2), ok(1.3), ok(1.25)])).toMatchObject({
      verdict: 'pass',
      change: expect.closeTo(0.25),
    });
    expect(judgeInterval(latency, noisy, [ok(1.2), ok(1.3), ok(1.25)]).detail).toContain(
      "within the baseline's noise",
    );
    expect(judgeInterval(latency, noisy, [ok(1.8), ok(1.9), ok(2)]).verdict).toBe('fail');
    // An absolute floor, in the value's unit, for baselines too steady to show their noise.
    const steady = base([0.3, 0.3, 0.3]);
    expect(judgeInterval({ ...latency, minChange: 5 }, steady, [ok(0.6), ok(0.6), ok(0.6)]).verdict).toBe(
      'pass',
    );
    expect(judgeInterval({ ...latency, minChange: 5 }, steady, [ok(9), ok(9), ok(9)]).verdict).toBe('fail');
  });

  it('uses the median, so one slow outlier does not fail an interval', () => {
    expect(judgeInterval(latency, b, [ok(101), ok(900), ok(99), ok(102), ok(100)]).verdict).toBe('pass');
  });

  it('applies absolute max and min whatever the baseline', () => {
    const limited = { ...latency, max: 50, min: 5 };
    expect(judgeInterval(limited, b, [ok(90), ok(90), ok(90)])).toMatchObject({ reason: 'above-max' });
    expect(judgeInterval(limited, undefined, [ok(1), ok(2), ok(1)])).toMatchObject({ reason: 'below-min' });
    expect(judgeInterval(limited, undefined, [ok(10), ok(20), ok(10)]).verdict).toBe('pass');
  });

  it('fails an interval in which most checks failed, and says what was seen', () => {
    const v = judgeInterval(latency, b, [bad('503 in 2 ms'), bad('503 in 3 ms'), ok(100)]);
    expect(v).toMatchObject({ verdict: 'fail', reason: 'check-failed', failed: 2 });
    expect(v.detail).toContain('503 in 3 ms');
    // A minority of failures is noise for the numbers to judge.
    expect(judgeInterval(latency, b, [bad(), ok(100), ok(101), ok(99)]).verdict).toBe('pass');
  });

  it('is inconclusive, never failing, with too few samples', () => {
    expect(judgeInterval(latency, b, [ok(900), ok(900)])).toMatchObject({
      verdict: 'inconclusive',
      reason: 'too-few-samples',
    });
    expect(judgeInterval(latency, b, []).verdict).toBe('inconclusive');
  });

  it('compares only absolutely when the baseline is unusable or 0', () => {
    expect(judgeInterval(latency, base([100]), [ok(900), ok(900), ok(900)]).verdict).toBe('pass');
    const errors = { ...latency, monitor: 'errors', max: 0.05 };
    const zero = computeBaseline(errors, [ok(0), ok(0), ok(0)]);
    expect(relativeChange(0.01, 0)).toBeUndefined();
    expect(judgeInterval(errors, zero, [ok(0.01), ok(0.01), ok(0.01)]).verdict).toBe('pass');
    expect(judgeInterval(errors, zero, [ok(0.1), ok(0.1), ok(0.1)])).toMatchObject({ reason: 'above-max' });
  });

  it('never fails a value within the allowed band (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e4, noNaN: true }),
        fc.array(fc.double({ min: -0.19, max: 0.19, noNaN: true }), { minLength: 3, maxLength: 20 }),
        (b0, jitter) => {
          const baseline = base([b0, b0, b0]);
          const v = judgeInterval(
            latency,
            baseline,
            jitter.map((j) => ok(b0 * (1 + j))),
          );
          expect(v.verdict).toBe('pass');
        },
      ),
    );
  });

  it('always fails a steady value beyond the allowed band (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e4, noNaN: true }),
        fc.double({ min: 0.21, max: 10, noNaN: true }),
        fc.integer({ min: 3, max: 20 }),
        (b0, up, n) => {
          const v = judgeInterval(
            latency,
            base([b0, b0, b0]),
            Array.from({ length: n }, () => ok(b0 * (1 + up))),
          );
          expect(v).toMatchObject({ verdict: 'fail', reason: 'degradation' });
        },
      ),
    );
  });
});

describe('the noise rule', () => {
  const pass: IntervalVerdict = {
    monitor: 'latency',
    verdict: 'pass',
    reason: 'ok',
    samples: 5,
    failed: 0,
    values: [],
    detail: '',
  };
  const fail: IntervalVerdict = {
    monitor: 'latency',
    verdict: 'fail',
    reason: 'degradation',
    samples: 5,
    failed: 0,
    values: [150],
    value: 150,
    baseline: 100,
    change: 0.5,
    detail: '150 vs baseline 100 (+50%)',
  };
  const none: IntervalVerdict = { ...pass, verdict: 'inconclusive', reason: 'too-few-samples' };

  it('needs 2 failing intervals of the last 3 by default', () => {
    expect(degradationTrigger(latency, [fail], DEFAULT_NOISE_RULE)).toBeUndefined();
    expect(degradationTrigger(latency, [fail, pass, pass, fail], DEFAULT_NOISE_RULE)).toBeUndefined();
    const t = degradationTrigger(latency, [pass, fail, pass, fail], DEFAULT_NOISE_RULE);
    expect(t).toMatchObject({
      kind: 'degradation',
      monitor: 'latency',
      baseline: 100,
      value: 150,
      change: 0.5,
      failures: 2,
      of: 3,
    });
    expect(t?.message).toContain('2 of the last 3 intervals failed');
  });

  it('skips inconclusive intervals rather than counting them', () => {
    expect(degradationTrigger(latency, [fail, none, none, none, fail], DEFAULT_NOISE_RULE)).toBeDefined();
    expect(degradationTrigger(latency, [none, none, none], DEFAULT_NOISE_RULE)).toBeUndefined();
  });

  it('names failing checks of a critical monitor a critical-check trigger', () => {
    const dead = { ...fail, reason: 'check-failed' as const };
    const critical = { ...latency, critical: true };
    expect(degradationTrigger(critical, [dead, dead], DEFAULT_NOISE_RULE)?.kind).toBe('critical-check');
    expect(degradationTrigger(latency, [dead, dead], DEFAULT_NOISE_RULE)?.kind).toBe('degradation');
  });

  it('fires for a critical monitor after N failed samples in a row, at once', () => {
    const critical = { ...latency, monitor: 'health', critical: true };
    expect(criticalTrigger(critical, [ok(1), bad()], DEFAULT_NOISE_RULE)).toBeUndefined();
    expect(criticalTrigger(critical, [bad(), ok(1), bad()], DEFAULT_NOISE_RULE)).toBeUndefined();
    const t = criticalTrigger(critical, [ok(1), bad('502'), bad('connection refused')], DEFAULT_NOISE_RULE);
    expect(t).toMatchObject({ kind: 'critical-check', monitor: 'health', failures: 2 });
    expect(t?.message).toContain('connection refused');
    expect(criticalTrigger(latency, [bad(), bad(), bad()], DEFAULT_NOISE_RULE)).toBeUndefined();
  });

  it('never fires on a history with fewer failures than the limit (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(pass, none), { maxLength: 30 }), fc.nat(30), (history, at) => {
        const withOne = [...history];
        withOne.splice(Math.min(at, withOne.length), 0, fail);
        expect(degradationTrigger(latency, withOne, DEFAULT_NOISE_RULE)).toBeUndefined();
      }),
    );
  });

  it('refuses rules that can never fire', () => {
    expect(noiseRuleProblem(DEFAULT_NOISE_RULE)).toBeUndefined();
    expect(noiseRuleProblem({ ...DEFAULT_NOISE_RULE, failureLimit: 4 })).toContain('can never be reached');
    expect(noiseRuleProblem({ ...DEFAULT_NOISE_RULE, window: 0 })).toContain('window');
  });
});
