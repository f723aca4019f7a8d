import { describe, expect, it } from 'vitest';
import type { FreezeSpec, WindowSpec } from '../core/process.js';
import { windowStatus } from './window-status.js';

const H = 3_600_000;
const M = 60_000;
const DAY = 24 * H;
const at = (iso: string) => Date.parse(iso);
const weekdays: WindowSpec = { cron: '0 22 * * 1-5', durationMs: 4 * H, timezone: 'Europe/Berlin' };
const env = (windows: WindowSpec[], freezes: FreezeSpec[] = []) => ({ windows, freezes });

describe('windowStatus: one window', () => {
  it('closed outside the window, with the next opening and its close', () => {
    // Friday 2026-03-27 13:00 CET; the window opens at 22:00 CET = 21:00 UTC.
    expect(windowStatus(env([weekdays]), at('2026-03-27T12:00Z'))).toEqual({
      state: 'closed',
      opensAt: at('2026-03-27T21:00Z'),
      closesAt: at('2026-03-28T01:00Z'),
      reason: 'outside the maintenance window',
    });
  });
  it('open inside the window; its bounds are inclusive-exclusive', () => {
    expect(windowStatus(env([weekdays]), at('2026-03-27T21:00Z'))).toEqual({
      state: 'open',
      closesAt: at('2026-03-28T01:00Z'),
    });
    expect(windowStatus(env([weekdays]), at('2026-03-28T01:00Z') - 1).state).toBe('open');
    // Saturday 02:00 CET: the next opening is Monday 22:00, now CEST.
    expect(windowStatus(env([weekdays]), at('2026-03-28T01:00Z'))).toMatchObject({
      state: 'closed',
      opensAt: at('2026-03-30T20:00Z'),
    });
  });
  it('needMs that fits exactly opens; a minute more waits for the next opening', () => {
    const now = at('2026-03-27T22:00Z');
    expect(windowStatus(env([weekdays]), now, 3 * H)).toEqual({
      state: 'open',
      closesAt: at('2026-03-28T01:00Z'),
    });
    expect(windowStatus(env([weekdays]), now, 3 * H + M)).toEqual({
      state: 'closed',
      opensAt: at('2026-03-30T20:00Z'),
      closesAt: at('2026-03-31T00:00Z'),
      reason: 'the window closes at 2026-03-28 02:00 Europe/Berlin, too soon for the expected 3h1m',
    });
  });
  it('says the closing time alone when it is on the same local day', () => {
    // Saturday 01:30 CET, the window closes at 02:00 CET.
    expect(windowStatus(env([weekdays]), at('2026-03-28T00:30Z'), 45 * M)).toMatchObject({
      state: 'closed',
      reason: 'the window closes at 02:00 Europe/Berlin, too soon for the expected 45m',
    });
  });
  it('year end: 0 23 31 12 *, 2h, is open into the new year and then closed for a year', () => {
    const yearEnd: WindowSpec = { cron: '0 23 31 12 *', durationMs: 2 * H, timezone: 'Europe/Berlin' };
    expect(windowStatus(env([yearEnd]), at('2026-12-31T23:30Z'))).toEqual({
      state: 'open',
      closesAt: at('2027-01-01T00:00Z'),
    });
    expect(windowStatus(env([yearEnd]), at('2027-01-01T00:00Z'))).toMatchObject({
      state: 'closed',
      opensAt: at('2027-12-31T22:00Z'),
      closesAt: at('2028-01-01T00:00Z'),
    });
  });
});

