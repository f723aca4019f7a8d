/** Reads `npm audit --json` (npm 7+, auditReportVersion 2) into vulnerable packages, and judges them per severity against an allow-list. */

import type { AllowEntry, Severity } from '../../core/process.js';
import { type AllowDecision, AllowList, type Clock } from './allow-list.js';
import { type Finding, type FindingsVerdict, tallyFindings } from './findings.js';
import { looksLike, malformedReport, parseJsonReport } from './malformed-report.js';

const WHAT = 'npm audit --json output';

/** Most severe first. */
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'moderate', 'low', 'info'];

export interface NpmAdvisory {
  /** GHSA id when the advisory URL has one, else the URL, else npm's numeric source id. */
  readonly id: string;
  /** Every id an allow-list entry may use for it: GHSA id, URL, the URL's last part, npm's source number. */
  readonly ids: readonly string[];
  readonly title: string;
  readonly severity: Severity;
}

export interface NpmVulnerability {
  readonly name: string;
  readonly severity: Severity;
  readonly isDirect: boolean;
  /** Advisories against this package itself. */
  readonly advisories: readonly NpmAdvisory[];
  /** Vulnerable dependencies it is vulnerable through. */
  readonly via: readonly string[];
  /** e.g. "lodash@4.17.21", "lodash@5.0.0 (semver-major)", or null when npm knows no fix. */
  readonly fix: string | null;
}

export interface NpmAuditReport {
  readonly vulnerabilities: readonly NpmVulnerability[];
  /** npm's own counts per severity (`metadata.vulnerabilities`), for the record. */
  readonly npmCounts: Readonly<Partial<Record<Severity, number>>>;
  readonly dependencies: number | null;
}

export interface NpmAuditGateOptions {
  readonly max: Readonly<Partial<Record<Severity, number>>>;
  readonly allow: readonly AllowEntry[];
  /** @default Date.now */
  readonly now?: Clock;
}

type Json = Record<string, unknown>;

export function parseNpmAuditReport(text: string, file: string): NpmAuditReport {
  const doc = parseJsonReport(text, file, WHAT);
  if (!isObject(doc)) throw malformedReport(file, WHAT, `expected a JSON object${looksLike(text)}`);
  if (doc.auditReportVersion !== 2) throw malformedReport(file, WHAT, unsupported(doc, text));
  if (!isObject(doc.vulnerabilities)) throw malformedReport(file, WHAT, 'no "vulnerabilities" object');
  const vulnerabilities = Object.entries(doc.vulnerabilities).map(([key, entry]) => {
    if (!isObject(entry)) throw malformedReport(file, WHAT, `vulnerabilities["${key}"] is not an object`);
    const severity = entry.severity;
    if (!isSeverity(severity)) {
      throw malformedReport(file, WHAT, `vulnerabilities["${key}"] has severity ${JSON.stringify(severity)}`);
    }
    const via = Array.isArray(entry.via) ? entry.via : [];
    return {
      name: typeof entry.name === 'string' ? entry.name : key,
      severity,
      isDirect: entry.isDirect === true,
      advisories: via.filter(isObject).map((v) => advisoryOf(v, severity)),
      via: via.filter((v): v is string => typeof v === 'string'),
      fix: fixOf(entry.fixAvailable),
    };
  });
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const counts = isObject(meta.vulnerabilities) ? meta.vulnerabilities : {};
  const npmCounts: Partial<Record<Severity, number>> = {};
  for (const s of SEVERITIES) if (typeof counts[s] === 'number') npmCounts[s] = counts[s];
  const deps = isObject(meta.dependencies) ? meta.dependencies.total : undefined;
  return { vulnerabilities, npmCounts, dependencies: typeof deps === 'number' ? deps : null };
}

/**
 * One finding per vulnerable package, as npm counts them. A package is excused when an unexpired entry names
 * it, or names every advisory it is vulnerable through — including those of the dependencies it is vulnerable
 * via, so allowing minimist's advisory also clears mkdirp, which is only vulnerable because of minimist.
 * A package still counted takes the severity of its worst advisory that is not excused.
 */
