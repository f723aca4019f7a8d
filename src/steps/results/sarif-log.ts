/** Reads a SARIF 2.1.0 log (ESLint, CodeQL, Semgrep, …) into findings, and judges them per level against an allow-list. */

import type { AllowEntry, SarifLevel } from '../../core/process.js';
import { AllowList, type Clock } from './allow-list.js';
import { type Finding, type FindingsVerdict, tallyFindings } from './findings.js';
import { firstLine } from './gate-text.js';
import { looksLike, malformedReport, parseJsonReport } from './malformed-report.js';

const WHAT = 'a SARIF 2.1.0 log';

/** Most severe first. */
export const SARIF_LEVELS: readonly SarifLevel[] = ['error', 'warning', 'note'];

export interface SarifResult {
  readonly tool: string;
  readonly ruleId: string;
  /** `none` (a result of kind pass, review, …) is never counted. */
  readonly level: SarifLevel | 'none';
  readonly message: string;
  /** `uri:line` of the first location, when there is one. */
  readonly location: string | null;
  /** Suppressed in the source (e.g. an eslint-disable comment) and accepted: not counted. */
  readonly suppressed: boolean;
}

export interface SarifLog {
  readonly tools: readonly string[];
  readonly results: readonly SarifResult[];
  /** Runs whose tool says it did not complete: the gate fails closed on them. */
  readonly incompleteRuns: readonly string[];
}

export interface SarifGateOptions {
  readonly max: Readonly<Partial<Record<SarifLevel, number>>>;
  readonly allow: readonly AllowEntry[];
  /** @default Date.now */
  readonly now?: Clock;
}

export interface SarifVerdict extends FindingsVerdict<SarifLevel> {
  readonly suppressed: number;
  /** Results of level `none`. */
  readonly informational: number;
  readonly incompleteRuns: readonly string[];
}

type Json = Record<string, unknown>;

export function parseSarifLog(text: string, file: string): SarifLog {
  const log = parseJsonReport(text, file, WHAT);
  if (!isObject(log)) throw malformedReport(file, WHAT, `expected a JSON object${looksLike(text)}`);
  if (log.version !== '2.1.0') {
    const reason =
      log.version === undefined
        ? `no "version": "2.1.0"${looksLike(text)}`
        : `version ${JSON.stringify(log.version)} is not supported (only 2.1.0)`;
    throw malformedReport(file, WHAT, reason);
  }
  if (!Array.isArray(log.runs)) throw malformedReport(file, WHAT, 'no "runs" array');
  const tools: string[] = [];
  const results: SarifResult[] = [];
  const incompleteRuns: string[] = [];
  log.runs.forEach((run: unknown, r) => {
    if (!isObject(run) || !isObject(run.tool) || !isObject(run.tool.driver)) {
      throw malformedReport(file, WHAT, `runs[${r}] has no "tool.driver"`);
    }
    const tool = typeof run.tool.driver.name === 'string' ? run.tool.driver.name : `run ${r}`;
    tools.push(tool);
    // `results` null or absent means the analysis did not produce a result set; [] means it found nothing.
    if (!Array.isArray(run.results)) {
      incompleteRuns.push(`${tool}: the run has no results (the analysis did not complete)`);
      return;
    }
    const invocations = Array.isArray(run.invocations) ? run.invocations : [];
    if (invocations.some((i) => isObject(i) && i.executionSuccessful === false)) {
      incompleteRuns.push(`${tool}: the tool reports executionSuccessful: false`);
    }
    run.results.forEach((result: unknown, i) => {
      if (!isObject(result)) throw malformedReport(file, WHAT, `runs[${r}].results[${i}] is not an object`);
      results.push(readResult(run, tool, result));
    });
  });
  return { tools, results, incompleteRuns };
}

/** Counts unsuppressed results per level; results whose rule id an unexpired allow entry names are listed, not counted. */
export function judgeSarif(log: SarifLog, options: SarifGateOptions): SarifVerdict {
  const allow = new AllowList(options.allow, (options.now ?? Date.now)());
  const findings: Finding<SarifLevel>[] = [];
  for (const r of log.results) {
    if (r.suppressed || r.level === 'none') continue;
    const where = r.location ? ` ${r.location}` : '';
    findings.push({
      level: r.level,
      id: r.ruleId,
      text: `${r.ruleId}${where} ${r.message}`.trim(),
      decision: allow.decide(ruleIds(r.ruleId)),
    });
  }
  const tally = tallyFindings(findings, SARIF_LEVELS, options.max, allow.unused());
  return {
    ...tally,
    passed: tally.passed && log.incompleteRuns.length === 0,
    suppressed: log.results.filter((r) => r.suppressed).length,
    informational: log.results.filter((r) => !r.suppressed && r.level === 'none').length,
    incompleteRuns: log.incompleteRuns,
  };
}