describe('windowStatus: freezes', () => {
  const blackFriday: FreezeSpec = {
    fromMs: at('2026-11-27T00:00Z'),
    toMs: at('2026-11-30T00:00Z'),
    reason: 'Black Friday',
  };
  it('a freeze over a window closes it, with the freeze and its end as the reason', () => {
    const utcWeekdays: WindowSpec = { ...weekdays, timezone: 'UTC' };
    expect(windowStatus(env([utcWeekdays], [blackFriday]), at('2026-11-27T22:30Z'))).toEqual({
      state: 'closed',
      opensAt: at('2026-11-30T22:00Z'),
      closesAt: at('2026-12-01T02:00Z'),
      reason: 'freeze: Black Friday (until 2026-11-30 00:00 UTC)',
    });
  });
  it('a freeze starting inside a window shortens it', () => {
    // Tuesday 2026-12-01 window: 21:00-01:00 UTC; the freeze starts at 23:00 UTC (00:00 CET).
    const release: FreezeSpec = {
      fromMs: at('2026-12-01T23:00Z'),
      toMs: at('2026-12-03T00:00Z'),
      reason: 'release',
    };
    const now = at('2026-12-01T21:00Z');
    expect(windowStatus(env([weekdays], [release]), now, H)).toEqual({
      state: 'open',
      closesAt: at('2026-12-01T23:00Z'),
    });
    // Wednesday's window is frozen until 00:00 UTC, leaving one hour; Thursday's is whole.
    expect(windowStatus(env([weekdays], [release]), now, 3 * H)).toEqual({
      state: 'closed',
      opensAt: at('2026-12-03T21:00Z'),
      closesAt: at('2026-12-04T01:00Z'),
      reason: 'the freeze "release" starts at 2026-12-02 00:00 Europe/Berlin, too soon for the expected 3h',
    });
    // Inside the freeze: the window opens again (for its last hour) when the freeze ends.
    expect(windowStatus(env([weekdays], [release]), at('2026-12-02T23:30Z'))).toEqual({
      state: 'closed',
      opensAt: at('2026-12-03T00:00Z'),
      closesAt: at('2026-12-03T01:00Z'),
      reason: 'freeze: release (until 01:00 Europe/Berlin)',
    });
  });
  it('with no windows: any time, up to the next freeze, and after a chain of freezes', () => {
    const first: FreezeSpec = {
      fromMs: at('2026-12-20T00:00Z'),
      toMs: at('2026-12-27T00:00Z'),
      reason: 'holidays',
    };
    const second: FreezeSpec = {
      fromMs: at('2026-12-26T00:00Z'),
      toMs: at('2027-01-04T00:00Z'),
      reason: 'year end',
    };
    expect(windowStatus(env([]), at('2026-12-01T00:00Z'))).toEqual({ state: 'open', closesAt: null });
    expect(windowStatus(env([], [second, first]), at('2026-12-01T00:00Z'))).toEqual({
      state: 'open',
      closesAt: at('2026-12-20T00:00Z'),
    });
    expect(windowStatus(env([], [second, first]), at('2026-12-21T00:00Z'))).toEqual({
      state: 'closed',
      opensAt: at('2027-01-04T00:00Z'),
      closesAt: null,
      reason: 'freeze: holidays (until 2026-12-27 00:00 UTC)',
    });
    // Two days before the freeze, a three-day step waits until it is over.
    expect(windowStatus(env([], [first]), at('2026-12-18T00:00Z'), 3 * DAY)).toMatchObject({
      state: 'closed',
      opensAt: at('2026-12-27T00:00Z'),
      reason: 'the freeze "holidays" starts at 2026-12-20 00:00 UTC, too soon for the expected 72h',
    });
  });
});

