/** `json` monitor: one number read at a JSON path of an HTTP response (queue depth, cache hit ratio, …). */

import type { Monitor } from '../../core/ports.js';
import type { MonitorSpec } from '../../core/process.js';
import { renderRecord, renderTemplate } from '../../core/template.js';
import { fetchResponse, parseJson } from '../fetch-response.js';
import { type MonitorContext, publicScope } from '../monitor-context.js';
import { formatValue, type ProbeResult, snippet, takeSample } from '../monitor-sampling.js';
import { resolveJsonPath } from './json-path.js';

type Spec = Extract<MonitorSpec, { kind: 'json' }>;

export function jsonMonitor(spec: Spec, context: MonitorContext): Monitor {
  const where = `monitors.${spec.id}.json`;
  const j = spec.json;
  const request = {
    url: renderTemplate(j.url, publicScope(context.scope), `${where}.url`),
    method: 'GET',
    headers: { accept: 'application/json', ...renderRecord(j.headers, context.scope, `${where}.headers`) },
  };

  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    const res = await fetchResponse(request, signal);
    if (res.status < 200 || res.status > 299) {
      return { ok: false, detail: `${res.label} answered ${res.status}: ${snippet(res.text)}` };
    }
    const doc = parseJson(res.text);
    if (!doc.ok)
      return { ok: false, detail: `${res.label}: body is not JSON (${snippet(res.text) || 'empty'})` };
    const found = resolveJsonPath(doc.value, j.path);
    if (!found.found) return { ok: false, detail: `${res.label}: no value at ${j.path}` };
    const value = toNumber(found.value);
    if (value === undefined) {
      return {
        ok: false,
        detail: `${j.path} is ${snippet(JSON.stringify(found.value) ?? 'undefined')}, not a number`,
      };
    }
    return { ok: true, value, detail: `${j.path} = ${formatValue(value)}` };
  };

  return {
    id: spec.id,
    description: `json ${j.path} of ${request.url}`,
    sample: (signal) => takeSample(signal, spec.timeoutMs, context.redact, probe),
  };
}

/** A finite number, or a string holding one ("42", "0.5"); booleans count as 1 and 0. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