/** A hierarchical rule id ("CA2000/1") is also excused by an entry naming its parent ("CA2000"). */
function ruleIds(ruleId: string): string[] {
  const parts = ruleId.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

function readResult(run: Json, tool: string, result: Json): SarifResult {
  const rule = ruleOf(run, result);
  const ruleId =
    (typeof result.ruleId === 'string' && result.ruleId) ||
    (isObject(result.rule) && typeof result.rule.id === 'string' && result.rule.id) ||
    (rule && typeof rule.id === 'string' && rule.id) ||
    '(no rule)';
  return {
    tool,
    ruleId,
    level: levelOf(result, rule),
    message: messageOf(result, rule),
    location: locationOf(run, result),
    suppressed: isSuppressed(result),
  };
}

/** SARIF §3.27.10: an explicit level, else `none` for non-failure kinds, else the rule's default, else warning. */
function levelOf(result: Json, rule: Json | undefined): SarifLevel | 'none' {
  if (isLevel(result.level)) return result.level;
  if (typeof result.kind === 'string' && result.kind !== 'fail') return 'none';
  const configured =
    rule && isObject(rule.defaultConfiguration) ? rule.defaultConfiguration.level : undefined;
  return isLevel(configured) ? configured : 'warning';
}

function isLevel(value: unknown): value is SarifLevel | 'none' {
  return value === 'error' || value === 'warning' || value === 'note' || value === 'none';
}

/** The reportingDescriptor of a result: by index (driver or an extension), else by id. */
function ruleOf(run: Json, result: Json): Json | undefined {
  const tool = run.tool as Json;
  const component = (ref: unknown): Json | undefined => {
    if (isObject(ref) && isObject(ref.toolComponent) && typeof ref.toolComponent.index === 'number') {
      const ext = Array.isArray(tool.extensions) ? tool.extensions[ref.toolComponent.index] : undefined;
      return isObject(ext) ? ext : undefined;
    }
    return tool.driver as Json;
  };
  const ref = isObject(result.rule) ? result.rule : undefined;
  const index = typeof result.ruleIndex === 'number' ? result.ruleIndex : ref?.index;
  const owner = component(ref);
  const rules = owner && Array.isArray(owner.rules) ? owner.rules : [];
  if (typeof index === 'number' && isObject(rules[index])) return rules[index];
  const id = typeof result.ruleId === 'string' ? result.ruleId : ref?.id;
  const all = [tool.driver, ...(Array.isArray(tool.extensions) ? tool.extensions : [])].flatMap((c) =>
    isObject(c) && Array.isArray(c.rules) ? c.rules : [],
  );
  return all.find((r): r is Json => isObject(r) && r.id === id);
}

function messageOf(result: Json, rule: Json | undefined): string {
  const m = isObject(result.message) ? result.message : {};
  if (typeof m.text === 'string') return firstLine(m.text);
  if (typeof m.markdown === 'string') return firstLine(m.markdown);
  const strings = rule && isObject(rule.messageStrings) ? rule.messageStrings : {};
  const template = typeof m.id === 'string' ? strings[m.id] : undefined;
  if (isObject(template) && typeof template.text === 'string') return firstLine(template.text);
  return '';
}

function locationOf(run: Json, result: Json): string | null {
  const first = Array.isArray(result.locations) ? result.locations[0] : undefined;
  const physical = isObject(first) && isObject(first.physicalLocation) ? first.physicalLocation : undefined;
  if (!physical) return null;
  const artifact = isObject(physical.artifactLocation) ? physical.artifactLocation : {};
  let uri = typeof artifact.uri === 'string' ? artifact.uri : undefined;
  if (uri === undefined && typeof artifact.index === 'number' && Array.isArray(run.artifacts)) {
    const a = run.artifacts[artifact.index];
    if (isObject(a) && isObject(a.location) && typeof a.location.uri === 'string') uri = a.location.uri;
  }
  if (uri === undefined) return null;
  const line = isObject(physical.region) ? physical.region.startLine : undefined;
  return `${displayUri(uri)}${typeof line === 'number' ? `:${line}` : ''}`;
}

function displayUri(uri: string): string {
  if (!uri.startsWith('file://')) return uri;
  try {
    return decodeURIComponent(new URL(uri).pathname);
  } catch {
    return uri;
  }
}

/** SARIF §3.27.23: suppressed when it has suppressions and none is under review or rejected. */
function isSuppressed(result: Json): boolean {
  if (!Array.isArray(result.suppressions) || result.suppressions.length === 0) return false;
  return result.suppressions.every(
    (s) => !isObject(s) || (s.status !== 'underReview' && s.status !== 'rejected'),
  );
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
