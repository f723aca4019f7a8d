import { describe, expect, it } from 'vitest';
import type { WindowSpec } from '../core/process.js';
import { windowOpenings } from './window-openings.js';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
/** Openings as `opensAt..closesAt` in UTC ISO, minutes only, for readable expectations. */
function openings(spec: WindowSpec, from: string, until: string): string[] {
  const short = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  return windowOpenings(spec, at(from), at(until)).map((o) => `${short(o.opensAt)}..${short(o.closesAt)}`);
}

describe('windowOpenings: weekday evenings (0 22 * * 1-5, 4h, Europe/Berlin)', () => {
  const weekdays: WindowSpec = { cron: '0 22 * * 1-5', durationMs: 4 * H, timezone: 'Europe/Berlin' };

  // DST starts Sunday 2026-03-29 at 01:00 UTC: 22:00 is 21:00 UTC before, 20:00 UTC after.
  it('across the March 2026 change', () => {
    expect(openings(weekdays, '2026-03-26T01:00Z', '2026-03-31T12:00Z')).toEqual([
      '2026-03-26T21:00..2026-03-27T01:00',
      '2026-03-27T21:00..2026-03-28T01:00',
      '2026-03-30T20:00..2026-03-31T00:00',
    ]);
  });
  // DST ends Sunday 2026-10-25 at 01:00 UTC.
  it('across the October 2026 change', () => {
    expect(openings(weekdays, '2026-10-22T00:00Z', '2026-10-27T12:00Z')).toEqual([
      '2026-10-22T20:00..2026-10-23T00:00',
      '2026-10-23T20:00..2026-10-24T00:00',
      '2026-10-26T21:00..2026-10-27T01:00',
    ]);
  });
  // 2027: DST from Sunday 2027-03-28 to Sunday 2027-10-31.
  it('across the March and October 2027 changes', () => {
    expect(openings(weekdays, '2027-03-26T12:00Z', '2027-03-30T12:00Z')).toEqual([
      '2027-03-26T21:00..2027-03-27T01:00',
      '2027-03-29T20:00..2027-03-30T00:00',
    ]);
    expect(openings(weekdays, '2027-10-29T12:00Z', '2027-11-02T12:00Z')).toEqual([
      '2027-10-29T20:00..2027-10-30T00:00',
      '2027-11-01T21:00..2027-11-02T01:00',
    ]);
  });
  it('includes an opening that started before the range and is still open', () => {
    expect(openings(weekdays, '2026-03-27T23:59Z', '2026-03-28T00:00Z')).toEqual([
      '2026-03-27T21:00..2026-03-28T01:00',
    ]);
    expect(openings(weekdays, '2026-03-28T01:00Z', '2026-03-28T02:00Z')).toEqual([]);
  });
});