describe('windowStatus: several windows', () => {
  it('touching openings of two windows make one period for the needMs fit', () => {
    const evening: WindowSpec = { cron: '0 22 * * *', durationMs: 2 * H, timezone: 'Europe/Berlin' };
    const night: WindowSpec = { cron: '0 0 * * *', durationMs: 2 * H, timezone: 'Europe/Berlin' };
    // 22:00 CET on 2026-12-01 = 21:00 UTC; together open until 02:00 CET.
    expect(windowStatus(env([evening, night]), at('2026-12-01T21:00Z'), 3 * H)).toEqual({
      state: 'open',
      closesAt: at('2026-12-02T01:00Z'),
    });
    expect(windowStatus(env([evening]), at('2026-12-01T21:00Z'), 3 * H).state).toBe('never');
  });
  it('windows in different timezones are alternatives', () => {
    const tokyo: WindowSpec = { cron: '0 9 * * *', durationMs: H, timezone: 'Asia/Tokyo' };
    const newYork: WindowSpec = { cron: '0 9 * * *', durationMs: H, timezone: 'America/New_York' };
    // 2026-06-01 12:00 UTC: next is New York's 09:00 EDT = 13:00 UTC, then Tokyo's 00:00 UTC.
    expect(windowStatus(env([tokyo, newYork]), at('2026-06-01T12:00Z'))).toEqual({
      state: 'closed',
      opensAt: at('2026-06-01T13:00Z'),
      closesAt: at('2026-06-01T14:00Z'),
      reason: 'outside the maintenance windows',
    });
    expect(
      windowStatus(env([tokyo, newYork]), at('2026-06-01T14:00Z')).state === 'closed' &&
        windowStatus(env([tokyo, newYork]), at('2026-06-01T14:00Z')),
    ).toMatchObject({ opensAt: at('2026-06-02T00:00Z') });
  });
  it('a window chain that never ends within the horizon is open with closesAt null', () => {
    const hourly: WindowSpec = { cron: '0 * * * *', durationMs: H, timezone: 'UTC' };
    expect(windowStatus(env([hourly]), at('2026-03-28T12:00Z'), 2 * H)).toEqual({
      state: 'open',
      closesAt: null,
    });
  });
  it('an hourly chain breaks in the repeated hour of a fall-back night (first occurrences only)', () => {
    // Europe/Berlin 2026-10-25: 02:00 CEST (00:00 UTC) opens, the repeated 02:00 CET (01:00 UTC) does not.
    const hourly: WindowSpec = { cron: '0 * * * *', durationMs: H, timezone: 'Europe/Berlin' };
    expect(windowStatus(env([hourly]), at('2026-10-24T12:00Z'))).toEqual({
      state: 'open',
      closesAt: at('2026-10-25T01:00Z'),
    });
    expect(windowStatus(env([hourly]), at('2026-10-25T01:30Z'))).toMatchObject({
      state: 'closed',
      opensAt: at('2026-10-25T02:00Z'),
    });
  });
});

describe("windowStatus: 'never'", () => {
  it('when every opening is shorter than needMs', () => {
    const short: WindowSpec = { ...weekdays, durationMs: H };
    expect(windowStatus(env([short]), at('2026-03-27T12:00Z'), 2 * H)).toEqual({
      state: 'never',
      reason: 'no window in the next 400 days stays open for the expected 2h (the longest: 1h)',
    });
  });
  it('when a freeze covers every window', () => {
    const now = at('2026-03-27T12:00Z');
    const moratorium: FreezeSpec = { fromMs: now - DAY, toMs: now + 500 * DAY, reason: 'Moratorium' };
    expect(windowStatus(env([weekdays], [moratorium]), now)).toEqual({
      state: 'never',
      reason: 'every window in the next 400 days falls in a freeze: Moratorium',
    });
    expect(windowStatus(env([], [moratorium]), now)).toEqual({
      state: 'never',
      reason: 'frozen for the next 400 days: Moratorium',
    });
  });
  it('when no window opens within 400 days', () => {
    const everyOtherJune: WindowSpec = {
      rrule: 'FREQ=YEARLY;INTERVAL=2;BYMONTH=6;BYMONTHDAY=1;BYHOUR=22',
      durationMs: H,
      timezone: 'UTC',
    };
    // Even years since 1970: 2026, then 2028 — 730 days on.
    expect(windowStatus(env([everyOtherJune]), at('2026-06-02T00:00Z'))).toEqual({
      state: 'never',
      reason: 'no window opens in the next 400 days',
    });
    expect(windowStatus(env([everyOtherJune]), at('2027-06-02T00:00Z'))).toMatchObject({
      state: 'closed',
      opensAt: at('2028-06-01T22:00Z'),
    });
  });
});
