/** The error a result gate raises for a report it cannot understand: the gate fails closed, naming the file and why. */

import { SlipwayError } from '../../core/errors.js';

/** `<file>: not a JUnit XML report: <reason>`, as SLW_STEP_FAILED (a broken report must never pass a gate). */
export function malformedReport(file: string, what: string, reason: string): SlipwayError {
  return new SlipwayError('SLW_STEP_FAILED', `${file}: not ${what}: ${reason}`, {
    hint: 'the gate fails closed on a report it cannot read: check the step that writes it, and the path',
    details: { file, malformed: true },
  });
}

/** Whether the text is empty or only whitespace (the commonest broken report: the tool died before writing). */
export function isBlank(text: string): boolean {
  return text.trim() === '';
}

/** Parses JSON or explains why not, in words for a person (empty file, truncated, XML instead of JSON). */
export function parseJsonReport(text: string, file: string, what: string): unknown {
  if (isBlank(text)) throw malformedReport(file, what, 'the file is empty');
  try {
    return JSON.parse(stripBom(text));
  } catch (e) {
    const start = text.trimStart();
    const reason = start.startsWith('<')
      ? `it is XML, not JSON${looksLike(start)}`
      : `invalid JSON (${(e as Error).message}${/end of (JSON )?input|Unterminated/i.test((e as Error).message) ? ': truncated?' : ''})`;
    throw malformedReport(file, what, reason);
  }
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** "; it looks like X" for a few report formats a path mix-up commonly feeds to the wrong gate. */
export function looksLike(text: string): string {
  const kind = formatOf(text);
  return kind ? `; it looks like ${kind}` : '';
}

function formatOf(text: string): string | undefined {
  const head = text.slice(0, 4000);
  if (/<testsuites?[\s>]/.test(head)) return 'a JUnit XML report';
  if (/<coverage[\s>]/.test(head)) return 'a Cobertura coverage report';
  if (/"\$schema"\s*:\s*"[^"]*sarif|"version"\s*:\s*"2\.1\.0"[\s\S]*"runs"/.test(head)) return 'a SARIF log';
  if (/"auditReportVersion"|"advisories"\s*:/.test(head)) return 'npm audit output';
  if (/^\s*\{\s*"results"\s*:\s*\[/.test(head)) return "hyperfine's JSON export";
  if (/^(TN|SF):/m.test(head) && /end_of_record/.test(text)) return 'an lcov tracefile';
  if (/^\s*\{\s*"total"\s*:\s*\{/.test(head)) return 'an istanbul coverage summary';
  return undefined;
}
