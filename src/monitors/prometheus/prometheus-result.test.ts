import { describe, expect, it } from 'vitest';
import { readPrometheusAnswer } from './prometheus-result.js';

const Q = 'sum(rate(http_requests_total[1m]))';
const ok = (resultType: string, result: unknown) =>
  JSON.stringify({ status: 'success', data: { resultType, result } });
const vector = (...values: string[]) =>
  ok(
    'vector',
    values.map((v, i) => ({ metric: { instance: `h${i}` }, value: [1_700_000_000, v] })),
  );
const matrix = (...values: string[]) =>
  ok('matrix', [{ metric: {}, values: values.map((v, i) => [1_700_000_000 + i, v]) }]);

describe('reading a Prometheus answer', () => {
  it('takes the single value of a vector or a scalar', () => {
    expect(readPrometheusAnswer(200, vector('0.25'), Q)).toEqual({ ok: true, value: 0.25, detail: '0.25' });
    expect(readPrometheusAnswer(200, ok('scalar', [1_700_000_000, '42']), Q)).toMatchObject({
      ok: true,
      value: 42,
    });
  });

  it('aggregates a matrix as asked, avg by default', () => {
    const body = matrix('1', '2', '6');
    expect(readPrometheusAnswer(200, body, Q).value).toBe(3);
    expect(readPrometheusAnswer(200, body, Q, 'avg')).toEqual({
      ok: true,
      value: 3,
      detail: 'avg 3 of 3 points',
    });
    expect(readPrometheusAnswer(200, body, Q, 'max').value).toBe(6);
    expect(readPrometheusAnswer(200, body, Q, 'min').value).toBe(1);
    expect(readPrometheusAnswer(200, body, Q, 'last').value).toBe(6);
  });

  it('treats an empty result and NaN as no data: ok, without a value', () => {
    for (const body of [
      vector(),
      ok('matrix', []),
      vector('NaN'),
      matrix('NaN', 'NaN'),
      ok('scalar', [0, 'NaN']),
    ]) {
      const r = readPrometheusAnswer(200, body, Q);
      expect(r.ok).toBe(true);
      expect(r.value).toBeUndefined();
      expect(r.detail).toMatch(/^no data/);
    }
  });

  it('skips NaN points of a range but keeps the numbers', () => {
    expect(readPrometheusAnswer(200, matrix('NaN', '4', 'NaN', '2'), Q, 'avg').value).toBe(3);
  });

  it('fails on an infinite value, naming the query', () => {
    for (const v of ['+Inf', '-Inf']) {
      const r = readPrometheusAnswer(200, vector(v), Q);
      expect(r).toMatchObject({ ok: false });
      expect(r.detail).toContain(v);
      expect(r.detail).toContain(Q);
    }
    expect(readPrometheusAnswer(200, matrix('1', '+Inf'), Q, 'max').ok).toBe(false);
  });

  it('fails on several series and says how to aggregate', () => {
    const r = readPrometheusAnswer(200, vector('1', '2', '3', '4'), Q);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('returned 4 series');
    expect(r.detail).toContain('{instance="h0"}');
    expect(r.detail).toContain('sum(...)');
  });

  it("relays Prometheus' error JSON with the query", () => {
    const body = JSON.stringify({
      status: 'error',
      errorType: 'bad_data',
      error: 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
    });
    const r = readPrometheusAnswer(400, body, 'sum(rate(x[1m])');
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(
      'Prometheus refused the query (bad_data): invalid parameter "query": 1:5: parse error: unclosed left parenthesis (query: sum(rate(x[1m]))',
    );
  });

  it('fails clearly on something that is not the API at all', () => {
    const r = readPrometheusAnswer(502, '<html>Bad Gateway</html>', Q);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('502');
    expect(r.detail).toContain('<html>Bad Gateway</html>');
    expect(readPrometheusAnswer(200, ok('string', [0, 'x']), Q)).toMatchObject({ ok: false });
    expect(readPrometheusAnswer(200, 'null', Q)).toMatchObject({ ok: false });
  });
});
