/** Turns zod's validation issues into positioned problems that say what was expected, what was found, and a hint. */

import type { z } from 'zod';
import { closest, suggestionHint } from './did-you-mean.js';
import { MONITOR_KIND_KEYS } from './monitor-schema.js';
import { type ProblemList, show, valueAt } from './problems.js';
import {
  KIND_KEYS_BY_KIND,
  PERCENT,
  SECRET_SOURCE_KINDS,
  SMOKE_CHECK_KINDS,
  STEP_KEYS_BY_KIND,
  STEP_KIND_KEYS,
  type StepKindKey,
  WINDOW_SCHEDULE_KINDS,
} from './schema.js';
import type { KeyPath } from './yaml-positions.js';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/**
 * Per-parse error map: every message becomes the "X" of "expected X, found Y" (the found part is
 * added later, from the data). For unknown keys it lists the allowed keys instead, comma-separated,
 * because only the raising schema knows them and the finished issue no longer carries it.
 */
export function expectation(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return bound(issue.origin, issue.minimum, issue.inclusive ?? true, 'at least', 'more than', '≥', '>');
    case 'too_big':
      return bound(issue.origin, issue.maximum, issue.inclusive ?? true, 'at most', 'fewer than', '≤', '<');
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `text matching ${issue.pattern}` : issue.format;
    case 'unrecognized_keys': {
      const inst = issue.inst as { shape?: Record<string, unknown> } | undefined;
      return Object.keys(inst?.shape ?? {}).join(',');
    }
    default:
      return undefined;
  }
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

function bound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean,
  incl: string,
  excl: string,
  inclOp: string,
  exclOp: string,
): string {
  const n = Number(limit);
  if (origin === 'array') return `${inclusive ? incl : excl} ${n} item${n === 1 ? '' : 's'}`;
  if (origin === 'string')
    return n === 1 && incl === 'at least' ? 'a non-empty string' : `${incl} ${n} characters`;
  return `a number ${inclusive ? inclOp : exclOp} ${n}`;
}

interface KindUnion {
  readonly kinds: readonly string[];
  /** "a step", "a window" */
  readonly what: string;
  /** What the keys choose: "kind", "schedule". */
  readonly noun: string;
  /** The hint when there are several: how to split them. */
  readonly split?: string;
}

/** `phases/#/steps/#`: the path with list indexes as `#`, for matching against patterns. */
function pattern(path: KeyPath): string {
  return path.map((s) => (typeof s === 'number' ? '#' : s)).join('/');
}