describe('windowOpenings: the DST rules', () => {
  it('lasts its duration in real time when the clocks change during it', () => {
    // Sunday 00:00 local, 4h: on 2026-03-29 it closes at 05:00 CEST, on 2026-10-25 at 03:00 CET.
    const sunday: WindowSpec = { cron: '0 0 * * 0', durationMs: 4 * H, timezone: 'Europe/Berlin' };
    expect(openings(sunday, '2026-03-28T12:00Z', '2026-03-29T12:00Z')).toEqual([
      '2026-03-28T23:00..2026-03-29T03:00',
    ]);
    expect(openings(sunday, '2026-10-24T12:00Z', '2026-10-25T12:00Z')).toEqual([
      '2026-10-24T22:00..2026-10-25T02:00',
    ]);
  });
  it('opens a time in the spring-forward gap at the end of the gap (02:30 → 03:00 CEST)', () => {
    const nightly: WindowSpec = { cron: '30 2 * * *', durationMs: H, timezone: 'Europe/Berlin' };
    expect(openings(nightly, '2026-03-28T00:00Z', '2026-03-30T12:00Z')).toEqual([
      '2026-03-28T01:30..2026-03-28T02:30',
      '2026-03-29T01:00..2026-03-29T02:00',
      '2026-03-30T00:30..2026-03-30T01:30',
    ]);
  });
  it('opens once for several times in one gap, and for the time the gap ends at', () => {
    const quarterly: WindowSpec = {
      cron: '*/15 2 * * *',
      durationMs: 10 * 60_000,
      timezone: 'Europe/Berlin',
    };
    expect(openings(quarterly, '2026-03-28T23:00Z', '2026-03-29T23:00Z')).toEqual([
      '2026-03-29T01:00..2026-03-29T01:10',
    ]);
    const twoAndThree: WindowSpec = {
      cron: '0 2,3 * * *',
      durationMs: 30 * 60_000,
      timezone: 'Europe/Berlin',
    };
    expect(openings(twoAndThree, '2026-03-28T23:00Z', '2026-03-29T23:00Z')).toEqual([
      '2026-03-29T01:00..2026-03-29T01:30',
    ]);
  });
  it('opens a time that occurs twice at its first occurrence (02:30 CEST, not CET)', () => {
    const nightly: WindowSpec = { cron: '30 2 * * *', durationMs: H, timezone: 'Europe/Berlin' };
    expect(openings(nightly, '2026-10-24T12:00Z', '2026-10-26T12:00Z')).toEqual([
      '2026-10-25T00:30..2026-10-25T01:30',
      '2026-10-26T01:30..2026-10-26T02:30',
    ]);
    // Every half hour: 02:00 and 02:30 open in CEST only; the repeated hour has no openings.
    const halfHourly: WindowSpec = {
      cron: '*/30 * * * *',
      durationMs: 30 * 60_000,
      timezone: 'Europe/Berlin',
    };
    expect(openings(halfHourly, '2026-10-24T23:45Z', '2026-10-25T02:15Z')).toEqual([
      '2026-10-24T23:30..2026-10-25T00:00',
      '2026-10-25T00:00..2026-10-25T00:30',
      '2026-10-25T00:30..2026-10-25T01:00',
      '2026-10-25T02:00..2026-10-25T02:30',
    ]);
  });
});

