/** Counting findings per level against per-level maxima after the allow-list: the shared core of the SARIF and npm audit gates. */

import type { AllowEntry } from '../../core/process.js';
import { type AllowDecision, describeDecision } from './allow-list.js';
import { formatWhen, listSome, plural } from './gate-text.js';

export interface Finding<L extends string> {
  readonly level: L;
  /** What an allow-list entry would name to excuse it (rule id, package name). */
  readonly id: string;
  /** One line: what and where, e.g. "no-eval src/legacy.js:7 eval can be harmful.". */
  readonly text: string;
  readonly decision: AllowDecision;
}

export interface FindingsVerdict<L extends string> {
  /** Findings counted against the maxima, per level (allowed ones excluded). */
  readonly counts: Readonly<Record<L, number>>;
  readonly counted: readonly Finding<L>[];
  readonly allowed: readonly Finding<L>[];
  /** Levels whose count is above their maximum. */
  readonly breaches: readonly { readonly level: L; readonly count: number; readonly max: number }[];
  readonly unusedAllow: readonly AllowEntry[];
  readonly passed: boolean;
}

/** Sorts findings (most severe level first) and compares the counted ones with `max`; a level not in `max` is unlimited. */
export function tallyFindings<L extends string>(
  findings: readonly Finding<L>[],
  levels: readonly L[],
  max: Readonly<Partial<Record<L, number>>>,
  unusedAllow: readonly AllowEntry[],
): FindingsVerdict<L> {
  const rank = (f: Finding<L>) => levels.indexOf(f.level);
  const sorted = [...findings].sort((a, b) => rank(a) - rank(b));
  const counted = sorted.filter((f) => f.decision.kind !== 'allowed');
  const allowed = sorted.filter((f) => f.decision.kind === 'allowed');
  const counts = Object.fromEntries(levels.map((l) => [l, 0])) as Record<L, number>;
  for (const f of counted) counts[f.level] += 1;
  const breaches = levels.flatMap((level) => {
    const limit = max[level];
    return limit !== undefined && counts[level] > limit ? [{ level, count: counts[level], max: limit }] : [];
  });
  return { counts, counted, allowed, breaches, unusedAllow, passed: breaches.length === 0 };
}

/** "error 0/0, warning 2, note 0 (1 allowed)": count/max where a level is limited. */
export function findingsSummary<L extends string>(
  verdict: FindingsVerdict<L>,
  levels: readonly L[],
  max: Readonly<Partial<Record<L, number>>>,
): string {
  const parts = levels.map((l) => `${l} ${verdict.counts[l]}${max[l] === undefined ? '' : `/${max[l]}`}`);
  const allowed = verdict.allowed.length > 0 ? ` (${verdict.allowed.length} allowed)` : '';
  return `${parts.join(', ')}${allowed}`;
}

/** The failure message: file, thresholds broken, then the counted findings of the breached levels (up to 10). */
export function findingsFailure<L extends string>(
  file: string,
  verdict: FindingsVerdict<L>,
  noun: string,
  nouns = `${noun}s`,
): string {
  const over = verdict.breaches
    .map((b) => `${plural(b.count, `${b.level} ${noun}`, `${b.level} ${nouns}`)} (maximum ${b.max})`)
    .join(', ');
  const breached = new Set<string>(verdict.breaches.map((b) => b.level));
  const listed = verdict.counted.filter((f) => breached.has(f.level)).map(findingLine);
  return `${file}: ${over}\n${listSome(listed)}`;
}

/** One listed finding, with the allow-list's word on it when an entry names it. */
export function findingLine<L extends string>(f: Finding<L>): string {
  const note = describeDecision(f.decision);
  return `${f.level} ${f.text}${note ? ` — ${note}` : ''}`;
}

/** Lines for the step output: what the allow-list excused, and entries that excused nothing. */
export function allowNotes<L extends string>(verdict: FindingsVerdict<L>): string[] {
  return [
    ...verdict.allowed.map((f) => `allowed: ${findingLine(f)}`),
    ...verdict.unusedAllow.map(
      (e) => `allow-list entry "${e.id}" (until ${formatWhen(e.untilMs)}) matched no finding: remove it?`,
    ),
  ];
}

/** The numbers stored with the step (and shown by history): counts, maxima, and the first findings. */
export function findingsDetails<L extends string>(
  file: string,
  verdict: FindingsVerdict<L>,
  max: Readonly<Partial<Record<L, number>>>,
): Record<string, unknown> {
  const brief = (f: Finding<L>) => ({ level: f.level, id: f.id, text: f.text });
  return {
    file,
    counts: verdict.counts,
    max,
    allowed: verdict.allowed.map((f) => ({
      ...brief(f),
      ...(f.decision.kind === 'allowed'
        ? { until: new Date(f.decision.entry.untilMs).toISOString(), reason: f.decision.entry.reason }
        : {}),
    })),
    findings: verdict.counted.slice(0, 50).map(brief),
    ...(verdict.unusedAllow.length > 0 ? { unusedAllow: verdict.unusedAllow.map((e) => e.id) } : {}),
  };
}
