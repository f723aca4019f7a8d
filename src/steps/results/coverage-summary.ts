/** Reads a coverage summary (lcov tracefile, Cobertura XML, istanbul's coverage-summary.json) into line and branch totals. */

import { percent } from './gate-text.js';
import { looksLike, malformedReport, parseJsonReport, stripBom } from './malformed-report.js';
import { parseXmlReport } from './xml-tree.js';

const WHAT = 'a coverage report (lcov, Cobertura XML or coverage-summary.json)';

export interface CoverageMeasure {
  /** Counts, when the format has them (Cobertura may give only a rate). */
  readonly covered: number | null;
  readonly total: number | null;
  /** 0-100; null when nothing was measured (total 0). */
  readonly pct: number | null;
}

export interface CoverageSummary {
  readonly format: 'lcov' | 'cobertura' | 'istanbul-summary';
  readonly lines: CoverageMeasure;
  /** Null when the report has no branch data at all. */
  readonly branches: CoverageMeasure | null;
  /** Source files in the report, when it says. */
  readonly files: number | null;
}

export interface CoverageLimits {
  /** Percent, 0-100. */
  readonly minLines: number;
  readonly minBranches?: number;
}

export function parseCoverageSummary(text: string, file: string): CoverageSummary {
  const start = stripBom(text).trimStart();
  if (start.startsWith('<')) return parseCobertura(text, file);
  if (start.startsWith('{')) return parseIstanbulSummary(text, file);
  if (start === '') throw malformedReport(file, WHAT, 'the file is empty');
  return parseLcov(text, file);
}

/** Minimums broken, each with the measured percentage; a report that measured nothing fails closed. */
export function judgeCoverage(summary: CoverageSummary, limits: CoverageLimits): string[] {
  const out: string[] = [];
  const check = (label: string, m: CoverageMeasure | null, min: number, absent: string): void => {
    if (m === null || m.pct === null) out.push(`${label}: ${absent} (minimum ${min}%)`);
    else if (m.pct < min) out.push(`${label} ${percent(m.pct)}${counts(m)} (minimum ${min}%)`);
  };
  check('lines', summary.lines, limits.minLines, 'the report measured no lines');
  if (limits.minBranches !== undefined) {
    check(
      'branches',
      summary.branches,
      limits.minBranches,
      'the report has no branch data (enable branch coverage, or drop minBranches)',
    );
  }
  return out;
}

/** "lines 77.77% (14/18), branches 50.00% (4/8)". */
export function coverageSummaryLine(summary: CoverageSummary): string {
  const part = (label: string, m: CoverageMeasure | null) =>
    m === null || m.pct === null ? `${label} n/a` : `${label} ${percent(m.pct)}${counts(m)}`;
  return `${part('lines', summary.lines)}, ${part('branches', summary.branches)}`;
}

function counts(m: CoverageMeasure): string {
  return m.covered !== null && m.total !== null ? ` (${m.covered}/${m.total})` : '';
}

function measure(covered: number, total: number): CoverageMeasure {
  return { covered, total, pct: total > 0 ? (covered / total) * 100 : null };
}

/** lcov: sum LF/LH and BRF/BRH over the records (counting DA/BRDA lines for a record without them). */
function parseLcov(text: string, file: string): CoverageSummary {
  const lines = stripBom(text).split(/\r?\n/);
  if (!lines.some((l) => l.startsWith('SF:'))) {
    throw malformedReport(file, WHAT, `no lcov records (SF: … end_of_record)${looksLike(text)}`);
  }
  const total = { lf: 0, lh: 0, brf: 0, brh: 0, files: 0, anyBranches: false };
  let rec: LcovRecord | null = null;
  const num = (value: string, n: number): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isInteger(v) || v < 0) {
      const cut = n === lines.length ? ' (truncated file?)' : '';
      throw malformedReport(file, WHAT, `line ${n}: "${lines[n - 1]}" is not a count${cut}`);
    }
    return v;
  };
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    const n = i + 1;
    if (line === '' || line.startsWith('TN:')) continue;
    if (line.startsWith('SF:')) {
      if (rec) throw malformedReport(file, WHAT, `line ${n}: a new SF: before end_of_record of ${rec.sf}`);
      rec = { sf: line.slice(3), da: 0, daHit: 0, brda: 0, brdaHit: 0 };
      continue;
    }
    if (!rec) throw malformedReport(file, WHAT, `line ${n}: "${firstChars(line)}" is outside a record`);
    const [key, value = ''] = splitOnce(line);
    switch (key) {
      case 'LF':
        rec.lf = num(value, n);
        break;
      case 'LH':
        rec.lh = num(value, n);
        break;
      case 'BRF':
        rec.brf = num(value, n);
        break;
      case 'BRH':
        rec.brh = num(value, n);
        break;
      case 'DA':
        rec.da += 1;
        if (num(value.split(',')[1] ?? '', n) > 0) rec.daHit += 1;
        break;
      case 'BRDA': {
        rec.brda += 1;
        const taken = value.split(',')[3] ?? '';
        if (taken !== '-' && num(taken, n) > 0) rec.brdaHit += 1;
        break;
      }
      case 'end_of_record':
        total.files += 1;
        // LF/LH are the tool's own summary; without them, count the DA (and BRDA) lines.
        total.lf += rec.lf ?? rec.da;
        total.lh += rec.lh ?? rec.daHit;
        if (rec.brf !== undefined || rec.brda > 0) total.anyBranches = true;
        total.brf += rec.brf ?? rec.brda;
        total.brh += rec.brh ?? rec.brdaHit;
        rec = null;
        break;
      default:
        // FN, FNDA, FNF, FNH, VER, …: function data and extensions the gate does not use.
        break;
    }
  }
  if (rec)
    throw malformedReport(file, WHAT, `the record for ${rec.sf} has no end_of_record (truncated file?)`);
  return {
    format: 'lcov',
    lines: measure(total.lh, total.lf),
    branches: total.anyBranches ? measure(total.brh, total.brf) : null,
    files: total.files,
  };
}

