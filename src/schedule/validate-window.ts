/** Checks a maintenance window's schedule and timezone, with messages short enough to show at file:line:col. */

import { checkCron } from './cron-schedule.js';
import { parseRrule, rruleEverOccurs } from './rrule-schedule.js';
import { checkTimeZone } from './zoned-time.js';

export interface WindowScheduleSpec {
  readonly cron?: string | undefined;
  readonly rrule?: string | undefined;
  readonly timezone: string;
}

/** The first thing wrong with the window (naming the bad value), or undefined when it can be used. */
export function validateWindow(spec: WindowScheduleSpec): string | undefined {
  if (spec.cron !== undefined && spec.rrule !== undefined)
    return 'a window has either cron or rrule, not both';
  if (spec.cron === undefined && spec.rrule === undefined) return 'a window needs cron or rrule';
  const zone = checkTimeZone(spec.timezone);
  if (zone) return zone;
  if (spec.cron !== undefined) return checkCron(spec.cron);
  const parsed = parseRrule(spec.rrule as string);
  if ('error' in parsed) return parsed.error;
  if (!rruleEverOccurs(parsed.rule)) return `RRULE '${spec.rrule}' never occurs`;
  return undefined;
}