export function judgeNpmAudit(
  report: NpmAuditReport,
  options: NpmAuditGateOptions,
): FindingsVerdict<Severity> {
  const allow = new AllowList(options.allow, (options.now ?? Date.now)());
  const byName = new Map(report.vulnerabilities.map((v) => [v.name, v]));
  const memo = new Map<string, Standing>();

  const standing = (v: NpmVulnerability, path: ReadonlySet<string>): Standing => {
    const cached = memo.get(v.name);
    if (cached) return cached;
    const out: Standing = { advisories: [], excusedBy: [], expired: [] };
    const note = (d: AllowDecision): boolean => {
      if (d.kind === 'allowed') out.excusedBy.push(d.entry);
      if (d.kind === 'expired') out.expired.push(d.entry);
      return d.kind === 'allowed';
    };
    if (!note(allow.decide([v.name]))) {
      for (const a of v.advisories) if (!note(allow.decide(a.ids))) out.advisories.push(a);
      for (const dep of v.via) {
        const target = byName.get(dep);
        // A cycle through `via` adds nothing the first visit does not.
        if (!target || path.has(dep)) continue;
        const inner = standing(target, new Set([...path, dep]));
        out.advisories.push(...inner.advisories.filter((a) => !out.advisories.includes(a)));
        out.excusedBy.push(...inner.excusedBy);
        out.expired.push(...inner.expired);
      }
    }
    memo.set(v.name, out);
    return out;
  };

  const findings = report.vulnerabilities.map((v): Finding<Severity> => {
    const s = standing(v, new Set([v.name]));
    const [excuse] = s.excusedBy;
    const [lapsed] = s.expired;
    const decision: AllowDecision =
      s.advisories.length === 0 && excuse
        ? { kind: 'allowed', entry: excuse }
        : lapsed
          ? { kind: 'expired', entry: lapsed }
          : { kind: 'none' };
    const level = decision.kind === 'allowed' ? v.severity : (worst(s.advisories) ?? v.severity);
    return { level, id: v.name, text: describe(v, s.advisories), decision };
  });
  return tallyFindings(findings, SEVERITIES, options.max, allow.unused());
}

interface Standing {
  /** Advisories not excused, of the package and of the dependencies it is vulnerable via. */
  readonly advisories: NpmAdvisory[];
  readonly excusedBy: AllowEntry[];
  readonly expired: AllowEntry[];
}

/** "lodash (direct): GHSA-35jh-r3h4-6jhm Command Injection in lodash (+1 more); fix lodash@4.17.21". */
function describe(v: NpmVulnerability, standing: readonly NpmAdvisory[]): string {
  const own = standing.filter((a) => v.advisories.includes(a));
  const shown = own[0] ?? v.advisories[0];
  const what = shown
    ? `${shown.id} ${shown.title}${own.length > 1 ? ` (+${own.length - 1} more)` : ''}`
    : `via ${v.via.join(', ')}`;
  const via = shown && v.via.length > 0 ? `, via ${v.via.join(', ')}` : '';
  return `${v.name}${v.isDirect ? ' (direct)' : ''}: ${what}${via}${v.fix ? `; fix ${v.fix}` : ''}`;
}

function unsupported(doc: Json, text: string): string {
  if (isObject(doc.error) || (typeof doc.message === 'string' && doc.statusCode !== undefined)) {
    const e = isObject(doc.error) ? doc.error : {};
    const said = [doc.message, e.code, e.summary, e.detail].find((x) => typeof x === 'string' && x !== '');
    return `npm audit did not produce a report: ${String(said ?? 'it printed an error object')}`;
  }
  if (isObject(doc.advisories) && 'actions' in doc) {
    return 'this is the npm 6 format (advisories/actions); write it with npm 7 or later (`npm audit --json`)';
  }
  return `no "auditReportVersion": 2${looksLike(text)}`;
}

function advisoryOf(via: Json, fallback: Severity): NpmAdvisory {
  const url = typeof via.url === 'string' ? via.url : '';
  const ghsa = /GHSA(-[23456789cfghjmpqrvwx]{4}){3}/i.exec(url)?.[0];
  const source = typeof via.source === 'number' || typeof via.source === 'string' ? String(via.source) : '';
  const last = url.split('/').filter(Boolean).at(-1) ?? '';
  return {
    id: ghsa ?? (url || source || '(unknown advisory)'),
    ids: [ghsa ?? '', url, last, source].filter((x) => x !== ''),
    title: typeof via.title === 'string' ? via.title : '',
    severity: isSeverity(via.severity) ? via.severity : fallback,
  };
}

function fixOf(fix: unknown): string | null {
  if (isObject(fix) && typeof fix.name === 'string' && typeof fix.version === 'string') {
    return `${fix.name}@${fix.version}${fix.isSemVerMajor === true ? ' (semver-major)' : ''}`;
  }
  return fix === true ? 'npm audit fix' : null;
}

function worst(advisories: readonly NpmAdvisory[]): Severity | undefined {
  return SEVERITIES.find((s) => advisories.some((a) => a.severity === s));
}

function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
