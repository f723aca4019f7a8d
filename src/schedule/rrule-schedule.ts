/** RFC 5545 RRULE schedules: a strict parser and expansion into wall times (rrule, in floating time). */

import * as rruleModule from 'rrule';
import { DAY_MS, HOUR_MS, MINUTE_MS, type WallMs } from './zoned-time.js';

// rrule ships a CommonJS bundle whose exports Node's ESM loader cannot name: `import { RRule } from 'rrule'`
// type-checks but fails under plain Node ("Named export 'RRule' not found"), where the exports sit on
// `default`; under esbuild/tsx's CommonJS interop they are the namespace itself. Take whichever is there.
const rrule = (rruleModule as unknown as { default?: typeof rruleModule }).default ?? rruleModule;
const { RRule, Weekday } = rrule;

const FREQS = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY', 'HOURLY', 'MINUTELY'] as const;
type Freq = (typeof FREQS)[number];
/** rrule's weekday numbering: Monday 0 … Sunday 6. */
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

/** A parsed RRULE; `until` is kept apart because windowOpenings applies it after the timezone. */
export interface RecurrenceRule {
  readonly freq: Freq;
  readonly interval: number;
  /** Week start, 0 = Monday. @default 0 */
  readonly wkst: number;
  readonly bymonth?: readonly number[];
  readonly byweekno?: readonly number[];
  readonly byyearday?: readonly number[];
  readonly bymonthday?: readonly number[];
  /** Weekday 0 = Monday; `n` is the ordinal of `2TU` / `-1FR` (MONTHLY and YEARLY only). */
  readonly byday?: readonly { readonly weekday: number; readonly n?: number }[];
  readonly byhour?: readonly number[];
  readonly byminute?: readonly number[];
  readonly bysetpos?: readonly number[];
  /** Inclusive. `utc` when written with a trailing Z; otherwise wall time in the window's timezone. */
  readonly until?: { readonly ms: number; readonly utc: boolean };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const KNOWN = new Set([
  'FREQ',
  'INTERVAL',
  'UNTIL',
  'COUNT',
  'WKST',
  'BYSECOND',
  'BYMINUTE',
  'BYHOUR',
  'BYDAY',
  'BYMONTHDAY',
  'BYYEARDAY',
  'BYWEEKNO',
  'BYMONTH',
  'BYSETPOS',
]);

/** Parses `text` strictly (rrule's own parser accepts BYHOUR=25, BYDAY=XX and silently drops TZID). */
export function parseRrule(text: string): { rule: RecurrenceRule } | { error: string } {
  const fail = (error: string) => ({ error });
  const source = text.trim();
  if (/DTSTART/i.test(source)) {
    return fail('DTSTART is not allowed in an RRULE: windows are anchored by their timezone and schedule');
  }
  if (/[\r\n]/.test(source)) return fail('an RRULE is one line, e.g. FREQ=WEEKLY;BYDAY=SA;BYHOUR=22');
  const body = source.replace(/^RRULE:/i, '');
  if (body === '') return fail('RRULE is empty');
  const parts = new Map<string, string>();
  for (const part of body.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) return fail(`bad RRULE part '${part}' (expected NAME=VALUE)`);
    const name = part.slice(0, eq).trim().toUpperCase();
    const value = part
      .slice(eq + 1)
      .trim()
      .toUpperCase();
    if (name === 'TZID') return fail("TZID is not allowed in an RRULE: set the window's timezone instead");
    if (!KNOWN.has(name)) return fail(`unknown RRULE part '${name}'`);
    if (parts.has(name)) return fail(`RRULE part ${name} is given twice`);
    parts.set(name, value);
  }