describe('windowOpenings: RRULE (America/New_York, DST from Sunday 2026-03-08 07:00 UTC)', () => {
  it('FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30: Saturdays are not the change day, 02:30 always exists', () => {
    const saturdays: WindowSpec = {
      rrule: 'FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30',
      durationMs: 2 * H,
      timezone: 'America/New_York',
    };
    expect(openings(saturdays, '2026-03-01T00:00Z', '2026-03-15T00:00Z')).toEqual([
      '2026-03-07T07:30..2026-03-07T09:30',
      '2026-03-14T06:30..2026-03-14T08:30',
    ]);
  });
  it('the same on Sundays: 02:30 on 2026-03-08 does not exist and opens at 03:00 EDT', () => {
    const sundays: WindowSpec = {
      rrule: 'FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30',
      durationMs: 2 * H,
      timezone: 'America/New_York',
    };
    expect(openings(sundays, '2026-03-01T00:00Z', '2026-03-16T00:00Z')).toEqual([
      '2026-03-01T07:30..2026-03-01T09:30',
      '2026-03-08T07:00..2026-03-08T09:00',
      '2026-03-15T06:30..2026-03-15T08:30',
    ]);
    // 2027: DST starts Sunday 2027-03-14; fall back Sunday 2027-11-07 (01:30 occurs twice, 02:30 once).
    expect(openings(sundays, '2027-03-14T00:00Z', '2027-03-15T00:00Z')).toEqual([
      '2027-03-14T07:00..2027-03-14T09:00',
    ]);
    expect(openings(sundays, '2027-11-07T00:00Z', '2027-11-08T00:00Z')).toEqual([
      '2027-11-07T07:30..2027-11-07T09:30',
    ]);
  });
  it('RRULE parts: the second Tuesday, an INTERVAL, UNTIL, and defaults from the period start', () => {
    const patchTuesday: WindowSpec = {
      rrule: 'FREQ=MONTHLY;BYDAY=2TU;BYHOUR=22',
      durationMs: H,
      timezone: 'Europe/Berlin',
    };
    expect(openings(patchTuesday, '2026-03-01T00:00Z', '2026-05-01T00:00Z')).toEqual([
      '2026-03-10T21:00..2026-03-10T22:00',
      '2026-04-14T20:00..2026-04-14T21:00',
    ]);
    // INTERVAL blocks count from 1970-01-01 (day 20542 = 2026-03-30 is even), not from the range asked for.
    const everyOtherDay: WindowSpec = {
      rrule: 'FREQ=DAILY;INTERVAL=2;BYHOUR=12',
      durationMs: H,
      timezone: 'UTC',
    };
    const expected = ['2026-03-30T12:00..2026-03-30T13:00', '2026-04-01T12:00..2026-04-01T13:00'];
    expect(openings(everyOtherDay, '2026-03-29T00:00Z', '2026-04-02T00:00Z')).toEqual(expected);
    expect(openings(everyOtherDay, '2026-03-30T00:00Z', '2026-04-02T00:00Z')).toEqual(expected);
    // UNTIL without Z is wall time in the window's timezone and inclusive; a date alone includes the day.
    const until: WindowSpec = {
      rrule: 'FREQ=DAILY;BYHOUR=22;UNTIL=20260302',
      durationMs: H,
      timezone: 'Europe/Berlin',
    };
    expect(openings(until, '2026-03-01T00:00Z', '2026-03-10T00:00Z')).toEqual([
      '2026-03-01T21:00..2026-03-01T22:00',
      '2026-03-02T21:00..2026-03-02T22:00',
    ]);
    const untilUtc: WindowSpec = {
      rrule: 'FREQ=DAILY;BYHOUR=22;UNTIL=20260302T210000Z',
      durationMs: H,
      timezone: 'Europe/Berlin',
    };
    expect(openings(untilUtc, '2026-03-01T00:00Z', '2026-03-10T00:00Z')).toHaveLength(2);
    // WEEKLY without BYDAY opens on the week start (Monday), DAILY without BYHOUR at midnight.
    const weekly: WindowSpec = { rrule: 'FREQ=WEEKLY', durationMs: H, timezone: 'UTC' };
    expect(openings(weekly, '2026-03-01T00:00Z', '2026-03-10T00:00Z')).toEqual([
      '2026-03-02T00:00..2026-03-02T01:00',
      '2026-03-09T00:00..2026-03-09T01:00',
    ]);
  });
});

describe('windowOpenings: year end and zones without DST', () => {
  it('0 23 31 12 *, 2h, crosses into the new year', () => {
    const yearEnd: WindowSpec = { cron: '0 23 31 12 *', durationMs: 2 * H, timezone: 'Europe/Berlin' };
    expect(openings(yearEnd, '2026-12-01T00:00Z', '2027-12-31T22:00Z')).toEqual([
      '2026-12-31T22:00..2027-01-01T00:00',
    ]);
    expect(openings({ ...yearEnd, timezone: 'UTC' }, '2026-12-31T23:30Z', '2027-01-01T00:30Z')).toEqual([
      '2026-12-31T23:00..2027-01-01T01:00',
    ]);
  });
  it('Asia/Kolkata (+05:30): 22:00 is 16:30 UTC, 01:30 the day before at 20:00 UTC', () => {
    expect(
      openings(
        { cron: '0 22 * * *', durationMs: H, timezone: 'Asia/Kolkata' },
        '2026-03-28T00:00Z',
        '2026-03-30T00:00Z',
      ),
    ).toEqual(['2026-03-28T16:30..2026-03-28T17:30', '2026-03-29T16:30..2026-03-29T17:30']);
    expect(
      openings(
        { cron: '30 1 * * 1', durationMs: H, timezone: 'Asia/Kolkata' },
        '2026-03-28T00:00Z',
        '2026-04-04T00:00Z',
      ),
    ).toEqual(['2026-03-29T20:00..2026-03-29T21:00']);
  });
  it('UTC and Asia/Tokyo (+09:00) are the same all year', () => {
    for (const [from, until] of [
      ['2026-03-28T00:00Z', '2026-03-30T00:00Z'],
      ['2026-10-24T00:00Z', '2026-10-26T00:00Z'],
    ] as const) {
      const day = from.slice(0, 8);
      const d1 = Number(from.slice(8, 10));
      const pad = (n: number) => String(n).padStart(2, '0');
      expect(openings({ cron: '0 22 * * *', durationMs: H, timezone: 'UTC' }, from, until)).toEqual([
        `${day}${pad(d1)}T22:00..${day}${pad(d1)}T23:00`,
        `${day}${pad(d1 + 1)}T22:00..${day}${pad(d1 + 1)}T23:00`,
      ]);
      expect(openings({ cron: '0 22 * * *', durationMs: H, timezone: 'Asia/Tokyo' }, from, until)).toEqual([
        `${day}${pad(d1)}T13:00..${day}${pad(d1)}T14:00`,
        `${day}${pad(d1 + 1)}T13:00..${day}${pad(d1 + 1)}T14:00`,
      ]);
    }
  });
});

