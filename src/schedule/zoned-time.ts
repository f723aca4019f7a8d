/** Wall-clock time in IANA timezones (via Intl): offsets, and wall time → instant by the windows' DST rules. */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/**
 * "Wall time" throughout src/schedule is a *floating* epoch-ms number: the wall-clock fields read as if they
 * were UTC (`Date.UTC(y, m - 1, d, h, min)`). Cron and rrule (without `tzid`) expand schedules in it, with no
 * timezone involved, and `ZoneClock.toInstant` converts the result once, with the DST rules of windows.
 */
export type WallMs = number;

/**
 * How far apart two offset changes of one zone are at least. Offsets are sampled this often and the changes
 * found by bisection; tzdata has no zone (since well before 1970) changing offset twice within 6 hours.
 */
const SAMPLE_MS = 6 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * Why `zone` cannot be used, or undefined. Any name Intl resolves is accepted (links such as Asia/Calcutta
 * too); offsets like "+01:00" are not IANA names, and a wrongly cased name is reported with its spelling.
 */
export function checkTimeZone(zone: string): string | undefined {
  const unknown = `unknown timezone '${zone}' (use an IANA name such as Europe/Berlin or UTC)`;
  if (!/^[A-Za-z]/.test(zone)) return unknown;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return unknown;
  }
  if (resolved !== zone && resolved.toLowerCase() === zone.toLowerCase()) {
    return `timezone '${zone}' is spelled '${resolved}'`;
  }
  return undefined;
}

/** The wall-clock time (floating ms) at instant `ms` in `zone`. */
export function wallClock(zone: string, ms: number): WallMs {
  // Intl works in whole seconds: format the second, keep the milliseconds.
  const rest = ((ms % 1000) + 1000) % 1000;
  const f: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(ms - rest)) {
    if (part.type !== 'literal') f[part.type] = Number(part.value);
  }
  return Date.UTC(f.year ?? 0, (f.month ?? 1) - 1, f.day, f.hour, f.minute, f.second) + rest;
}

/** The zone's UTC offset at instant `ms`, in ms (east positive: +3_600_000 for CET). */
export function offsetAt(zone: string, ms: number): number {
  return wallClock(zone, ms) - ms;
}

/** A zone's offsets over a span of time, for converting many wall times cheaply (see `zoneClock`). */
export interface ZoneClock {
  /** The UTC offset at instant `ms`, in ms. */
  offsetAt(ms: number): number;
  /**
   * The instant a wall time occurs. A wall time that does not exist (skipped by a forward change, e.g.
   * 02:30 on the day Europe/Berlin springs forward) gives the first instant after the gap (03:00 local);
   * one that occurs twice (a backward change) gives the first occurrence.
   */
  toInstant(wall: WallMs): number;
}

/**
 * The offsets of `zone` between `fromMs` and `toMs` (instants), found once so that converting every
 * opening of a long search costs arithmetic rather than Intl calls. Queries outside the span still work;
 * they just look the offsets up again.
 */
export function zoneClock(zone: string, fromMs: number, toMs: number): ZoneClock {
  // Segment i has offset offsets[i] from starts[i] (an instant) until starts[i + 1].
  const starts: number[] = [Number.NEGATIVE_INFINITY];
  const offsets: number[] = [offsetAt(zone, fromMs)];
  for (let t = fromMs + SAMPLE_MS; t < toMs + SAMPLE_MS; t += SAMPLE_MS) {
    const before = offsets[offsets.length - 1] as number;
    const after = offsetAt(zone, t);
    if (after === before) continue;
    // Offsets change on whole seconds: bisect on seconds for the first one with the new offset.
    let lo = Math.floor((t - SAMPLE_MS) / 1000) * 1000;
    let hi = Math.ceil(t / 1000) * 1000;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (offsetAt(zone, mid) === before) lo = mid;
      else hi = mid;
    }
    starts.push(hi);
    offsets.push(after);
  }
  const covers = (ms: number) => ms >= fromMs && ms <= toMs;

  // Index of the segment containing instant `ms`.
  const segmentAt = (ms: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= ms) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  return {
    offsetAt(ms) {
      return covers(ms) ? (offsets[segmentAt(ms)] as number) : offsetAt(zone, ms);
    },
    toInstant(wall) {
      // Offsets lie within ±1 day, so the instant lies within a day of the wall time read as UTC.
      if (!covers(wall - DAY_MS) || !covers(wall + DAY_MS)) {
        return zoneClock(zone, wall - 2 * DAY_MS, wall + 2 * DAY_MS).toInstant(wall);
      }
      const first = segmentAt(wall - DAY_MS);
      const last = segmentAt(wall + DAY_MS);
      // In segment order, the first segment that holds `wall - offset` is the earliest occurrence.
      for (let i = first; i <= last; i++) {
        const t = wall - (offsets[i] as number);
        if (t >= (starts[i] as number) && (i + 1 >= starts.length || t < (starts[i + 1] as number))) return t;
      }
      // No occurrence: the wall time falls in the gap of a forward change, which opens at the change.
      for (let i = Math.max(first, 1); i <= last; i++) {
        const change = starts[i] as number;
        if (wall >= change + (offsets[i - 1] as number) && wall < change + (offsets[i] as number))
          return change;
      }
      throw new Error(`no instant found for wall time ${new Date(wall).toISOString()} in ${zone}`);
    },
  };
}

/** The instant of one wall time in `zone`, by the rules of `ZoneClock.toInstant`. */
export function wallToInstant(zone: string, wall: WallMs): number {
  return zoneClock(zone, wall - 2 * DAY_MS, wall + 2 * DAY_MS).toInstant(wall);
}
