/**
 * windowStatus and windowOpenings against an independent reference: a brute-force walk, minute by real
 * minute, that reads each minute's wall clock from Intl and matches it against the schedule's fields.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FreezeSpec, WindowSpec } from '../core/process.js';
import { windowOpenings } from './window-openings.js';
import { windowStatus } from './window-status.js';

const MIN = 60_000;
const DAY_MIN = 1440;
/** The reference looks this far ahead; generated schedules open at least weekly, so it finds the next opening. */
const SCAN_DAYS = 9;
const ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'America/Sao_Paulo',
  'Australia/Sydney',
  'Asia/Kolkata',
  'UTC',
  'Pacific/Auckland',
] as const;

// ---------------------------------------------------------------------------------------------------------
// The reference. It shares no code with src/schedule: its own Intl reading, its own field matching, and the
// DST rules stated directly: walking real minutes in order, a minute opens the window when a wall minute it
// reaches for the first time (the wall minutes skipped by a gap included) matches the schedule.
// ---------------------------------------------------------------------------------------------------------

const readers = new Map<string, Intl.DateTimeFormat>();
/** The zone's offset in whole minutes at real minute `m` (minutes since the epoch). */
function offsetMinutes(zone: string, m: number): number {
  let f = readers.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    readers.set(zone, f);
  }
  const p: Record<string, number> = Object.fromEntries(
    f.formatToParts(m * MIN).map((x) => [x.type, Number(x.value)]),
  );
  return Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute) / MIN - m;
}

/**
 * The wall minute (floating minutes since the epoch) of every real minute in [from, to). Intl is read at both
 * ends of each hour and, where they differ (a change inside), at every minute of it.
 */
function wallMinutes(zone: string, from: number, to: number): Int32Array {
  const out = new Int32Array(to - from);
  for (let b = from; b < to; b += 60) {
    const end = Math.min(b + 60, to);
    const o = offsetMinutes(zone, b);
    const same = o === offsetMinutes(zone, end - 1);
    for (let m = b; m < end; m++) out[m - from] = m + (same ? o : offsetMinutes(zone, m));
  }
  return out;
}

/** What a generated schedule matches, as plain sets over wall-clock fields. */
interface Fields {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** Day of month; null when unrestricted. */
  readonly dom: ReadonlySet<number> | null;
  /** Weekday, 0 = Sunday; null when unrestricted. */
  readonly dow: ReadonlySet<number> | null;
  /** RRULE DAILY;INTERVAL=n: only days whose number since 1970-01-01 is a multiple of n. */
  readonly everyNthDay: number;
}

function matches(f: Fields, wall: number): boolean {
  if (!f.minutes.has(((wall % 60) + 60) % 60) || !f.hours.has(Math.floor(wall / 60) % 24)) return false;
  const day = Math.floor(wall / DAY_MIN);
  if (day % f.everyNthDay !== 0) return false;
  const dowOk = f.dow?.has((day + 4) % 7);
  const domOk = f.dom?.has(new Date(day * DAY_MIN * MIN).getUTCDate());
  // Vixie cron: when both are restricted, either may match.
  if (f.dom && f.dow) return Boolean(domOk || dowOk);
  return domOk !== false && dowOk !== false;
}

interface Model {
  readonly spec: WindowSpec;
  readonly fields: Fields;
}

/** Real minutes in [from, to) at which the window opens. */
function referenceOpenings(model: Model, from: number, to: number): number[] {
  const walls = wallMinutes(model.spec.timezone, from, to);
  const out: number[] = [];
  let reached = (walls[0] as number) - 1;
  for (let i = 0; i < walls.length; i++) {
    const w = walls[i] as number;
    for (let x = reached + 1; x <= w; x++) {
      if (matches(model.fields, x)) {
        out.push(from + i);
        break;
      }
    }
    reached = Math.max(reached, w);
  }
  return out;
}

type Expected =
  | { state: 'open'; closesAt: number | 'beyond' }
  | { state: 'closed'; opensAt: number; closesAt: number | 'beyond' }
  /** Nothing fits within the scan: windowStatus must say 'never' or a later opening. */
  | { state: 'later' };

