/** Whether an environment may be changed now (inside a window, outside freezes, for long enough), or when next. */

import { formatDuration } from '../core/duration.js';
import type { FreezeSpec, WindowSpec } from '../core/process.js';
import type { WindowStatus } from '../core/window-status.js';
import { describeSoon } from './describe-instant.js';
import { type WindowOpening, windowOpenings } from './window-openings.js';
import { DAY_MS } from './zoned-time.js';

/** How far ahead `windowStatus` looks for a moment that is open for long enough. */
export const SEARCH_HORIZON_MS = 400 * DAY_MS;

/** The answer's shape is the engine's (core) port; this module is its implementation. */
export type { WindowStatus };

export interface WindowedEnvironment {
  /** Alternatives: the environment is open while any of them is. Empty means any time. */
  readonly windows: readonly WindowSpec[];
  readonly freezes: readonly FreezeSpec[];
}

/** Openings of one window from `fromMs` on, lazily, in growing chunks so a near opening is found cheaply. */
function* openingsFrom(spec: WindowSpec, fromMs: number, limitMs: number): Generator<WindowOpening> {
  let cursor = fromMs;
  let chunk = DAY_MS;
  let lastStart = Number.NEGATIVE_INFINITY;
  while (cursor < limitMs) {
    const end = Math.min(limitMs, cursor + chunk);
    // A chunk repeats the openings still open at its start; they were yielded with the chunk before.
    for (const o of windowOpenings(spec, cursor, end)) {
      if (o.opensAt > lastStart) {
        lastStart = o.opensAt;
        yield o;
      }
    }
    cursor = end;
    chunk = Math.min(chunk * 2, 32 * DAY_MS);
  }
}

/**
 * The union of all windows as maximal open periods [start, end), in order: touching or overlapping openings
 * (of one window or several) make one period. Openings are generated up to `limitMs`; a last period still
 * open there may go on beyond it, so its end is reported as infinite.
 */
