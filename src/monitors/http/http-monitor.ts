/** `http` monitor: status, body text, JSON path assertions and latency of one request; its value is the latency in ms. */

import type { Monitor } from '../../core/ports.js';
import type { JsonScalar, MonitorSpec } from '../../core/process.js';
import { renderRecord, renderTemplate } from '../../core/template.js';
import { bodyMatches } from '../../steps/http-check.js';
import { fetchResponse, parseJson } from '../fetch-response.js';
import { resolveJsonPath } from '../json/json-path.js';
import { type MonitorContext, publicScope } from '../monitor-context.js';
import { type ProbeResult, snippet, takeSample } from '../monitor-sampling.js';

type Spec = Extract<MonitorSpec, { kind: 'http' }>;

export function httpMonitor(spec: Spec, context: MonitorContext): Monitor {
  const where = `monitors.${spec.id}.http`;
  const h = spec.http;
  const request = {
    url: renderTemplate(h.url, publicScope(context.scope), `${where}.url`),
    method: h.method,
    headers: renderRecord(h.headers, context.scope, `${where}.headers`),
    ...(h.body === undefined ? {} : { body: renderTemplate(h.body, context.scope, `${where}.body`) }),
  };
  const expectBody =
    h.expectBody === undefined
      ? undefined
      : renderTemplate(h.expectBody, publicScope(context.scope), `${where}.expect.body`);

  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    const res = await fetchResponse(request, signal);
    const seen = `${res.status} in ${res.latencyMs} ms`;
    const fail = (why: string): ProbeResult => ({
      ok: false,
      value: res.latencyMs,
      detail: `${seen}: ${why}`,
    });
    if (!h.expectStatus.includes(res.status)) {
      const body = snippet(res.text);
      return fail(`expected ${h.expectStatus.join(' or ')}${body ? `; body: ${body}` : ''}`);
    }
    if (expectBody !== undefined && !bodyMatches(res.text, expectBody)) {
      return fail(`body does not ${expectBody.startsWith('/') ? 'match' : 'contain'} ${expectBody}`);
    }
    const jsonProblem = checkJson(res.text, h.expectJson);
    if (jsonProblem !== undefined) return fail(jsonProblem);
    if (h.maxLatencyMs !== undefined && res.latencyMs > h.maxLatencyMs) {
      return fail(`slower than the ${h.maxLatencyMs} ms limit`);
    }
    return { ok: true, value: res.latencyMs, detail: seen };
  };

  return {
    id: spec.id,
    description: `http ${request.method} ${request.url}`,
    sample: (signal) => takeSample(signal, spec.timeoutMs, context.redact, probe),
  };
}

/** The first JSON assertion that does not hold, described; undefined when all hold. */
export function checkJson(text: string, expected: Readonly<Record<string, JsonScalar>>): string | undefined {
  const paths = Object.keys(expected);
  if (paths.length === 0) return undefined;
  const doc = parseJson(text);
  if (!doc.ok) return `body is not JSON (${snippet(text) || 'empty'})`;
  for (const path of paths) {
    const want = expected[path] as JsonScalar;
    const got = resolveJsonPath(doc.value, path);
    if (!got.found) return `${path} is missing, expected ${JSON.stringify(want)}`;
    if (got.value !== want)
      return `${path} is ${snippet(JSON.stringify(got.value) ?? 'undefined')}, expected ${JSON.stringify(want)}`;
  }
  return undefined;
}
