import { describe, expect, it } from 'vitest';
import { validateWindow } from './validate-window.js';

const utc = { timezone: 'UTC' };

describe('validateWindow', () => {
  it.each([
    ['0 22 * * 1-5'],
    ['0 22 * * MON-FRI'],
    ['*/15 2,3 1-7 * 0'],
    ['@daily'],
    ['@DAILY'],
    ['0,30 2 * JAN-MAR sun'],
    // 7 is Sunday too; steps over ranges.
    ['0 22 * * 7'],
    ['0 8-18/2 1-31/10 * *'],
    // Vixie: a day field starting with * makes the two day fields AND (Feb 29 on a Sunday, Wednesday or Saturday).
    ['0 0 29 2 */3'],
  ])('accepts cron %s', (cron) => {
    expect(validateWindow({ cron, ...utc })).toBeUndefined();
  });

  it.each([
    ['FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30'],
    ['RRULE:FREQ=weekly;byday=sa;byhour=2'],
    ['FREQ=MONTHLY;BYDAY=2TU;BYHOUR=22'],
    ['FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=22'],
    ['FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31;BYHOUR=23'],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO'],
    ['FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=18'],
    ['FREQ=DAILY;INTERVAL=2;UNTIL=20271231T235900Z'],
    ['FREQ=HOURLY;INTERVAL=6;BYHOUR=0,6'],
    ['FREQ=MINUTELY;INTERVAL=15;BYHOUR=3;BYMINUTE=30'],
  ])('accepts rrule %s', (rrule) => {
    expect(validateWindow({ rrule, ...utc })).toBeUndefined();
  });

  it.each([['Asia/Calcutta'], ['Etc/GMT-1'], ['America/Argentina/Buenos_Aires']])(
    'accepts timezone %s',
    (timezone) => {
      expect(validateWindow({ cron: '0 22 * * *', timezone })).toBeUndefined();
    },
  );

  it.each([
    [{ cron: '0 22 * * *', rrule: 'FREQ=DAILY', ...utc }, 'a window has either cron or rrule, not both'],
    [{ ...utc }, 'a window needs cron or rrule'],
    [
      { cron: '0 22 * * *', timezone: 'Europe/Berln' },
      "unknown timezone 'Europe/Berln' (use an IANA name such as Europe/Berlin or UTC)",
    ],
    [
      { cron: '0 22 * * *', timezone: '+01:00' },
      "unknown timezone '+01:00' (use an IANA name such as Europe/Berlin or UTC)",
    ],
    [
      { cron: '0 22 * * *', timezone: 'europe/berlin' },
      "timezone 'europe/berlin' is spelled 'Europe/Berlin'",
    ],
    [
      { cron: '0 0 22 * * 1-5', ...utc },
      "cron needs 5 fields (minute hour day-of-month month day-of-week), got 6 in '0 0 22 * * 1-5': seconds and years are not supported",
    ],
    [
      { cron: '0 22 * *', ...utc },
      "cron needs 5 fields (minute hour day-of-month month day-of-week), got 4 in '0 22 * *'",
    ],
    [{ cron: ' ', ...utc }, 'cron is empty'],
    [{ cron: '61 22 * * *', ...utc }, "bad cron minute '61' in '61 22 * * *': out of range (0-59)"],
    [
      { cron: '0 22 * * 8', ...utc },
      "bad cron day-of-week '8' in '0 22 * * 8': out of range (0-7 or SUN-SAT)",
    ],
    [
      { cron: '0 22 * * FRI-MON', ...utc },
      "bad cron day-of-week 'FRI-MON' in '0 22 * * FRI-MON': the range goes backwards",
    ],
    [{ cron: '*/0 * * * *', ...utc }, "bad cron minute '*/0' in '*/0 * * * *': a step must be at least 1"],
    [
      { cron: '5/10 * * * *', ...utc },
      "bad cron minute '5/10' in '5/10 * * * *': a step needs a range, e.g. 5-59/10 or */10",
    ],
    [
      { cron: '0 22 JAN-FOO * *', ...utc },
      "bad cron day-of-month 'JAN-FOO' in '0 22 JAN-FOO * *': not a value (1-31)",
    ],
    [
      { cron: '0 22 L * *', ...utc },
      "bad cron day-of-month 'L' in '0 22 L * *': L, W, # and ? are not supported; an rrule can say BYMONTHDAY=-1 or BYDAY=2TU",
    ],
    [
      { cron: '0 22 * * 2#2', ...utc },
      "bad cron day-of-week '2#2' in '0 22 * * 2#2': L, W, # and ? are not supported; an rrule can say BYMONTHDAY=-1 or BYDAY=2TU",
    ],
    [{ cron: '0 22 31 4 *', ...utc }, "cron '0 22 31 4 *' never matches a date"],
    [{ cron: '0 22 30 2 *', ...utc }, "cron '0 22 30 2 *' never matches a date"],
    [
      { cron: '@reboot', ...utc },
      "unknown cron nickname '@reboot' (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)",
    ],
    [{ rrule: 'BYDAY=SA', ...utc }, 'RRULE needs FREQ, e.g. FREQ=WEEKLY;BYDAY=SA;BYHOUR=22'],
    [{ rrule: 'FREQ=WEEKLY;FOO=1', ...utc }, "unknown RRULE part 'FOO'"],
    [
      { rrule: 'DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY', ...utc },
      'DTSTART is not allowed in an RRULE: windows are anchored by their timezone and schedule',
    ],
    [
      { rrule: 'FREQ=DAILY;DTSTART=20260101T000000Z', ...utc },
      'DTSTART is not allowed in an RRULE: windows are anchored by their timezone and schedule',
    ],
    [
      { rrule: 'FREQ=DAILY;TZID=Europe/Berlin', ...utc },
      "TZID is not allowed in an RRULE: set the window's timezone instead",
    ],
    [
      { rrule: 'FREQ=DAILY;COUNT=3', ...utc },
      'COUNT is not supported: a window has no first occurrence to count from (use UNTIL)',
    ],
    [{ rrule: 'FREQ=DAILY;BYHOUR=25', ...utc }, "bad BYHOUR '25' in RRULE (0 to 23)"],
    [{ rrule: 'FREQ=DAILY;BYMONTHDAY=0', ...utc }, "bad BYMONTHDAY '0' in RRULE (1 to 31 or -31 to -1)"],
    [{ rrule: 'FREQ=WEEKLY;BYDAY=XX', ...utc }, "bad BYDAY 'XX' in RRULE (e.g. MO, SA, 2TU or -1FR)"],
    [{ rrule: 'FREQ=DAILY;BYHOUR=', ...utc }, "bad RRULE part 'BYHOUR=' (expected NAME=VALUE)"],
    [
      { rrule: 'FREQ=FORTNIGHTLY', ...utc },
      "bad FREQ 'FORTNIGHTLY' (use YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY)",
    ],
    [{ rrule: 'FREQ=SECONDLY', ...utc }, 'FREQ=SECONDLY is not supported: windows open on whole minutes'],
    [{ rrule: 'FREQ=DAILY;BYSECOND=0', ...utc }, 'BYSECOND is not supported: windows open on whole minutes'],
    [{ rrule: 'FREQ=DAILY;BYDAY=1MO', ...utc }, "BYDAY '1MO' with a position needs FREQ=MONTHLY or YEARLY"],
    [{ rrule: 'FREQ=WEEKLY;BYMONTHDAY=1', ...utc }, 'BYMONTHDAY cannot be used with FREQ=WEEKLY'],
    [{ rrule: 'FREQ=DAILY;INTERVAL=0', ...utc }, "bad INTERVAL '0' in RRULE (a whole number from 1)"],
    [
      { rrule: 'FREQ=DAILY;UNTIL=2026-12-31', ...utc },
      "bad UNTIL '2026-12-31' in RRULE (e.g. 20271231 or 20271231T235900Z)",
    ],
    [{ rrule: 'FREQ=DAILY;BYDAY=MO;BYDAY=TU', ...utc }, 'RRULE part BYDAY is given twice'],
    [{ rrule: 'FREQ=DAILY;BYSETPOS=1', ...utc }, 'BYSETPOS needs another BY… part to pick from'],
    [
      { rrule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', ...utc },
      "RRULE 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30' never occurs",
    ],
    [
      { rrule: 'FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2', ...utc },
      "RRULE 'FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2' never occurs",
    ],
    // rrule 2.8 would loop forever on these (see rrule-schedule.ts).
    [
      { rrule: 'FREQ=HOURLY;INTERVAL=2;BYHOUR=1', ...utc },
      'BYHOUR never matches with FREQ=HOURLY;INTERVAL=2 (it reaches hours that are multiples of 2)',
    ],
    [
      { rrule: 'FREQ=MINUTELY;INTERVAL=15;BYMINUTE=10', ...utc },
      'BYMINUTE never matches with FREQ=MINUTELY;INTERVAL=15 (it reaches minutes that are multiples of 15)',
    ],
    [
      { rrule: 'FREQ=MINUTELY;INTERVAL=120', ...utc },
      'FREQ=MINUTELY needs an INTERVAL that divides 60, not 120',
    ],
  ])('rejects %j: %s', (spec, message) => {
    expect(validateWindow(spec)).toBe(message);
  });

  it('answers quickly even for a rule that never occurs (rrule alone would search to the year 9999)', () => {
    const started = performance.now();
    expect(validateWindow({ rrule: 'FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30', ...utc })).toMatch(
      /never occurs/,
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
