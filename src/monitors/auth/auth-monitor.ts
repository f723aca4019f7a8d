/** `auth` monitor: a login or token request must succeed and (with `tokenPath`) hand out a token; value = latency in ms. */

import type { Monitor } from '../../core/ports.js';
import type { MonitorSpec } from '../../core/process.js';
import { makeRedactor } from '../../core/redact.js';
import { renderRecord, renderTemplate } from '../../core/template.js';
import { bodyMatches } from '../../steps/http-check.js';
import { fetchResponse, parseJson } from '../fetch-response.js';
import { resolveJsonPath } from '../json/json-path.js';
import { type MonitorContext, publicScope } from '../monitor-context.js';
import { type ProbeResult, snippet, takeSample } from '../monitor-sampling.js';

type Spec = Extract<MonitorSpec, { kind: 'auth' }>;

export function authMonitor(spec: Spec, context: MonitorContext): Monitor {
  const where = `monitors.${spec.id}.auth`;
  const a = spec.auth;
  const body = a.body === undefined ? undefined : renderTemplate(a.body, context.scope, `${where}.body`);
  const headers = renderRecord(a.headers, context.scope, `${where}.headers`);
  // A JSON login body is what nearly every login endpoint wants: say so unless the file says otherwise.
  if (
    body !== undefined &&
    parseJson(body).ok &&
    !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
  ) {
    headers['content-type'] = 'application/json';
  }
  const expectBody =
    a.expectBody === undefined
      ? undefined
      : renderTemplate(a.expectBody, publicScope(context.scope), `${where}.expect.body`);
  const request = {
    url: renderTemplate(a.url, publicScope(context.scope), `${where}.url`),
    method: a.method,
    headers,
    ...(body === undefined ? {} : { body }),
  };

  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    const res = await fetchResponse(request, signal);
    const seen = `${res.status} in ${res.latencyMs} ms`;
    // A token the server handed out is a credential too: never shown, even inside an error body.
    const token = tokenIn(res.text, a.tokenPath);
    const hide = token === undefined ? (t: string) => t : makeRedactor([token]);
    const fail = (why: string): ProbeResult => ({
      ok: false,
      value: res.latencyMs,
      detail: hide(`${seen}: ${why}`),
    });
    if (!a.expectStatus.includes(res.status)) {
      const body = snippet(res.text);
      return fail(`login refused, expected ${a.expectStatus.join(' or ')}${body ? `; body: ${body}` : ''}`);
    }
    if (expectBody !== undefined && !bodyMatches(res.text, expectBody)) {
      return fail(`body does not ${expectBody.startsWith('/') ? 'match' : 'contain'} ${expectBody}`);
    }
    if (a.tokenPath !== undefined && token === undefined) {
      return fail(`no token at ${a.tokenPath} in the response`);
    }
    if (a.maxLatencyMs !== undefined && res.latencyMs > a.maxLatencyMs) {
      return fail(`slower than the ${a.maxLatencyMs} ms limit`);
    }
    const got = token === undefined ? '' : `, token received (${token.length} characters)`;
    return { ok: true, value: res.latencyMs, detail: `${seen}${got}` };
  };

  return {
    id: spec.id,
    description: `auth ${request.method} ${request.url}`,
    sample: (signal) => takeSample(signal, spec.timeoutMs, context.redact, probe),
  };
}

/** A non-empty string (or number) at `path` of a JSON body. */
function tokenIn(text: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const doc = parseJson(text);
  if (!doc.ok) return undefined;
  const found = resolveJsonPath(doc.value, path);
  if (!found.found) return undefined;
  const v = found.value;
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}
