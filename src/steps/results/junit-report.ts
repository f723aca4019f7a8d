/** Reads JUnit XML (vitest, jest-junit, Maven Surefire, node --test, pytest) into counts and the failing tests. */

import { firstLine, plural } from './gate-text.js';
import { looksLike, malformedReport } from './malformed-report.js';
import { parseXmlReport, type XmlElement } from './xml-tree.js';

const WHAT = 'a JUnit XML report';

export interface JunitFailure {
  /** `suite › name`, e.g. "cart.fixture.ts › cart > rounds to cents". */
  readonly test: string;
  readonly kind: 'failure' | 'error';
  /** First line of the failure message (or of its text when there is no message attribute). */
  readonly message: string;
}

export interface JunitReport {
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  /** Skipped and todo tests: they did not run. */
  readonly skipped: number;
  /** From the report's `time` attributes, when it has them. */
  readonly timeSeconds: number | null;
  readonly failed: readonly JunitFailure[];
}

export interface JunitLimits {
  /** Failures plus errors allowed. */
  readonly maxFailures: number;
  readonly maxSkipped?: number;
  readonly minTests: number;
}

/**
 * Counts come from the `<testcase>` elements, not the suites' attributes: the tools disagree on what those
 * count (jest-junit leaves todo tests out, node puts top-level tests outside any suite). A report that
 * declares more failures than it lists still fails, so a gate never passes on numbers it could not read.
 */
export function parseJunitReport(text: string, file: string): JunitReport {
  const root = parseXmlReport(text, file, WHAT);
  if (root.name !== 'testsuites' && root.name !== 'testsuite') {
    throw malformedReport(
      file,
      WHAT,
      `the root element is <${root.name}>, expected <testsuites> or <testsuite>${looksLike(text)}`,
    );
  }
  const acc = { tests: 0, failures: 0, errors: 0, skipped: 0, failed: [] as JunitFailure[] };
  const visit = (el: XmlElement, suites: readonly string[]): void => {
    for (const child of el.children) {
      if (child.name === 'testsuite' || child.name === 'testsuites') {
        const name = child.attrs.name?.trim();
        visit(child, name ? [...suites, name] : suites);
      } else if (child.name === 'testcase') {
        countCase(child, suites, acc);
      }
    }
  };
  const rootName = root.name === 'testsuite' ? root.attrs.name?.trim() : undefined;
  visit(root, rootName ? [rootName] : []);

  const declared = declaredFailed(root);
  const listed = acc.failures + acc.errors;
  if (declared > listed) {
    acc.failed.push({
      test: `(${plural(declared - listed, 'test')} the report counts as failed without a <testcase>)`,
      kind: 'failure',
      message: 'see the report',
    });
    acc.failures += declared - listed;
  }
  return { ...acc, timeSeconds: reportTime(root) };
}

/** Adds several reports up (a glob matched more than one file). */
export function sumJunitReports(reports: readonly JunitReport[]): JunitReport {
  const times = reports.map((r) => r.timeSeconds).filter((t): t is number => t !== null);
  return {
    tests: sum(reports.map((r) => r.tests)),
    failures: sum(reports.map((r) => r.failures)),
    errors: sum(reports.map((r) => r.errors)),
    skipped: sum(reports.map((r) => r.skipped)),
    timeSeconds: times.length > 0 ? sum(times) : null,
    failed: reports.flatMap((r) => r.failed),
  };
}

/** The limits broken, each naming the number and the threshold; empty when the gate passes. */
export function judgeJunit(report: JunitReport, limits: JunitLimits): string[] {
  const out: string[] = [];
  const failed = report.failures + report.errors;
  if (failed > limits.maxFailures) {
    out.push(`${failed} failed (maximum ${limits.maxFailures})`);
  }
  if (limits.maxSkipped !== undefined && report.skipped > limits.maxSkipped) {
    out.push(`${report.skipped} skipped (maximum ${limits.maxSkipped})`);
  }
  if (report.tests < limits.minTests) {
    out.push(`${plural(report.tests, 'test')} (minimum ${limits.minTests})`);
  }
  return out;
}

/** "412 tests, 2 failed (1 error), 3 skipped". */
export function junitSummary(report: JunitReport): string {
  const failed = report.failures + report.errors;
  const errors = report.errors > 0 ? ` (${plural(report.errors, 'error')})` : '';
  return `${plural(report.tests, 'test')}, ${failed} failed${errors}, ${report.skipped} skipped`;
}

function countCase(
  el: XmlElement,
  suites: readonly string[],
  acc: { tests: number; failures: number; errors: number; skipped: number; failed: JunitFailure[] },
): void {
  acc.tests += 1;
  // Surefire's <flakyFailure>/<rerunFailure> describe reruns; only <failure> and <error> mean it failed.
  const problem = el.children.find((c) => c.name === 'failure' || c.name === 'error');
  if (problem) {
    const kind = problem.name as 'failure' | 'error';
    if (kind === 'failure') acc.failures += 1;
    else acc.errors += 1;
    acc.failed.push({ test: testName(el, suites), kind, message: messageOf(problem) });
    return;
  }
  if (el.children.some((c) => c.name === 'skipped')) acc.skipped += 1;
}

function testName(el: XmlElement, suites: readonly string[]): string {
  const name = el.attrs.name?.trim() || el.attrs.classname?.trim() || '(unnamed test)';
  const classname = el.attrs.classname?.trim() ?? '';
  // pytest's suite is just "pytest" and its classname says where the test is; node writes classname="test"
  // everywhere, vitest and Surefire repeat the suite name, jest-junit the test name.
  const informative =
    classname !== '' && classname !== 'test' && classname !== name && classname !== suites.at(-1);
  const prefix = informative ? classname : suites.join(' › ');
  // jest-junit repeats the describe title in the test name ("cart adds line totals").
  if (prefix === '' || name.startsWith(`${suites.at(-1)} `)) return name;
  return `${prefix} › ${name}`;
}

function messageOf(problem: XmlElement): string {
  const candidates = [problem.attrs.message, problem.text, problem.attrs.type];
  for (const c of candidates) {
    const line = c === undefined ? '' : firstLine(c);
    if (line !== '' && line !== 'true') return line;
  }
  return '(no message)';
}

/** Failures plus errors the root (or, without root numbers, its top-level suites) says the report holds. */
function declaredFailed(root: XmlElement): number {
  const own = failedAttrs(root);
  if (own !== null) return own;
  return sum(root.children.filter((c) => c.name === 'testsuite').map((c) => failedAttrs(c) ?? 0));
}

function failedAttrs(el: XmlElement): number | null {
  const f = count(el.attrs.failures);
  const e = count(el.attrs.errors);
  return f === null && e === null ? null : (f ?? 0) + (e ?? 0);
}

function reportTime(root: XmlElement): number | null {
  const own = seconds(root.attrs.time);
  if (own !== null) return own;
  // node's reporter has no root time, and puts top-level tests beside the suites.
  const parts = root.children.filter((c) => c.name === 'testsuite' || c.name === 'testcase');
  const known = parts.map((c) => seconds(c.attrs.time)).filter((t): t is number => t !== null);
  return known.length > 0 ? sum(known) : null;
}

function count(value: string | undefined): number | null {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return null;
  return Number(value);
}

function seconds(value: string | undefined): number | null {
  // Some reporters write "1,234.5" for long runs.
  const n = value === undefined ? Number.NaN : Number(value.replace(/,/g, ''));
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
