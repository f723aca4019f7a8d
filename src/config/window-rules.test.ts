import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { compileProcess } from './load-process.js';

const file = (
  production: string,
  phases = '  - { id: deploy, steps: [{ id: ship, release: {} }] }\n',
) => `version: 1
app: shop
roles: { devops: [dana], pm: [pat] }
artifact:
  path: dist/shop-{{ release }}.tar.gz
environments:
  production:
    target: { root: /srv/shop }
${production}phases:
${phases}`;

function problemsOf(source: string): { path: string; message: string; hint?: string }[] {
  try {
    compileProcess(source, 'slipway.yaml');
  } catch (e) {
    if (e instanceof ConfigError)
      return e.problems.map(({ path, message, hint }) => ({ path, message, ...(hint ? { hint } : {}) }));
    throw e;
  }
  return [];
}

const WINDOW = "    windows:\n      - { cron: '0 22 * * 1-5', duration: 4h, timezone: UTC }\n";

describe('windows', () => {
  it('points at the schedule or at the timezone, whichever is wrong', () => {
    const problems = problemsOf(
      file(`    windows:
      - { cron: '0 22 * *', duration: 4h, timezone: UTC }
      - { rrule: 'FREQ=WEEKLY;BYDAY=SA', duration: 2h, timezone: europe/berlin }
      - { cron: '0 22 * * 1-5', duration: 4h, timezone: Mars/Olympus }
      - { rrule: 'FREQ=SOMETIMES', duration: 4h, timezone: UTC }
`),
    );
    expect(problems.map((p) => p.path)).toEqual([
      'environments.production.windows.0.cron',
      'environments.production.windows.1.timezone',
      'environments.production.windows.2.timezone',
      'environments.production.windows.3.rrule',
    ]);
    expect(problems[0]?.message).toContain("'0 22 * *'");
    expect(problems[0]?.hint).toMatch(/^five fields/);
    expect(problems[1]?.hint).toBe('did you mean "Europe/Berlin"?');
    expect(problems[2]).toMatchObject({
      message: expect.stringContaining('Mars/Olympus'),
      hint: 'an IANA timezone name, e.g. Europe/Berlin, America/New_York or UTC',
    });
    expect(problems[3]?.hint).toMatch(/^an RFC 5545 rule/);
  });

  it('needs exactly one schedule, a length and a timezone', () => {
    const problems = problemsOf(
      file(`    windows:
      - { duration: 4h, timezone: UTC }
      - { crn: '0 22 * * 1-5', duration: 4h, timezone: UTC }
      - { cron: '0 22 * * 1-5', duration: 8d, timezone: UTC }
      - { cron: '0 22 * * 1-5', duration: 4h }
`),
    );
    expect(problems.map((p) => [p.path, p.message, p.hint])).toEqual([
      ['environments.production.windows.0', 'a window needs one of "cron", "rrule", found none', undefined],
      ['environments.production.windows.1.crn', 'unknown key "crn"', 'did you mean "cron"?'],
      [
        'environments.production.windows.2.duration',
        'expected a window length above 0 and at most 7d, found "8d"',
        undefined,
      ],
      [
        'environments.production.windows.3.timezone',
        'missing required key "timezone": expected a string',
        'a schedule needs its timezone, e.g. timezone: Europe/Berlin or timezone: UTC',
      ],
    ]);
  });
});

describe('freezes', () => {
  it('checks the freeze timezone and each bound', () => {
    expect(problemsOf(file('    freezeTimezone: Berlin\n'))[0]?.path).toBe(
      'environments.production.freezeTimezone',
    );
    const problems = problemsOf(
      file(`    freezes:
      - { from: 2026-12-20, to: 2026-12-20, reason: One day }
      - { from: 'next monday', to: 2027-01-04, reason: Year-end }
      - { from: '2027-03-01T18:00', to: '2027-03-01T06:00', reason: Migration }
`),
    );
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['environments.production.freezes.1.from', 'expected a date or a date and time, found "next monday"'],
      [
        'environments.production.freezes.2.to',
        'a freeze must end after it starts, found from 2027-03-01T18:00 to 2027-03-01T06:00',
      ],
    ]);
  });

  it('needs a reason', () => {
    expect(problemsOf(file('    freezes:\n      - { from: 2027-04-01, to: 2027-04-02 }\n'))).toEqual([
      {
        path: 'environments.production.freezes.0.reason',
        message: 'missing required key "reason": expected a string',
        hint: 'say why, e.g. reason: Year-end freeze; it is shown to whoever tries to deploy',
      },
    ]);
  });
});

describe('emergency approvers', () => {
  it('must be declared roles when an environment has windows or freezes', () => {
    expect(problemsOf(file(WINDOW).replace('devops: [dana], ', ''))).toEqual([
      {
        path: 'environments.production.windows',
        message:
          'an emergency deployment (outside the windows or in a freeze) is approved by roles "devops" and "pm" by default, but "devops" is not declared',
        hint: 'declare the roles under "roles", or name the approving roles: emergency: { approvers: [<role>, …] }',
      },
    ]);
    const own = file(`${WINDOW}    emergency: { approvers: [pm] }\n`).replace('devops: [dana], ', '');
    expect(problemsOf(own)).toEqual([]);
    // Without windows or freezes there are no emergencies to approve.
    expect(problemsOf(file('').replace('devops: [dana], ', ''))).toEqual([]);
  });
});

describe('expectedDuration', () => {
  const phase = (keys: string) => `  - id: deploy\n${keys}    steps:\n      - { id: ship, release: {} }\n`;

  it('must fit the longest window of every environment the phase runs in', () => {
    expect(problemsOf(file(WINDOW, phase('    expectedDuration: 4h\n')))).toEqual([]);
    expect(problemsOf(file(WINDOW, phase('    expectedDuration: 4h1m\n')))[0]?.message).toBe(
      'a 4h1m phase never fits the 4h window of production',
    );
    const two = `${WINDOW}      - { rrule: 'FREQ=WEEKLY;BYDAY=SA;BYHOUR=2', duration: 6h, timezone: UTC }\n`;
    expect(problemsOf(file(two, phase('    expectedDuration: 6h\n')))).toEqual([]);
    expect(problemsOf(file(two, phase('    expectedDuration: 7h\n')))[0]?.message).toBe(
      'a 7h phase never fits any window of production (the longest is 6h)',
    );
  });

  it('is not checked for a phase that ignores the windows', () => {
    expect(problemsOf(file(WINDOW, phase('    window: false\n    expectedDuration: 5h\n')))).toEqual([]);
  });
});
