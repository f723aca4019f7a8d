/** Instants as people read them: the wall-clock time in a timezone, with UTC and the reader's own zone alongside. */

import { wallClock } from './zoned-time.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD` and `HH:MM` (`HH:MM:SS` when the seconds are not zero) of a floating wall time. */
function parts(wall: number): { date: string; time: string } {
  const d = new Date(wall);
  const seconds = d.getUTCSeconds();
  return {
    date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? `:${pad(seconds)}` : ''}`,
  };
}

/** Whether the zone is UTC under another name (Etc/UTC, Zulu, …), so a "(… UTC)" would repeat it. */
function isUtc(zone: string): boolean {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone === 'UTC';
  } catch {
    return false;
  }
}

/** The time in another zone, with its date only when that differs from `date`. */
function alongside(ms: number, zone: string, label: string, date: string): string {
  const p = parts(wallClock(zone, ms));
  return `${p.date === date ? '' : `${p.date} `}${p.time} ${label}`;
}

/** E.g. `2026-12-05 22:00 Europe/Berlin (21:00 UTC)`; `2026-12-05 21:00 UTC` for UTC itself. */
export function describeInstant(ms: number, timezone: string): string {
  const local = parts(wallClock(timezone, ms));
  if (isUtc(timezone)) return `${local.date} ${local.time} UTC`;
  return `${local.date} ${local.time} ${timezone} (${alongside(ms, 'UTC', 'UTC', local.date)})`;
}

/** The timezone of the machine Slipway runs on, i.e. of the person at the terminal. */
export function userTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * `describeInstant` plus the reader's own time when their zone is neither the window's nor UTC, e.g.
 * `2026-12-05 22:00 Europe/Berlin (21:00 UTC; your time 16:00 America/New_York)`.
 */
export function describeInstantForUser(ms: number, timezone: string, userZone = userTimeZone()): string {
  const described = describeInstant(ms, timezone);
  if (userZone === timezone || isUtc(userZone)) return described;
  const local = parts(wallClock(timezone, ms));
  const yours = `your time ${alongside(ms, userZone, userZone, local.date)}`;
  return isUtc(timezone) ? `${described} (${yours})` : `${described.slice(0, -1)}; ${yours})`;
}

/**
 * A compact form for messages about the near future: `23:30 Europe/Berlin` when on the same local day as
 * `nowMs`, else with the date, `2026-11-30 00:00 UTC`.
 */
export function describeSoon(ms: number, timezone: string, nowMs: number): string {
  const at = parts(wallClock(timezone, ms));
  const today = parts(wallClock(timezone, nowMs)).date;
  const label = isUtc(timezone) ? 'UTC' : timezone;
  return `${at.date === today ? '' : `${at.date} `}${at.time} ${label}`;
}