function reference(models: Model[], freeze: FreezeSpec | undefined, nowMs: number, needMs: number) {
  const now = Math.floor(nowMs / MIN);
  const longest = Math.max(...models.map((m) => m.spec.durationMs / MIN));
  const from = now - longest - 120;
  const to = now + SCAN_DAYS * DAY_MIN;
  const open = new Uint8Array(to - from);
  const openings = models.map((model) => {
    const starts = referenceOpenings(model, from, to);
    for (const s of starts) open.fill(1, s - from, Math.min(to, s + model.spec.durationMs / MIN) - from);
    return starts;
  });
  // Clamped: a negative end would count from the end of the array.
  const clamp = (m: number) => Math.min(to, Math.max(from, m)) - from;
  if (freeze) open.fill(0, clamp(freeze.fromMs / MIN), clamp(freeze.toMs / MIN));

  const runEnd = (i: number) => {
    let j = i;
    while (j < open.length && open[j]) j++;
    return j;
  };
  const endOf = (j: number): number | 'beyond' => (j === open.length ? 'beyond' : (from + j) * MIN);
  const fits = (startMs: number, j: number) =>
    (j === open.length ? to * MIN : (from + j) * MIN) - startMs >= needMs;
  let expected: Expected = { state: 'later' };
  let i = now - from;
  if (open[i]) {
    const e = runEnd(i);
    if (fits(nowMs, e)) expected = { state: 'open', closesAt: endOf(e) };
    i = e;
  }
  while (expected.state === 'later') {
    while (i < open.length && !open[i]) i++;
    if (i >= open.length) break;
    const e = runEnd(i);
    if (fits((from + i) * MIN, e))
      expected = { state: 'closed', opensAt: (from + i) * MIN, closesAt: endOf(e) };
    // A run reaching the end of the scan may go on: whether it fits is then unknown.
    if (e === open.length) break;
    i = e;
  }
  return { expected, openings, scanEnd: to * MIN, laterThan: (from + i) * MIN };
}

// ---------------------------------------------------------------------------------------------------------
// Generators: cron and RRULE schedules that open at least weekly, with the sets they should match.
// ---------------------------------------------------------------------------------------------------------

type Field = [text: string, values: number[]];
const range = (a: number, b: number, step = 1) =>
  Array.from({ length: Math.floor((b - a) / step) + 1 }, (_, k) => a + k * step);
const list = (max: number, min = 0, n = 3): fc.Arbitrary<Field> =>
  fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: n }).map((v) => [v.join(','), v]);
const single = (max: number, min = 0): fc.Arbitrary<Field> =>
  fc.integer({ min, max }).map((n) => [`${n}`, [n]]);

const minuteField: fc.Arbitrary<Field> = fc.oneof(
  single(59),
  list(59),
  fc.constantFrom(15, 20, 30).map((s): Field => [`*/${s}`, range(0, 59, s)]),
  fc
    .tuple(fc.integer({ min: 0, max: 19 }), fc.constantFrom(10, 15, 20), fc.integer({ min: 1, max: 2 }))
    .map(([a, s, k]): Field => [`${a}-${a + s * k}/${s}`, range(a, a + s * k, s)]),
  fc.integer({ min: 0, max: 57 }).map((a): Field => [`${a}-${a + 2}`, range(a, a + 2)]),
);
const hourField: fc.Arbitrary<Field> = fc.oneof(
  // The hours DST changes happen in (01:00-03:00 local in these zones), often.
  {
    weight: 4,
    arbitrary: fc.constantFrom<Field>(
      ['2', [2]],
      ['1', [1]],
      ['1-3', [1, 2, 3]],
      ['2,3', [2, 3]],
      ['0-2', [0, 1, 2]],
    ),
  },
  { weight: 1, arbitrary: single(3) },
  { weight: 2, arbitrary: single(23) },
  { weight: 2, arbitrary: list(23, 0, 4) },
  { weight: 1, arbitrary: list(4, 0, 3) },
  { weight: 1, arbitrary: fc.constantFrom(3, 4, 6, 8, 12).map((s): Field => [`*/${s}`, range(0, 23, s)]) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 3 }))
      .map(([a, n]): Field => [`${a}-${a + n}`, range(a, a + n)]),
  },
);
const NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const dowField: fc.Arbitrary<Field | null> = fc.oneof(
  // DST changes happen on Sundays: every day, often.
  { weight: 4, arbitrary: fc.constant(null) },
  single(7).map(([t, [n]]): Field => [t, [(n as number) % 7]]),
  list(6, 0, 3),
  fc.constant<Field>(['1-5', [1, 2, 3, 4, 5]]),
  fc.constant<Field>(['MON-FRI', [1, 2, 3, 4, 5]]),
  fc.integer({ min: 0, max: 6 }).map((n): Field => [NAMES[n] as string, [n]]),
  fc.constant<Field>(['6,7', [6, 0]]),
);
const domField: fc.Arbitrary<Field | null> = fc.oneof(fc.constant(null), single(31, 1), list(31, 1, 3));