  const freq = parts.get('FREQ');
  if (freq === undefined) return fail('RRULE needs FREQ, e.g. FREQ=WEEKLY;BYDAY=SA;BYHOUR=22');
  if (freq === 'SECONDLY') return fail('FREQ=SECONDLY is not supported: windows open on whole minutes');
  if (!(FREQS as readonly string[]).includes(freq))
    return fail(`bad FREQ '${freq}' (use ${FREQS.join(', ')})`);
  if (parts.has('COUNT')) {
    return fail('COUNT is not supported: a window has no first occurrence to count from (use UNTIL)');
  }
  if (parts.has('BYSECOND')) return fail('BYSECOND is not supported: windows open on whole minutes');

  const rule: Mutable<RecurrenceRule> = { freq: freq as Freq, interval: 1, wkst: 0 };
  const ints = (name: string, min: number, max: number, signed: boolean): number[] | string => {
    const value = parts.get(name) as string;
    const out: number[] = [];
    for (const item of value.split(',')) {
      const n = /^[+-]?\d{1,4}$/.test(item) ? Number(item) : Number.NaN;
      const ok = signed
        ? Math.abs(n) >= min && Math.abs(n) <= max
        : n >= min && n <= max && !/^[+-]/.test(item);
      if (!ok) {
        const range = signed ? `${min} to ${max} or -${max} to -${min}` : `${min} to ${max}`;
        return `bad ${name} '${item}' in RRULE (${range})`;
      }
      out.push(n);
    }
    return out;
  };
  const lists: [keyof RecurrenceRule, string, number, number, boolean][] = [
    ['bymonth', 'BYMONTH', 1, 12, false],
    ['byweekno', 'BYWEEKNO', 1, 53, true],
    ['byyearday', 'BYYEARDAY', 1, 366, true],
    ['bymonthday', 'BYMONTHDAY', 1, 31, true],
    ['byhour', 'BYHOUR', 0, 23, false],
    ['byminute', 'BYMINUTE', 0, 59, false],
    ['bysetpos', 'BYSETPOS', 1, 366, true],
  ];
  for (const [key, name, min, max, signed] of lists) {
    if (!parts.has(name)) continue;
    const values = ints(name, min, max, signed);
    if (typeof values === 'string') return fail(values);
    (rule as Record<string, unknown>)[key] = values;
  }
  if (parts.has('INTERVAL')) {
    const interval = parts.get('INTERVAL') as string;
    if (!/^\d{1,4}$/.test(interval) || Number(interval) < 1) {
      return fail(`bad INTERVAL '${interval}' in RRULE (a whole number from 1)`);
    }
    rule.interval = Number(interval);
  }
  if (parts.has('WKST')) {
    const wkst = WEEKDAYS.indexOf(parts.get('WKST') as (typeof WEEKDAYS)[number]);
    if (wkst < 0) return fail(`bad WKST '${parts.get('WKST')}' in RRULE (MO, TU, WE, TH, FR, SA or SU)`);
    rule.wkst = wkst;
  }
  if (parts.has('BYDAY')) {
    const days: { weekday: number; n?: number }[] = [];
    for (const item of (parts.get('BYDAY') as string).split(',')) {
      const m = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item);
      const n = m?.[1] === undefined ? undefined : Number(m[1]);
      if (!m || (n !== undefined && (n === 0 || Math.abs(n) > 53))) {
        return fail(`bad BYDAY '${item}' in RRULE (e.g. MO, SA, 2TU or -1FR)`);
      }
      const weekday = WEEKDAYS.indexOf(m[2] as (typeof WEEKDAYS)[number]);
      if (n !== undefined && freq !== 'MONTHLY' && freq !== 'YEARLY') {
        return fail(`BYDAY '${item}' with a position needs FREQ=MONTHLY or YEARLY`);
      }
      if (n !== undefined && freq === 'YEARLY' && parts.has('BYWEEKNO')) {
        return fail(`BYDAY '${item}' with a position cannot be combined with BYWEEKNO`);
      }
      days.push(n === undefined ? { weekday } : { weekday, n });
    }
    rule.byday = days;
  }
  // The combinations RFC 5545 (3.3.10) rules out.
  if (rule.bymonthday && freq === 'WEEKLY') return fail('BYMONTHDAY cannot be used with FREQ=WEEKLY');
  if (rule.byyearday && (freq === 'DAILY' || freq === 'WEEKLY' || freq === 'MONTHLY')) {
    return fail(`BYYEARDAY cannot be used with FREQ=${freq}`);
  }
  if (rule.byweekno && freq !== 'YEARLY') return fail('BYWEEKNO needs FREQ=YEARLY');
  if (rule.bysetpos && ![...parts.keys()].some((k) => k.startsWith('BY') && k !== 'BYSETPOS')) {
    return fail('BYSETPOS needs another BY… part to pick from');
  }
  // Within one hour or minute there is at most one opening: nothing to pick a position from.
  if (rule.bysetpos && (freq === 'HOURLY' || freq === 'MINUTELY'))
    return fail(`BYSETPOS cannot be used with FREQ=${freq}`);
  const unreachable = reachability(rule);
  if (unreachable) return fail(unreachable);
  if (parts.has('UNTIL')) {
    const until = parseUntil(parts.get('UNTIL') as string);
    if (!until) return fail(`bad UNTIL '${parts.get('UNTIL')}' in RRULE (e.g. 20271231 or 20271231T235900Z)`);
    rule.until = until;
  }
  return { rule };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * rrule 2.8 steps HOURLY and MINUTELY rules in a loop that ends only on an hour (minute) in BYHOUR
 * (BYMINUTE), so a rule whose INTERVAL never lands on one hangs the process (python-dateutil detects this;
 * the port does not). Our DTSTART puts INTERVAL blocks on multiples of INTERVAL since 1970, so the hours
 * reached are the multiples of gcd(INTERVAL, 24), the minutes those of INTERVAL when it divides 60. A
 * MINUTELY INTERVAL that does not divide 60 makes rrule step the hour by the overflow, with the same trap.
 */
