/** Maintenance windows and freezes: when production may be changed, and how to say when it next may. */

export { describeInstant, describeInstantForUser, describeSoon, userTimeZone } from './describe-instant.js';
export { parseFreezeInstant } from './freeze-instant.js';
export { validateWindow, type WindowScheduleSpec } from './validate-window.js';
export { type WindowOpening, windowOpenings } from './window-openings.js';
export {
  SEARCH_HORIZON_MS,
  type WindowedEnvironment,
  type WindowStatus,
  windowStatus,
} from './window-status.js';
