import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { compileProcess } from './load-process.js';

const BASE = `version: 1
app: shop
roles: { qa: [quinn] }
artifact:
  path: dist/shop-{{ release }}.tar.gz
environments:
  staging:
    target: { root: targets/staging }
phases:
  - id: test
    steps:
`;

function firstProblem(steps: string): { message: string; hint?: string | undefined } | undefined {
  try {
    compileProcess(`${BASE}${steps}`, 'slipway.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems[0];
    throw e;
  }
  return undefined;
}

describe('hints for the new step kinds', () => {
  it('reads a bare number as a likely percentage', () => {
    const bench = (threshold: string) =>
      firstProblem(`      - { id: perf, benchmark: { path: bench.json, threshold: ${threshold} } }\n`);
    expect(bench('20')).toMatchObject({
      message: 'expected a percentage like 20% or a fraction from 0 to 1 like 0.2, found 20',
      hint: 'write 20% or 0.2',
    });
    expect(bench('2.5')?.hint).toBe('write 2.5% or 0.025');
    expect(bench('500')?.hint).toBe('write a percentage like 20% or a fraction like 0.2');
    expect(bench("'150%'")?.message).toContain('found "150%"');
    expect(bench("'20 %'")?.message).toContain('found "20 %"');
    expect(bench("'20%'")).toBeUndefined();
    expect(bench('0.2')).toBeUndefined();
  });

  it('says where a key belongs', () => {
    expect(firstProblem('      - { id: uat, approval: { roles: [qa] }, expires: 48h }\n')).toMatchObject({
      message: 'unknown key "expires"',
      hint: '"expires" goes inside "approval": approval: { …, expires: … }',
    });
    expect(
      firstProblem("      - { id: ping, http: { url: 'http://127.0.0.1/', timeout: 5s } }\n")?.hint,
    ).toBe('"timeout" goes on the step, beside "http"');
    expect(firstProblem('      - { id: ok, checklist: { item: OK, role: qa }, retries: 2 }\n')?.hint).toBe(
      '"retries" applies to every step kind except checklist, approval',
    );
  });

  it('checks the result gates and load values', () => {
    expect(firstProblem('      - { id: cov, coverage: { path: lcov.info, minLines: 120 } }\n')?.message).toBe(
      'expected a percentage from 0 to 100, found 120',
    );
    expect(firstProblem('      - { id: cov, coverage: { path: lcov.info } }\n')?.message).toContain(
      'missing required key "minLines"',
    );
    expect(
      firstProblem("      - { id: l, load: { url: 'http://127.0.0.1/', rate: 0, duration: 10s } }\n")
        ?.message,
    ).toBe('expected a number of requests per second above 0, found 0');
    expect(
      firstProblem("      - { id: l, load: { url: 'ftp://127.0.0.1/', rate: 5, duration: 10s } }\n")?.message,
    ).toBe('expected an http:// or https:// URL, found "ftp://127.0.0.1/"');
    expect(
      firstProblem(
        '      - { id: s, sarif: { path: s.sarif, allow: [{ id: x, until: 2027-02-30, reason: r }] } }\n',
      )?.message,
    ).toBe('expected a date like 2027-01-31, found "2027-02-30"');
    expect(firstProblem('      - { id: uat, approval: { roles: [qa], require: most } }\n')?.message).toBe(
      'expected all, any, or a number of approvers (1 or more), found "most"',
    );
    expect(firstProblem('      - { id: uat, approval: { roles: [qa], require: 0 } }\n')?.message).toBe(
      'expected all, any, or a number of approvers (1 or more), found 0',
    );
    expect(firstProblem('      - { id: uat, approval: { roles: [qa], expires: 0s } }\n')?.message).toBe(
      'expected a duration above 0, found "0s"',
    );
  });
});