/** Mappings that must hold exactly one of several keys, each key choosing one branch of a union. */
function kindKeysAt(path: KeyPath): KindUnion | undefined {
  const p = pattern(path);
  if (/^phases\/#\/steps\/#$/.test(p)) return { kinds: STEP_KIND_KEYS, what: 'a step', noun: 'kind' };
  if (/^phases\/#\/steps\/#\/smoke\/#$/.test(p))
    return { kinds: SMOKE_CHECK_KINDS, what: 'a smoke check', noun: 'kind' };
  if (/^environments\/[^/]+\/monitors\/#$/.test(p))
    return { kinds: MONITOR_KIND_KEYS, what: 'a monitor', noun: 'kind' };
  if (/^environments\/[^/]+\/secrets\/[^/]+$/.test(p))
    return { kinds: SECRET_SOURCE_KINDS, what: 'a secret', noun: 'kind' };
  if (/^environments\/[^/]+\/windows\/#$/.test(p))
    return {
      kinds: WINDOW_SCHEDULE_KINDS,
      what: 'a window',
      noun: 'schedule',
      split: 'make it two windows, one with "cron" and one with "rrule", each with its duration and timezone',
    };
  return undefined;
}

/** Why a required key matters, where the bare "missing" would not say it. */
function missingKeyHint(path: KeyPath): string | undefined {
  const p = pattern(path);
  if (/\/allow\/#\/reason$/.test(p))
    return 'say why the finding is accepted: an exception without a reason cannot be audited';
  if (/\/allow\/#\/until$/.test(p)) return 'an exception holds until a date, e.g. until: 2027-01-31';
  if (/^environments\/[^/]+\/freezes\/#\/reason$/.test(p))
    return 'say why, e.g. reason: Year-end freeze; it is shown to whoever tries to deploy';
  if (/^environments\/[^/]+\/hosts\/#\/root$/.test(p))
    return 'give the host a root, or every host one with hostDefaults: { root: /srv/app } on the environment';
  if (/^environments\/[^/]+\/windows\/#\/timezone$/.test(p))
    return 'a schedule needs its timezone, e.g. timezone: Europe/Berlin or timezone: UTC';
  return undefined;
}

/** A hint for a wrong value, where the value itself shows the likely intent. */
function valueHint(expectation: string, value: unknown): string | undefined {
  // `PORT:` with nothing after it is null in YAML, not "", which surprises people.
  if (value === null && expectation.includes('a string')) return 'write "" for an empty string';
  // `type: rollin` among `one of "all-at-once", "rolling", …`: name the closest choice.
  if (typeof value === 'string' && expectation.startsWith('one of "')) {
    const near = closest(
      value,
      [...expectation.matchAll(/"([^"]*)"/g)].map((m) => m[1] as string),
    );
    if (near !== undefined) return `did you mean "${near}"?`;
  }
  if (expectation === PERCENT && typeof value === 'number' && value > 1) {
    return value <= 100
      ? `write ${value}% or ${value / 100}`
      : 'write a percentage like 20% or a fraction like 0.2';
  }
  return undefined;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Adds a problem for each issue; `data` is what was validated. */
export function reportIssues(issues: readonly Issue[], data: unknown, problems: ProblemList): void {
  const kindReported = new Set<string>();
  // "enviroments:" is both an unknown key and a missing "environments"; saying the first (with its
  // did-you-mean) says it all, so a missing key that a misspelt sibling explains is left out.
  const misspelt = new Set<string>();
  const missing: { path: KeyPath; message: string; hint: string | undefined }[] = [];

  const report = (issue: Issue, base: KeyPath): void => {
    const path = [...base, ...(issue.path as (string | number)[])];
    // A step with no kind key or with two cannot be checked against any branch: say that, once,
    // instead of relaying every branch's complaints.
    for (let i = 0; i <= path.length; i++) {
      const at = path.slice(0, i);
      const union = kindKeysAt(at);
      const value = valueAt(data, at);
      if (!union || !isMapping(value)) continue;
      const present = union.kinds.filter((k) => Object.hasOwn(value, k));
      if (present.length === 1) continue;
      const key = at.join('.');
      if (!kindReported.has(key)) {
        kindReported.add(key);
        reportKindCount(at, present, union, value, problems);
      }
      return;
    }

    switch (issue.code) {
      case 'invalid_union': {
        const branches = issue.errors;
        const value = valueAt(data, path);
        const union = kindKeysAt(path);
        if (union && isMapping(value)) {
          const kind = union.kinds.findIndex((k) => Object.hasOwn(value, k));
          for (const inner of branches[kind] ?? []) report(inner, path);
          return;
        }
        const best = bestBranch(branches);
        if (best) for (const inner of best) report(inner, path);
        else mismatch(path, issue.message, value);
        return;
      }
      case 'unrecognized_keys': {
        const allowed = issue.message.split(',').filter((k) => k !== '');
        for (const key of issue.keys) {
          const near = closest(key, allowed);
          if (near !== undefined) misspelt.add([...path, near].join('.'));
          problems.add([...path, key], `unknown key "${key}"`, {
            at: 'key',
            hint: unknownKeyHint(key, allowed, path, data),
          });
        }
        return;
      }
      case 'invalid_key': {
        const key = String(path[path.length - 1]);
        const inner = issue.issues[0]?.message ?? 'a different name';
        problems.add(path, `expected ${inner}, found ${show(key)}`, { at: 'key' });
        return;
      }
      default: {
        const value = valueAt(data, path);
        if (value === undefined && path.length > 0) {
          const key = String(path[path.length - 1]);
          missing.push({
            path,
            message: `missing required key "${key}": expected ${issue.message}`,
            hint: missingKeyHint(path),
          });
        } else if (path.length === 0 && (value === null || value === undefined)) {
          problems.add(path, 'the process file is empty', { hint: 'run "slipway init" for a starter file' });
        } else {
          mismatch(path, issue.message, value);
        }
      }
    }
  };

  const mismatch = (path: KeyPath, expectation: string, value: unknown) => {
    problems.add(path, `expected ${expectation}, found ${show(value)}`, {
      hint: valueHint(expectation, value),
    });
  };

  for (const issue of issues) report(issue, []);
  for (const { path, message, hint } of missing)
    if (!misspelt.has(path.join('.'))) problems.add(path, message, { hint });
}

function reportKindCount(
  path: KeyPath,
  present: readonly string[],
  { kinds, what, noun, split }: KindUnion,
  value: Record<string, unknown>,
  problems: ProblemList,
): void {
  if (present.length > 1) {
    problems.add(
      [...path, present[1] as string],
      `${what} has exactly one ${noun}, found ${quoteAll(present, ' and ')}`,
      {
        at: 'key',
        hint: split ?? `split it into ${present.length} separate entries`,
      },
    );
    return;
  }
  // A misspelt kind key ("htpp") is the usual cause; point at it. A key every step may have ("name") is
  // not a misspelling, however close it is to a kind ("bake").
  for (const key of Object.keys(value)) {
    if (kinds === STEP_KIND_KEYS && ORDINARY_STEP_KEYS.has(key)) continue;
    const near = closest(key, kinds);
    if (near !== undefined && !Object.hasOwn(value, near)) {
      problems.add([...path, key], `unknown key "${key}"`, { at: 'key', hint: `did you mean "${near}"?` });
      return;
    }
  }
  problems.add(path, `${what} needs one of ${quoteAll(kinds)}, found none`);
}

/** Keys of steps that are not kind keys: `id`, `name`, `timeout`, `retries`, … */
const ORDINARY_STEP_KEYS: ReadonlySet<string> = new Set(
  Object.values(STEP_KEYS_BY_KIND)
    .flat()
    .filter((k) => !(STEP_KIND_KEYS as readonly string[]).includes(k)),
);

function quoteAll(keys: readonly string[], separator = ', '): string {
  return keys.map((k) => `"${k}"`).join(separator);
}

/**
 * Of a plain union's branches (e.g. argv list | shell string), the one the user evidently meant: the
 * one whose complaints reach deepest, where a failed type check counts less than any other. When
 * every branch just rejects the type, undefined: the union's own message says it best.
 */
function bestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  let best: readonly Issue[] | undefined;
  let bestScore = 0;
  for (const issues of branches) {
    const score = Math.max(...issues.map((i) => i.path.length * 2 + (i.code === 'invalid_type' ? 0 : 1)));
    if (score > bestScore) {
      best = issues;
      bestScore = score;
    }
  }
  return best;
}

function unknownKeyHint(
  key: string,
  allowed: readonly string[],
  path: KeyPath,
  data: unknown,
): string | undefined {
  const near = closest(key, allowed);
  if (near !== undefined) return `did you mean "${near}"?`;
  const innerOwners = STEP_KIND_KEYS.filter((k) => KIND_KEYS_BY_KIND[k].includes(key));
  if (kindKeysAt(path)?.kinds === STEP_KIND_KEYS) {
    const owners = STEP_KIND_KEYS.filter((k) => STEP_KEYS_BY_KIND[k].includes(key));
    if (owners.length > 0) {
      return STEP_KIND_KEYS.includes(key as never)
        ? 'a step has exactly one kind key'
        : ownersHint(key, owners, STEP_KIND_KEYS);
    }
    // `expires: 48h` beside `approval:` rather than inside it.
    const step = valueAt(data, path);
    const own = innerOwners.find((k) => isMapping(step) && Object.hasOwn(step, k));
    if (own !== undefined) return `"${key}" goes inside "${own}": ${own}: { …, ${key}: … }`;
    if (innerOwners.length > 0) return `"${key}" applies only to ${innerOwners.join(', ')} steps`;
    const kind = closest(key, STEP_KIND_KEYS);
    if (kind !== undefined) return `did you mean "${kind}"?`;
  }
  // Inside a kind's own mapping: `checklist: { expires: 48h }`, `http: { timeout: 5s }`.
  const parent = path.at(-1);
  if (/^phases\/#\/steps\/#\/[^/]+$/.test(pattern(path)) && STEP_KIND_KEYS.includes(parent as never)) {
    const kind = parent as StepKindKey;
    if (STEP_KEYS_BY_KIND[kind].includes(key)) return `"${key}" goes on the step, beside "${kind}"`;
    if (innerOwners.length > 0) return `"${key}" applies only to ${innerOwners.join(', ')} steps`;
  }
  return suggestionHint(key, allowed, 'allowed keys');
}

/** Names the few kinds a key does not apply to when that is the shorter list (most keys fit every executable step). */
function ownersHint(key: string, owners: readonly string[], kinds: readonly string[]): string {
  const others = kinds.filter((k) => !owners.includes(k));
  return owners.length > others.length
    ? `"${key}" applies to every step kind except ${others.join(', ')}`
    : `"${key}" applies only to ${owners.join(', ')} steps`;
}
