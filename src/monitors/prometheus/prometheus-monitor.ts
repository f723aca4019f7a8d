/** `prometheus` monitor: an instant or range PromQL query against a Prometheus HTTP API, read down to one number. */

import type { Monitor } from '../../core/ports.js';
import type { MonitorSpec } from '../../core/process.js';
import { renderRecord, renderTemplate } from '../../core/template.js';
import { type FetchedResponse, fetchResponse } from '../fetch-response.js';
import { type MonitorContext, publicScope } from '../monitor-context.js';
import { errorText, type ProbeResult, takeSample } from '../monitor-sampling.js';
import { readPrometheusAnswer } from './prometheus-result.js';

type Spec = Extract<MonitorSpec, { kind: 'prometheus' }>;

export function prometheusMonitor(spec: Spec, context: MonitorContext): Monitor {
  const where = `monitors.${spec.id}.prometheus`;
  const p = spec.prometheus;
  const base = renderTemplate(p.url, publicScope(context.scope), `${where}.url`).replace(/\/+$/, '');
  const headers = renderRecord(p.headers, context.scope, `${where}.headers`);
  // Prometheus stops evaluating a query after its `timeout`; ask it to give up a little before we do.
  const serverTimeout = `${Math.max(1, Math.floor((spec.timeoutMs * 0.9) / 1000))}s`;

  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    const nowS = Date.now() / 1000;
    const params = new URLSearchParams({ query: p.query, timeout: serverTimeout });
    let path = '/api/v1/query';
    if (p.range) {
      path = '/api/v1/query_range';
      params.set('start', (nowS - p.range.windowMs / 1000).toFixed(3));
      params.set('end', nowS.toFixed(3));
      // Seconds as a float: Prometheus' duration syntax has no "0.5s".
      params.set('step', String(p.range.stepMs / 1000));
    } else {
      params.set('time', nowS.toFixed(3));
    }
    let res: FetchedResponse;
    try {
      res = await fetchResponse(
        {
          url: `${base}${path}?${params}`,
          method: 'GET',
          headers: { accept: 'application/json', ...headers },
        },
        signal,
      );
    } catch (e) {
      if (signal.aborted) throw e;
      // The request URL repeats the query: name the server and the cause only.
      return { ok: false, detail: `Prometheus at ${base}: ${errorText((e as Error).cause ?? e)}` };
    }
    return readPrometheusAnswer(res.status, res.text, p.query, p.range?.aggregate);
  };

  const shape = p.range ? `${p.range.aggregate} over ${p.range.windowMs / 1000}s of` : 'instant';
  return {
    id: spec.id,
    description: `prometheus ${shape} ${p.query} at ${base}`,
    sample: (signal) => takeSample(signal, spec.timeoutMs, context.redact, probe),
  };
}