describe('windowOpenings: Australia/Lord_Howe (a 30-minute DST shift)', () => {
  // DST starts Sunday 2026-10-04 at 02:00 (+10:30) → 02:30 (+11), i.e. 2026-10-03T15:30Z.
  it('02:15 on the change day does not exist and opens at 02:30 (+11)', () => {
    const spec: WindowSpec = { cron: '15 2 * * *', durationMs: H, timezone: 'Australia/Lord_Howe' };
    expect(openings(spec, '2026-10-02T00:00Z', '2026-10-05T00:00Z')).toEqual([
      '2026-10-02T15:45..2026-10-02T16:45',
      '2026-10-03T15:30..2026-10-03T16:30',
      '2026-10-04T15:15..2026-10-04T16:15',
    ]);
  });
  // DST ends Sunday 2026-04-05 at 02:00 (+11) → 01:30 (+10:30): 01:30-02:00 occurs twice.
  it('01:45 on the change day opens at its first occurrence (+11)', () => {
    const spec: WindowSpec = { cron: '45 1 * * *', durationMs: H, timezone: 'Australia/Lord_Howe' };
    expect(openings(spec, '2026-04-04T00:00Z', '2026-04-06T00:00Z')).toEqual([
      '2026-04-04T14:45..2026-04-04T15:45',
      '2026-04-05T15:15..2026-04-05T16:15',
    ]);
  });
});

describe('windowOpenings: edge cases', () => {
  const spec: WindowSpec = { cron: '0 22 * * *', durationMs: H, timezone: 'UTC' };
  it('an empty range or a zero duration has no openings', () => {
    expect(windowOpenings(spec, at('2026-01-02T00:00Z'), at('2026-01-01T00:00Z'))).toEqual([]);
    expect(
      windowOpenings({ ...spec, durationMs: 0 }, at('2026-01-01T00:00Z'), at('2026-01-09T00:00Z')),
    ).toEqual([]);
  });
  it('an UNTIL in the past has no openings', () => {
    const past: WindowSpec = { rrule: 'FREQ=DAILY;UNTIL=20200101', durationMs: H, timezone: 'UTC' };
    expect(windowOpenings(past, at('2026-01-01T00:00Z'), at('2026-02-01T00:00Z'))).toEqual([]);
  });
  it('an opening at the end of the range is not in it', () => {
    expect(openings(spec, '2026-01-01T00:00Z', '2026-01-01T22:00Z')).toEqual([]);
    expect(openings(spec, '2026-01-01T23:00Z', '2026-01-02T00:00Z')).toEqual([]);
  });
  it('throws on an invalid schedule (the config loader validates first)', () => {
    expect(() => windowOpenings({ ...spec, cron: '61 * * * *' }, 0, 1)).toThrow(/minute/);
    expect(() => windowOpenings({ rrule: 'BYDAY=MO', durationMs: H, timezone: 'UTC' }, 0, 1)).toThrow(/FREQ/);
  });
});