function reachability(rule: RecurrenceRule): string | undefined {
  if (rule.freq === 'HOURLY' && rule.byhour) {
    const step = gcd(rule.interval, 24);
    if (!rule.byhour.some((h) => h % step === 0)) {
      return `BYHOUR never matches with FREQ=HOURLY;INTERVAL=${rule.interval} (it reaches hours that are multiples of ${step})`;
    }
  }
  if (rule.freq === 'MINUTELY') {
    if (60 % rule.interval !== 0)
      return `FREQ=MINUTELY needs an INTERVAL that divides 60, not ${rule.interval}`;
    if (rule.byminute && !rule.byminute.some((m) => m % rule.interval === 0)) {
      return `BYMINUTE never matches with FREQ=MINUTELY;INTERVAL=${rule.interval} (it reaches minutes that are multiples of ${rule.interval})`;
    }
  }
  return undefined;
}

/** `YYYYMMDD` (the whole day), `YYYYMMDDTHHMMSS` (wall time) or the same with `Z` (UTC). */
function parseUntil(value: string): { ms: number; utc: boolean } | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m
    .slice(1, 7)
    .map((v) => (v === undefined ? undefined : Number(v)));
  const ms = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  const back = new Date(ms);
  const valid =
    back.getUTCMonth() === (mo as number) - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === s;
  if (!valid) return undefined;
  // A date alone includes its whole day.
  return { ms: m[4] === undefined ? ms + DAY_MS - 1 : ms, utc: m[7] === 'Z' };
}

const floorDiv = (a: number, b: number) => Math.floor(a / b);
const ascending = (values: readonly number[]) => [...new Set(values)].sort((a, b) => a - b);