const cronFields = fc
  .record({ minute: minuteField, hour: hourField, dow: dowField, dom: domField })
  // An unrestricted day of week with a restricted day of month may not open within the scan.
  .map(({ minute, hour, dow, dom }) => {
    const domUsed = dow ? dom : null;
    return {
      schedule: { cron: `${minute[0]} ${hour[0]} ${domUsed ? domUsed[0] : '*'} * ${dow ? dow[0] : '*'}` },
      fields: {
        minutes: new Set(minute[1]),
        hours: new Set(hour[1]),
        dom: domUsed ? new Set(domUsed[1]) : null,
        dow: dow ? new Set(dow[1]) : null,
        everyNthDay: 1,
      } satisfies Fields,
    };
  });

const RRULE_DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];
const rruleFields = fc
  .record({
    weekly: fc.boolean(),
    hours: fc.option(
      fc.oneof(
        fc.constantFrom([2], [1], [1, 2], [3, 2]),
        fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 3 }),
      ),
    ),
    minutes: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { minLength: 1, maxLength: 3 })),
    days: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 }),
    dailyDays: fc.boolean(),
    everyOtherDay: fc.boolean(),
  })
  .map(({ weekly, hours, minutes, days, dailyDays, everyOtherDay }) => {
    const byDay = weekly || dailyDays;
    const interval = !weekly && !byDay && everyOtherDay ? 2 : 1;
    const parts = [
      `FREQ=${weekly ? 'WEEKLY' : 'DAILY'}`,
      ...(interval > 1 ? [`INTERVAL=${interval}`] : []),
      ...(byDay ? [`BYDAY=${days.map((d) => RRULE_DAYS[d]).join(',')}`] : []),
      ...(hours ? [`BYHOUR=${hours.join(',')}`] : []),
      ...(minutes ? [`BYMINUTE=${minutes.join(',')}`] : []),
    ];
    return {
      schedule: { rrule: parts.join(';') },
      // Parts left out default to the period start: 00:00.
      fields: {
        minutes: new Set(minutes ?? [0]),
        hours: new Set(hours ?? [0]),
        dom: null,
        dow: byDay ? new Set(days) : null,
        everyNthDay: interval,
      } satisfies Fields,
    };
  });

/** Per zone, the approximate instants of its DST changes in 2025-2028 and its year ends, to aim `now` at. */
const HOT_SPOTS: ReadonlyMap<string, number[]> = new Map(
  ZONES.map((zone) => {
    const spots = [2025, 2026, 2027, 2028].map((y) => Date.UTC(y, 11, 31, 12));
    let before = offsetMinutes(zone, Date.UTC(2025, 0, 1) / MIN);
    for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2029, 0, 1); t += 6 * 60 * MIN) {
      const o = offsetMinutes(zone, t / MIN);
      if (o !== before) spots.push(t);
      before = o;
    }
    return [zone, spots];
  }),
);

/** Any time in 2025-2028, or (more often) up to three days before a DST change or year end of `zone`. */
const nowNear = (zone: string) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2029, 0, 1) }) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...(HOT_SPOTS.get(zone) as number[])),
          // Mostly before the change, so that the scan (from now on) crosses it.
          fc.integer({ min: -3 * DAY_MIN * MIN, max: 6 * 60 * MIN }),
        )
        .map(([t, d]) => t + d),
    },
  );

