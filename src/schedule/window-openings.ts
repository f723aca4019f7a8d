/** When a maintenance window opens and closes: its schedule read in its timezone, each opening a fixed real duration. */

import type { WindowSpec } from '../core/process.js';
import { cronWallTimes } from './cron-schedule.js';
import { parseRrule, rruleWallTimes } from './rrule-schedule.js';
import { DAY_MS, type WallMs, zoneClock } from './zoned-time.js';

export interface WindowOpening {
  /** Epoch ms, inclusive. */
  readonly opensAt: number;
  /** Epoch ms, exclusive: `opensAt + durationMs`. */
  readonly closesAt: number;
}

interface Schedule {
  wallTimes(fromWall: WallMs, toWall: WallMs): WallMs[];
  /** RRULE UNTIL, inclusive: wall time in the window's timezone, or an instant when written in UTC. */
  readonly until?: { readonly ms: number; readonly utc: boolean };
}

function scheduleOf(spec: WindowSpec): Schedule {
  if (spec.cron !== undefined) {
    const cron = spec.cron;
    return { wallTimes: (from, to) => cronWallTimes(cron, from, to) };
  }
  const parsed = parseRrule(spec.rrule ?? '');
  // The config loader runs validateWindow first; reaching this is a programming error.
  if ('error' in parsed) throw new Error(`invalid window schedule: ${parsed.error}`);
  const { rule } = parsed;
  return {
    wallTimes: (from, to) => rruleWallTimes(rule, from, to),
    ...(rule.until && { until: rule.until }),
  };
}

/**
 * Every opening of the window that overlaps [fromMs, untilMs), in order, including one that opened before
 * `fromMs` and is still open.
 *
 * The schedule (cron or RRULE) gives wall-clock times in `spec.timezone`; each opening then lasts
 * `durationMs` of real time: a 4h window opening at 01:00 on the night clocks go back (2026-10-25 in
 * Europe/Berlin) closes at 04:00 local time, after 4 hours, not at 05:00. Across DST changes:
 *
 * - A wall time that does not exist (the spring-forward gap, e.g. 02:30 on 2026-03-29 in Europe/Berlin)
 *   opens at the first instant after the gap: 03:00 local (01:00 UTC). Several scheduled times in one gap
 *   (`*\/15 2 * * *`) open once, as do a time in the gap and the time the gap ends at (`0 2,3 * * *`).
 *   Vixie cron does the same (jobs of the skipped hour run right after the change), and so does croner 11
 *   for a single time (`30 2 * * *`), though it skips the day for `0,30 2 * * *`.
 * - A wall time that occurs twice (the fall-back overlap, e.g. 02:30 on 2026-10-25 in Europe/Berlin) opens
 *   once, at its first occurrence (02:30 CEST, 00:30 UTC). So a sub-hourly or hourly schedule has no
 *   openings in the repeated hour (an hourly 1h window has a one-hour hole there); Vixie cron runs its
 *   wildcard jobs in the repeated hour again, and croner 11 does for some patterns (`0,30 2 * * *`), not
 *   others (`30 2 * * *`). Windows are meant to be fixed times, and "the window opens at 02:30" should not
 *   mean twice; an hourly window should be written as one longer window.
 *
 * The same rules apply to cron and RRULE windows: both are expanded in floating wall time (see zoned-time.ts)
 * and converted here.
 */
export function windowOpenings(spec: WindowSpec, fromMs: number, untilMs: number): WindowOpening[] {
  if (!(untilMs > fromMs) || !(spec.durationMs > 0)) return [];
  const earliest = fromMs - spec.durationMs;
  const schedule = scheduleOf(spec);
  const clock = zoneClock(spec.timezone, earliest - 2 * DAY_MS, untilMs + 2 * DAY_MS);
  const until = schedule.until;
  const last = until ? (until.utc ? until.ms : clock.toInstant(until.ms)) : Number.POSITIVE_INFINITY;
  if (last < earliest) return [];
  // Offsets lie within a day, so the wall times of the openings we want lie within a day of the range.
  const walls = schedule.wallTimes(earliest - DAY_MS, untilMs + DAY_MS);
  const out: WindowOpening[] = [];
  let previous = Number.NaN;
  for (const wall of walls) {
    const opensAt = clock.toInstant(wall);
    // toInstant never goes backwards; equal instants come from one spring-forward gap.
    if (opensAt === previous) continue;
    previous = opensAt;
    if (opensAt >= untilMs || opensAt > last) break;
    const closesAt = opensAt + spec.durationMs;
    if (closesAt > fromMs) out.push({ opensAt, closesAt });
  }
  return out;
}
