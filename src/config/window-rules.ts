/** Checks of maintenance windows, freezes and emergency approvers, and the freeze and window defaults the compiler shares. */

import { formatDuration } from '../core/duration.js';
import { parseFreezeInstant, validateWindow } from '../schedule/index.js';
import { phaseEnvironments } from './cross-checks.js';
import { DEFAULTS } from './defaults.js';
import { closest } from './did-you-mean.js';
import { type ProblemList, show } from './problems.js';
import { durationMs, type ProcessFile, type StepInput } from './schema.js';
import type { KeyPath } from './yaml-positions.js';

type Environment = ProcessFile['environments'][string];
type Phase = ProcessFile['phases'][number];
type Freeze = NonNullable<Environment['freezes']>[number];

/** A schedule that is always valid: probing a timezone with it tells a bad zone from a bad schedule. */
const PROBE_CRON = '0 0 * * *';

/** Whether a step changes what runs on the target: such phases keep to the windows unless they say otherwise. */
export function changesTarget(step: StepInput): boolean {
  return (
    'release' in step || 'config' in step || 'restart' in step || ('run' in step && step.on === 'target')
  );
}

/** `window:` as written, else whether the phase changes the target. */
export function isWindowed(phase: Phase): boolean {
  return phase.window ?? phase.steps.some(changesTarget);
}

/** How freeze dates and times without an offset are read. */
export function freezeTimezone(env: Environment): string {
  return env.freezeTimezone ?? env.windows?.[0]?.timezone ?? DEFAULTS.freezeTimezone;
}

/**
 * A freeze's bounds as instants, `to` exclusive. A date alone stands for the whole day, at both
 * ends: `to: 2027-01-04` freezes the 4th too, as people read a freeze from the 20th to the 4th.
 */
export function freezeBounds(freeze: Freeze, zone: string): { fromMs?: number; toMs?: number } {
  const from = parseFreezeInstant(freeze.from, zone, 'start');
  const to = parseFreezeInstant(freeze.to, zone, 'end');
  return { ...(from === undefined ? {} : { fromMs: from }), ...(to === undefined ? {} : { toMs: to }) };
}

export function checkWindows(file: ProcessFile, problems: ProblemList): void {
  for (const [name, env] of Object.entries(file.environments)) {
    const path = ['environments', name];
    const badZones = new Set<string>();
    env.windows?.forEach((w, i) => {
      if (!checkZone(w.timezone, [...path, 'windows', i, 'timezone'], problems)) {
        badZones.add(w.timezone);
        return;
      }
      const [key, schedule] =
        'cron' in w ? (['cron', { cron: w.cron }] as const) : (['rrule', { rrule: w.rrule }] as const);
      const error = validateWindow({ ...schedule, timezone: w.timezone });
      if (error === undefined) return;
      problems.add([...path, 'windows', i, key], error, {
        hint:
          key === 'cron'
            ? 'five fields: minute hour day-of-month month day-of-week, e.g. "0 22 * * 1-5" for 22:00 Monday to Friday'
            : 'an RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30',
      });
    });
    if (
      env.freezeTimezone !== undefined &&
      !checkZone(env.freezeTimezone, [...path, 'freezeTimezone'], problems)
    )
      continue;
    const zone = freezeTimezone(env);
    // A window's bad zone is reported there; every freeze read in it would only repeat that.
    if (!badZones.has(zone)) checkFreezes(env.freezes ?? [], zone, [...path, 'freezes'], problems);
    checkEmergencyDefault(file, name, env, problems);
  }
  file.phases.forEach((phase, p) => {
    checkExpectedDuration(file, phase, ['phases', p, 'expectedDuration'], problems);
  });
}

/** Whether `zone` is usable; when not, the problem is added at `path`. */
function checkZone(zone: string, path: KeyPath, problems: ProblemList): boolean {
  const error = validateWindow({ cron: PROBE_CRON, timezone: zone });
  if (error === undefined) return true;
  const near = closest(zone, [...Intl.supportedValuesOf('timeZone'), 'UTC']);
  problems.add(path, error, {
    hint:
      near !== undefined && near !== zone
        ? `did you mean "${near}"?`
        : 'an IANA timezone name, e.g. Europe/Berlin, America/New_York or UTC',
  });
  return false;
}

function checkFreezes(freezes: readonly Freeze[], zone: string, path: KeyPath, problems: ProblemList): void {
  freezes.forEach((freeze, i) => {
    const { fromMs, toMs } = freezeBounds(freeze, zone);
    const hint = `a date (2026-12-20, the whole day) or a date and time (2026-12-20T18:00, read in ${zone} unless it has an offset such as Z or +01:00)`;
    for (const [key, ms] of [
      ['from', fromMs],
      ['to', toMs],
    ] as const) {
      if (ms === undefined)
        problems.add([...path, i, key], `expected a date or a date and time, found ${show(freeze[key])}`, {
          hint,
        });
    }
    if (fromMs === undefined || toMs === undefined || toMs > fromMs) return;
    problems.add(
      [...path, i, 'to'],
      `a freeze must end after it starts, found from ${freeze.from} to ${freeze.to}`,
      {
        hint: '"to" must be later than "from"; a date alone covers the whole day, so both may be the same date',
      },
    );
  });
}

/**
 * Outside a window or during a freeze only an emergency deployment may run, approved by these roles.
 * When the default roles are not declared, nobody could ever approve one.
 */
function checkEmergencyDefault(
  file: ProcessFile,
  name: string,
  env: Environment,
  problems: ProblemList,
): void {
  if (env.emergency?.approvers !== undefined) return;
  const where =
    (env.windows?.length ?? 0) > 0 ? 'windows' : (env.freezes?.length ?? 0) > 0 ? 'freezes' : undefined;
  if (where === undefined) return;
  const missing = DEFAULTS.emergencyApprovers.filter((r) => !Object.hasOwn(file.roles ?? {}, r));
  if (missing.length === 0) return;
  const quote = (roles: readonly string[]) => roles.map((r) => `"${r}"`).join(' and ');
  const all = DEFAULTS.emergencyApprovers;
  problems.add(
    ['environments', name, where],
    `an emergency deployment (outside the windows or in a freeze) is approved by roles ${quote(all)} by default, but ${missing.length === all.length ? 'they are' : `${quote(missing)} is`} not declared`,
    {
      at: 'key',
      hint: 'declare the roles under "roles", or name the approving roles: emergency: { approvers: [<role>, …] }',
    },
  );
}

/** A phase that needs longer than any window of an environment could never start there. */
function checkExpectedDuration(file: ProcessFile, phase: Phase, path: KeyPath, problems: ProblemList): void {
  if (phase.expectedDuration === undefined || !isWindowed(phase)) return;
  const needed = durationMs(phase.expectedDuration);
  for (const name of phaseEnvironments(file, phase)) {
    const windows = file.environments[name]?.windows ?? [];
    if (windows.length === 0) continue;
    const longest = Math.max(...windows.map((w) => durationMs(w.duration)));
    if (needed <= longest) continue;
    const fits =
      windows.length === 1
        ? `the ${formatDuration(longest)} window of ${name}`
        : `any window of ${name} (the longest is ${formatDuration(longest)})`;
    problems.add(path, `a ${formatDuration(needed)} phase never fits ${fits}`, {
      hint: 'lengthen the window, shorten expectedDuration, or split the phase into parts that fit',
    });
  }
}