function* openPeriods(
  windows: readonly WindowSpec[],
  fromMs: number,
  limitMs: number,
): Generator<[number, number]> {
  if (windows.length === 0) {
    yield [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
    return;
  }
  const streams = windows.map((w) => openingsFrom(w, fromMs, limitMs));
  const heads = streams.map((s) => s.next());
  let current: [number, number] | undefined;
  for (;;) {
    let pick = -1;
    heads.forEach((h, i) => {
      const best = heads[pick]?.value as WindowOpening | undefined;
      if (!h.done && (best === undefined || h.value.opensAt < best.opensAt)) pick = i;
    });
    if (pick < 0) break;
    const o = heads[pick]?.value as WindowOpening;
    heads[pick] = (streams[pick] as Generator<WindowOpening>).next();
    if (current && o.opensAt <= current[1]) current[1] = Math.max(current[1], o.closesAt);
    else {
      if (current) yield current;
      current = [o.opensAt, o.closesAt];
    }
  }
  if (current) yield [current[0], current[1] >= limitMs ? Number.POSITIVE_INFINITY : current[1]];
}

/** An open stretch with freezes taken out; `endFreeze` is the freeze that ends it early, if one does. */
interface Stretch {
  readonly start: number;
  readonly end: number;
  readonly endFreeze?: FreezeSpec;
}

/** [start, end) minus the freezes (sorted by start), as the stretches left over. */
function* unfrozen(start: number, end: number, freezes: readonly FreezeSpec[]): Generator<Stretch> {
  let cursor = start;
  for (const f of freezes) {
    if (f.toMs <= cursor || f.toMs <= f.fromMs) continue;
    if (f.fromMs >= end) break;
    if (f.fromMs > cursor) yield { start: cursor, end: f.fromMs, endFreeze: f };
    cursor = Math.max(cursor, f.toMs);
    if (cursor >= end) return;
  }
  yield { start: cursor, end };
}

/** What a search found about `now` that a 'closed' or 'never' status explains. */
interface Findings {
  /** The open stretch holding now, when it ends too soon for the time needed. */
  tooShortNow?: Stretch;
  /** The longest open stretch seen (from now on), or -1 when there was none. */
  longest: number;
  /** Whether any window opened at all within the search. */
  anyOpening: boolean;
}

/**
 * Whether a step needing `needMs` (0: just "now") may start at `nowMs` in an environment with these windows
 * and freezes, and if not, when it next may. Freezes are [fromMs, toMs) in absolute time. Times in reasons
 * are shown in the first window's timezone, or UTC.
 */
export function windowStatus(env: WindowedEnvironment, nowMs: number, needMs = 0): WindowStatus {
  const need = Math.max(0, needMs);
  const horizonEnd = nowMs + SEARCH_HORIZON_MS;
  const freezes = [...env.freezes].sort((a, b) => a.fromMs - b.fromMs);
  const found: Findings = { longest: -1, anyOpening: false };
  search: for (const [start, end] of openPeriods(env.windows, nowMs, horizonEnd + need)) {
    found.anyOpening = true;
    for (const stretch of unfrozen(start, end, freezes)) {
      if (stretch.end <= nowMs || stretch.end <= stretch.start) continue;
      const at = Math.max(stretch.start, nowMs);
      if (at > horizonEnd) break search;
      const closesAt = Number.isFinite(stretch.end) ? stretch.end : null;
      if (stretch.end - at >= need) {
        if (at === nowMs) return { state: 'open', closesAt };
        return {
          state: 'closed',
          opensAt: at,
          closesAt,
          reason: closedReason(env, freezes, nowMs, need, found),
        };
      }
      if (at === nowMs) found.tooShortNow = stretch;
      found.longest = Math.max(found.longest, stretch.end - at);
    }
  }
  return { state: 'never', reason: neverReason(env, freezes, nowMs, need, found) };
}

/** Why not now: a freeze holding now, an open stretch ending too soon, or no window open now. */
function closedReason(
  env: WindowedEnvironment,
  freezes: readonly FreezeSpec[],
  nowMs: number,
  need: number,
  found: Findings,
): string {
  const zone = env.windows[0]?.timezone ?? 'UTC';
  const soon = (ms: number) => describeSoon(ms, zone, nowMs);
  // Of the freezes holding now, the one lasting longest says best why.
  const frozen = freezes
    .filter((f) => f.fromMs <= nowMs && nowMs < f.toMs)
    .sort((a, b) => b.toMs - a.toMs)[0];
  if (frozen) return `freeze: ${frozen.reason} (until ${soon(frozen.toMs)})`;
  if (found.tooShortNow) {
    const expected = `too soon for the expected ${formatDuration(need)}`;
    const { end, endFreeze } = found.tooShortNow;
    if (endFreeze) return `the freeze "${endFreeze.reason}" starts at ${soon(end)}, ${expected}`;
    return `the window closes at ${soon(end)}, ${expected}`;
  }
  return env.windows.length > 1 ? 'outside the maintenance windows' : 'outside the maintenance window';
}

function neverReason(
  env: WindowedEnvironment,
  freezes: readonly FreezeSpec[],
  nowMs: number,
  need: number,
  found: Findings,
): string {
  const horizon = `in the next ${Math.round(SEARCH_HORIZON_MS / DAY_MS)} days`;
  if (found.longest >= 0) {
    const longest = `(the longest: ${formatDuration(found.longest)})`;
    return env.windows.length > 0
      ? `no window ${horizon} stays open for the expected ${formatDuration(need)} ${longest}`
      : `no time between freezes ${horizon} is as long as the expected ${formatDuration(need)} ${longest}`;
  }
  if (!found.anyOpening) return `no window opens ${horizon}`;
  const blocking = [...new Set(freezes.filter((f) => f.toMs > nowMs).map((f) => f.reason))].join(', ');
  return env.windows.length > 0
    ? `every window ${horizon} falls in a freeze: ${blocking}`
    : `frozen for the next ${Math.round(SEARCH_HORIZON_MS / DAY_MS)} days: ${blocking}`;
}