/**
 * Where the expansion starts. An RRULE needs a DTSTART; ours is the start of a FREQ period at or before the
 * range (minus one INTERVAL block, so that a period reaching back, like ISO week 1, is complete), with
 * INTERVAL blocks counted from 1970-01-01 (WEEKLY: from the first WKST day on or after it). So the result does
 * not depend on the range asked for, and parts left out default to the period's start: FREQ=DAILY opens at
 * 00:00, WEEKLY without BYDAY on the WKST day (Monday), MONTHLY without a day on the 1st, YEARLY in January.
 */
function anchorFor(rule: RecurrenceRule, fromWall: WallMs): number {
  const { interval } = rule;
  const at = new Date(fromWall);
  switch (rule.freq) {
    case 'YEARLY': {
      const years = floorDiv(at.getUTCFullYear() - interval - 1970, interval) * interval;
      return Date.UTC(1970 + years, 0, 1);
    }
    case 'MONTHLY': {
      const months = (at.getUTCFullYear() - 1970) * 12 + at.getUTCMonth() - interval;
      return Date.UTC(1970, floorDiv(months, interval) * interval, 1);
    }
    case 'WEEKLY': {
      // 1970-01-01 was a Thursday: the first Monday is day 4, the first Sunday day 3.
      const first = (4 + rule.wkst) % 7;
      const days = floorDiv(fromWall, DAY_MS) - 7 * interval;
      return (first + floorDiv(days - first, 7 * interval) * 7 * interval) * DAY_MS;
    }
    default: {
      const unit = rule.freq === 'DAILY' ? DAY_MS : rule.freq === 'HOURLY' ? HOUR_MS : MINUTE_MS;
      const block = unit * interval;
      return floorDiv(fromWall - block, block) * block;
    }
  }
}

function build(rule: RecurrenceRule, fromWall: WallMs) {
  return new RRule({
    freq: RRule[rule.freq],
    interval: rule.interval,
    wkst: rule.wkst,
    dtstart: new Date(anchorFor(rule, fromWall)),
    tzid: null,
    ...(rule.bymonth && { bymonth: [...rule.bymonth] }),
    ...(rule.byweekno && { byweekno: [...rule.byweekno] }),
    ...(rule.byyearday && { byyearday: [...rule.byyearday] }),
    ...(rule.bymonthday && { bymonthday: [...rule.bymonthday] }),
    ...(rule.byday && { byweekday: rule.byday.map((d) => new Weekday(d.weekday, d.n)) }),
    // rrule builds the times of a day in the order given (dateutil sorts them): unsorted BYHOUR or BYMINUTE
    // would give occurrences out of order and make BYSETPOS pick the wrong one.
    ...(rule.byhour && { byhour: ascending(rule.byhour) }),
    ...(rule.byminute && { byminute: ascending(rule.byminute) }),
    ...(rule.bysetpos && { bysetpos: [...rule.bysetpos] }),
  });
}

/** Every wall time in [fromWall, toWall) the rule gives, in order, ignoring UNTIL (windowOpenings applies it). */
export function rruleWallTimes(rule: RecurrenceRule, fromWall: WallMs, toWall: WallMs): WallMs[] {
  return build(rule, fromWall)
    .between(new Date(fromWall), new Date(toWall), true)
    .map((d) => d.getTime())
    .filter((t) => t >= fromWall && t < toWall);
}

/**
 * Whether the rule occurs at all, ignoring UNTIL: BYMONTH=2;BYMONTHDAY=30 parses but never does.
 *
 * rrule's `between()` stops at the first occurrence after its end, so a rule without occurrences makes it
 * iterate up to rrule's last year, 9999 (about 7 s for a DAILY rule). We look in the 40 years before that
 * instead: they hold every weekday/date combination (which repeat every 28 years) and a February 29.
 */
export function rruleEverOccurs(rule: RecurrenceRule): boolean {
  const from = Date.UTC(9959, 0, 1);
  let found = false;
  build(rule, from).between(new Date(from), new Date(Date.UTC(10_000, 0, 1)), true, () => {
    found = true;
    return false;
  });
  return found;
}
