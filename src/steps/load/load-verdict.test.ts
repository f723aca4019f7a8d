import { describe, expect, it } from 'vitest';
import type { LoadSample } from './load-generator.js';
import { loadMetrics, percentile } from './load-metrics.js';
import { judgeLoad, type LoadLimits, pickBaseline } from './load-verdict.js';

const LIMITS: LoadLimits = { rate: 50, connections: 10, maxErrorRate: 0.01, regression: 0.2 };

function sample(latenciesMs: number[], extra: Partial<LoadSample> = {}): LoadSample {
  return {
    windowMs: 2000,
    responses: latenciesMs.length,
    latenciesMs,
    statusCounts: { '200': latenciesMs.length },
    connectionErrors: 0,
    timeouts: 0,
    ...extra,
  };
}

const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

describe('load metrics', () => {
  it('uses nearest-rank percentiles', () => {
    const sorted = Float64Array.from(hundred);
    expect([50, 90, 95, 99, 100].map((p) => percentile(sorted, p))).toEqual([50, 90, 95, 99, 100]);
    expect(percentile(Float64Array.from([7]), 95)).toBe(7);
  });

  it('counts non-2xx/3xx answers, connection errors and timeouts as failures', () => {
    const m = loadMetrics(
      sample(hundred.slice(0, 90), {
        responses: 90,
        statusCounts: { '200': 80, '302': 2, '404': 3, '500': 5 },
        connectionErrors: 4,
        timeouts: 6,
      }),
    );
    expect(m).toMatchObject({ requests: 100, failures: 18, errorRate: 0.18, throughput: 45 });
  });
});

describe('load verdicts', () => {
  it('fails below 90% of the rate and says why: slow answers cap a closed loop of connections', () => {
    const m = loadMetrics({ ...sample(Array(60).fill(300)), windowMs: 2000 });
    const v = judgeLoad(m, LIMITS, undefined).find((x) => x.check === 'throughput');
    expect(v?.ok).toBe(false);
    expect(v?.message).toBe(
      'the service could not sustain 50/s: 30.0 req/s achieved (60% of the rate, at least 90% needed) because each of the 10 connections waits for its answer (p50 300ms), so at most ~33/s fit',
    );
  });

  it('ignores a p95 rise under 5 ms, whatever the percentage, but not one above', () => {
    const baseline = { rate: 50, throughput: 50, p95Ms: 2.4 };
    const jitter = judgeLoad(loadMetrics(sample(Array(100).fill(4.4))), LIMITS, baseline);
    expect(jitter.find((x) => x.check === 'p95-regression')).toMatchObject({ ok: true });
    const real = judgeLoad(loadMetrics(sample(Array(100).fill(8))), LIMITS, baseline);
    expect(real.find((x) => x.check === 'p95-regression')).toMatchObject({ ok: false });
  });

  it('compares only with a baseline taken at the same rate', () => {
    const details = { rate: 100, throughput: 99.5, latencyMs: { p95: 12 } };
    expect(pickBaseline(details, 100)).toEqual({
      found: true,
      baseline: { rate: 100, throughput: 99.5, p95Ms: 12 },
    });
    expect(pickBaseline(details, 50)).toEqual({
      found: false,
      reason: 'the last good run was at 100/s, this one at 50/s',
    });
    expect(pickBaseline({ summary: 'x' }, 50).found).toBe(false);
    expect(pickBaseline(undefined, 50).found).toBe(false);
  });

  it('names metric, baseline, measured value, change and threshold on a throughput regression', () => {
    const limits = { ...LIMITS, regression: 0.05 };
    const m = loadMetrics({ ...sample(Array(92).fill(5)), windowMs: 2000 });
    const v = judgeLoad(m, limits, { rate: 50, throughput: 50, p95Ms: 5 });
    expect(v.find((x) => x.check === 'throughput-regression')?.message).toBe(
      'throughput regressed against the last good release: 50.0 req/s → 46.0 req/s (-8%), more than the allowed -5%',
    );
  });
});