function windowArb(
  schedules: fc.Arbitrary<{ schedule: { cron: string } | { rrule: string }; fields: Fields }>,
) {
  return fc
    .record({
      s: schedules,
      // Zones with DST changes, more often.
      timezone: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom(...ZONES.filter((z) => (HOT_SPOTS.get(z) as number[]).length > 4)),
        },
        { weight: 1, arbitrary: fc.constantFrom(...ZONES) },
      ),
      minutes: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 240 }) },
        fc.integer({ min: 241, max: 1560 }),
      ),
    })
    .map(
      ({ s, timezone, minutes }): Model => ({
        spec: { ...s.schedule, timezone, durationMs: minutes * MIN },
        fields: s.fields,
      }),
    );
}

function scenario(schedules: Parameters<typeof windowArb>[0]) {
  return fc
    .record({
      windows: fc.array(windowArb(schedules), { minLength: 1, maxLength: 2 }),
      freeze: fc.option(
        fc.record({
          start: fc.integer({ min: -2 * DAY_MIN, max: 3 * DAY_MIN }),
          length: fc.integer({ min: 1, max: 2 * DAY_MIN }),
        }),
        { freq: 2 },
      ),
      need: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 10 * 60 * MIN }),
        fc.integer({ min: -2, max: 0 }).map((k) => ({ fromDuration: k })),
      ),
    })
    .chain((drawn) => nowNear((drawn.windows[0] as Model).spec.timezone).map((now) => ({ ...drawn, now })))
    .map(({ windows, now, freeze, need }): Scenario => {
      const first = windows[0] as Model;
      const nowMin = Math.floor(now / MIN);
      return {
        windows,
        now,
        freezes: freeze
          ? [
              {
                fromMs: (nowMin + freeze.start) * MIN,
                toMs: (nowMin + freeze.start + freeze.length) * MIN,
                reason: 'test',
              },
            ]
          : [],
        // A need exactly as long as a window (or a minute or two shorter) probes the fit boundary.
        need: typeof need === 'number' ? need : first.spec.durationMs + need.fromDuration * MIN,
      };
    });
}

interface Scenario {
  readonly windows: Model[];
  readonly now: number;
  readonly freezes: FreezeSpec[];
  readonly need: number;
}

function check({ windows, now, freezes, need }: Scenario) {
  const { expected, openings, scanEnd, laterThan } = reference(windows, freezes[0], now, need);

  // Every opening of each window in the week from now, to the minute.
  const weekEnd = now + 7 * DAY_MIN * MIN;
  windows.forEach((model, k) => {
    const mine = windowOpenings(model.spec, now, weekEnd).map((o) => o.opensAt);
    const theirs = (openings[k] as number[])
      .map((m) => m * MIN)
      .filter((t) => t < weekEnd && t + model.spec.durationMs > now);
    expect(mine, `openings of ${JSON.stringify(model.spec)}`).toEqual(theirs);
  });

  const actual = windowStatus({ windows: windows.map((w) => w.spec), freezes }, now, need);
  const atOrBeyond = (closesAt: number | null) => closesAt === null || closesAt >= scanEnd;
  switch (expected.state) {
    case 'open':
      expect(actual.state).toBe('open');
      if (actual.state !== 'open') return;
      if (expected.closesAt === 'beyond') expect(atOrBeyond(actual.closesAt)).toBe(true);
      else expect(actual.closesAt).toBe(expected.closesAt);
      return;
    case 'closed':
      expect(actual).toMatchObject({ state: 'closed', opensAt: expected.opensAt });
      if (actual.state !== 'closed') return;
      if (expected.closesAt === 'beyond') expect(atOrBeyond(actual.closesAt)).toBe(true);
      else expect(actual.closesAt).toBe(expected.closesAt);
      return;
    case 'later':
      if (actual.state !== 'never') {
        expect(actual.state).toBe('closed');
        if (actual.state === 'closed') expect(actual.opensAt).toBeGreaterThanOrEqual(laterThan);
      }
  }
}

describe('windowStatus agrees with a minute-by-minute reference', () => {
  it('for cron windows in DST, half-hour and fixed-offset zones', () => {
    fc.assert(
      fc.property(scenario(cronFields), (s) => check(s)),
      { numRuns: 200 },
    );
  });
  it('for RRULE windows (DAILY/WEEKLY with BYDAY, BYHOUR, BYMINUTE, INTERVAL)', () => {
    fc.assert(
      fc.property(scenario(rruleFields), (s) => check(s)),
      { numRuns: 100 },
    );
  });
});