/** Cobertura: the root's lines-covered/lines-valid (or line-rate) and branches-covered/branches-valid (or branch-rate). */
function parseCobertura(text: string, file: string): CoverageSummary {
  const root = parseXmlReport(text, file, WHAT);
  if (root.name !== 'coverage') {
    throw malformedReport(
      file,
      WHAT,
      `the root element is <${root.name}>, not Cobertura's <coverage>${looksLike(text)}`,
    );
  }
  const a = root.attrs;
  const rate = (name: string): number | null => {
    if (a[name] === undefined) return null;
    const v = Number(a[name]);
    if (!Number.isFinite(v) || v < 0 || v > 1)
      throw malformedReport(file, WHAT, `${name}="${a[name]}" is not a rate from 0 to 1`);
    return v;
  };
  const int = (name: string): number | null => {
    const v = a[name] === undefined ? Number.NaN : Number(a[name]);
    return Number.isInteger(v) && v >= 0 ? v : null;
  };
  const fromRoot = (covered: string, valid: string, rateName: string): CoverageMeasure | null => {
    const c = int(covered);
    const t = int(valid);
    if (c !== null && t !== null) return measure(c, t);
    const r = rate(rateName);
    return r === null ? null : { covered: null, total: null, pct: r * 100 };
  };
  const lines = fromRoot('lines-covered', 'lines-valid', 'line-rate');
  if (lines === null)
    throw malformedReport(file, WHAT, '<coverage> has neither lines-valid/lines-covered nor line-rate');
  return {
    format: 'cobertura',
    lines,
    branches: fromRoot('branches-covered', 'branches-valid', 'branch-rate'),
    files: null,
  };
}

/** istanbul's json-summary reporter (`coverage-summary.json`): the `total` entry. */
function parseIstanbulSummary(text: string, file: string): CoverageSummary {
  const doc = parseJsonReport(text, file, WHAT);
  const total = isObject(doc) && isObject(doc.total) ? doc.total : undefined;
  if (!total || !isObject(total.lines)) {
    throw malformedReport(
      file,
      WHAT,
      `a JSON file without "total.lines" (istanbul coverage-summary.json)${looksLike(text)}`,
    );
  }
  const read = (m: unknown): CoverageMeasure | null => {
    if (!isObject(m) || typeof m.total !== 'number' || typeof m.covered !== 'number') return null;
    return measure(m.covered, m.total);
  };
  const lines = read(total.lines);
  if (lines === null) throw malformedReport(file, WHAT, '"total.lines" has no total/covered counts');
  return {
    format: 'istanbul-summary',
    lines,
    branches: read(total.branches),
    files: Object.keys(doc as object).length - 1,
  };
}

interface LcovRecord {
  readonly sf: string;
  lf?: number;
  lh?: number;
  brf?: number;
  brh?: number;
  /** DA and BRDA lines seen, and those with hits, for a record without LF/LH or BRF/BRH. */
  da: number;
  daHit: number;
  brda: number;
  brdaHit: number;
}

function splitOnce(line: string): [string, string] {
  const i = line.indexOf(':');
  return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
}

function firstChars(line: string): string {
  return line.length > 40 ? `${line.slice(0, 40)}…` : line;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
