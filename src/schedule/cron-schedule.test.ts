import { describe, expect, it } from 'vitest';
import { cronWallTimes } from './cron-schedule.js';

/** Matching wall times from `from` (floating, as ISO without zone) for `days` days, as `YYYY-MM-DDTHH:MM`. */
function times(expr: string, from: string, days: number): string[] {
  const start = Date.parse(`${from}Z`);
  return cronWallTimes(expr, start, start + days * 86_400_000).map((t) =>
    new Date(t).toISOString().slice(0, 16),
  );
}

describe('cronWallTimes', () => {
  it('ORs the day fields when neither starts with * (Vixie), across February into March', () => {
    // croner 11 returns 03-02 here, skipping the 1st.
    expect(times('0 0 1 * 0', '2025-02-23T00:01', 10)).toEqual(['2025-03-01T00:00', '2025-03-02T00:00']);
    expect(times('30 22 1,15 * SUN', '2026-02-27T00:00', 17)).toEqual([
      '2026-03-01T22:30',
      '2026-03-08T22:30',
      '2026-03-15T22:30',
    ]);
  });
  it('ANDs them when one starts with *, as Vixie cron does', () => {
    // Odd days of the month that are Mondays.
    expect(times('0 9 */2 * 1', '2026-03-01T00:00', 31)).toEqual(['2026-03-09T09:00', '2026-03-23T09:00']);
    expect(times('0 9 * * 1', '2026-03-01T00:00', 14)).toEqual(['2026-03-02T09:00', '2026-03-09T09:00']);
    expect(times('0 9 1 * *', '2026-03-01T00:00', 40)).toEqual(['2026-03-01T09:00', '2026-04-01T09:00']);
  });
  it('reads lists, ranges, steps, names, 7 as Sunday, and nicknames', () => {
    expect(times('0,30 8-10/2 * * *', '2026-03-02T00:00', 1)).toEqual([
      '2026-03-02T08:00',
      '2026-03-02T08:30',
      '2026-03-02T10:00',
      '2026-03-02T10:30',
    ]);
    expect(times('0 22 * mar-apr sat-sun', '2026-03-01T00:00', 8)).toEqual([
      '2026-03-01T22:00',
      '2026-03-07T22:00',
      '2026-03-08T22:00',
    ]);
    expect(times('0 22 * * 7', '2026-03-01T00:00', 8)).toEqual(['2026-03-01T22:00', '2026-03-08T22:00']);
    expect(times('@weekly', '2026-03-01T00:00', 8)).toEqual(['2026-03-01T00:00', '2026-03-08T00:00']);
    expect(times('@yearly', '2026-06-01T00:00', 366)).toEqual(['2027-01-01T00:00']);
  });
  it('includes the range start and excludes its end, and handles leap days', () => {
    expect(times('0 0 29 2 *', '2027-01-01T00:00', 800)).toEqual(['2028-02-29T00:00']);
    const at = Date.parse('2026-03-02T22:00Z');
    expect(cronWallTimes('0 22 * * *', at, at + 1)).toEqual([at]);
    expect(cronWallTimes('0 22 * * *', at - 60_000, at)).toEqual([]);
  });
});
