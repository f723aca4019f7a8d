/** One HTTP request judged against expectations (status, body, latency); shared by `http` steps and smoke checks. */

import { SlipwayError } from '../core/errors.js';
import type { HttpCheckSpec } from '../core/process.js';
import { renderRecord, renderTemplate } from '../core/template.js';
import { publicScope } from './command-runner.js';
import type { StepRuntime } from './step-executor.js';

const MAX_BODY_SHOWN = 200;

export interface HttpCheckResult {
  readonly status: number;
  readonly latencyMs: number;
  readonly summary: string;
}

export async function runHttpCheck(
  rt: StepRuntime,
  spec: HttpCheckSpec,
  where: string,
): Promise<HttpCheckResult> {
  const url = renderTemplate(spec.url, publicScope(rt), `${where}.url`);
  const headers = renderRecord(spec.headers, rt.scope, `${where}.headers`);
  const body = spec.body === undefined ? undefined : renderTemplate(spec.body, rt.scope, `${where}.body`);
  const label = `${spec.method} ${url}`;
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: spec.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: rt.signal,
      redirect: 'manual',
    });
    text = await response.text();
  } catch (e) {
    const reason = rt.signal.aborted ? 'timed out' : describeFetchError(e);
    throw new SlipwayError(
      rt.signal.aborted ? 'SLW_STEP_TIMEOUT' : 'SLW_STEP_FAILED',
      `${label}: ${reason}`,
      {
        hint: 'is the service listening on that address and port?',
        cause: e,
      },
    );
  }
  const latencyMs = Math.round(performance.now() - started);
  const shown = rt.redact(text.length > MAX_BODY_SHOWN ? `${text.slice(0, MAX_BODY_SHOWN)}…` : text).trim();
  rt.output(`${label} → ${response.status} in ${latencyMs}ms\n`);
  if (!spec.expectStatus.includes(response.status)) {
    throw new SlipwayError(
      'SLW_STEP_FAILED',
      `${label} answered ${response.status}, expected ${spec.expectStatus.join(' or ')}${shown ? `: ${shown}` : ''}`,
    );
  }
  if (spec.expectBody !== undefined) {
    const expected = renderTemplate(spec.expectBody, publicScope(rt), `${where}.expect.body`);
    if (!bodyMatches(text, expected)) {
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        `${label}: body does not ${describeExpectation(expected)}; got: ${shown}`,
      );
    }
  }
  if (spec.maxLatencyMs !== undefined && latencyMs > spec.maxLatencyMs) {
    throw new SlipwayError('SLW_STEP_FAILED', `${label} took ${latencyMs}ms, limit ${spec.maxLatencyMs}ms`);
  }
  return { status: response.status, latencyMs, summary: `${response.status} in ${latencyMs}ms` };
}

/** `/regex/flags` matches as a regular expression, anything else as a substring. */
export function bodyMatches(body: string, expected: string): boolean {
  const re = /^\/(.+)\/([dgimsuy]*)$/s.exec(expected);
  if (re) return new RegExp(re[1] as string, re[2]).test(body);
  return body.includes(expected);
}

function describeExpectation(expected: string): string {
  return expected.startsWith('/') ? `match ${expected}` : `contain "${expected}"`;
}

/** A readable cause: the network code fetch hides in `cause` ("connection refused"), else the message. */
export function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } } | null | undefined)?.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return e instanceof Error ? e.message : String(e);
}
