/** Freeze boundaries as written in a process file (an ISO date or date-time) to epoch ms. */

import { checkTimeZone, DAY_MS, wallToInstant } from './zoned-time.js';

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$/;

/**
 * `2026-12-20`, `2026-12-20T18:00`, `2026-12-20T18:00:30`, `2026-12-20T18:00+01:00` or `…Z` (a space may
 * stand for the T). Without an offset the text is wall-clock time in `timezone` (the environment's freeze
 * timezone, its first window's, or UTC), converted by the windows' DST rules: a time in a spring-forward gap
 * is the end of the gap, a time that occurs twice its first occurrence. A date alone is the start of that day,
 * or with `edge: 'end'` the start of the next day, so that `to: 2026-12-26` freezes the 26th as well.
 * Undefined when the text or the timezone is not valid.
 */
export function parseFreezeInstant(
  text: string,
  timezone: string,
  edge: 'start' | 'end' = 'start',
): number | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const field = (i: number) => (m[i] === undefined ? undefined : Number(m[i]));
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = [field(4), field(5), field(6) ?? 0];
  const dateOnly = h === undefined;
  const wall = Date.UTC(y, mo - 1, d, h ?? 0, mi ?? 0, s, Number((m[7] ?? '').padEnd(3, '0')));
  // Date.UTC rolls 2026-02-30 over into March; reading the fields back catches that (and hour 24, minute 60).
  const back = new Date(wall);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== (h ?? 0) ||
    back.getUTCMinutes() !== (mi ?? 0) ||
    back.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  if (m[8] !== undefined) return wall;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    return wall - (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  if (checkTimeZone(timezone) !== undefined) return undefined;
  return wallToInstant(timezone, dateOnly && edge === 'end' ? wall + DAY_MS : wall);
}
