/** `load`: drives the service at a declared rate for a while, then gates on absolute limits and the last good release's numbers. */

import { formatDuration } from '../core/duration.js';
import { SlipwayError } from '../core/errors.js';
import type { LoadStep } from '../core/process.js';
import { renderRecord, renderTemplate } from '../core/template.js';
import { publicScope } from './command-runner.js';
import { type LoadSample, runLoad } from './load/load-generator.js';
import { type LoadMetrics, loadMetrics } from './load/load-metrics.js';
import {
  type BaselineLookup,
  formatChange,
  formatMs,
  formatPercent,
  judgeLoad,
  type LoadVerdict,
  pickBaseline,
} from './load/load-verdict.js';
import type { StepExecutor, StepRuntime } from './step-executor.js';

/**
 * Per-request timeout: long enough for a slow answer, short enough that a hung request is counted as a
 * timeout inside the run instead of silently vanishing when the run ends.
 */
const MIN_REQUEST_TIMEOUT_MS = 1000;
const MAX_REQUEST_TIMEOUT_MS = 5000;

const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

const HINTS: Readonly<Record<LoadVerdict['check'], string>> = {
  p95: 'the service answers too slowly at this rate: check its logs and resources, or raise "maxP95" if the limit is wrong',
  p99: 'the slowest answers are too slow at this rate: check its logs and resources, or raise "maxP99" if the limit is wrong',
  'error-rate': 'details.statusCounts shows which answers failed; the service logs say why',
  throughput:
    'raise "connections" when answers are slow, lower "rate" if the service is not meant to take it, or look at what slows the service',
  'p95-regression':
    'this release is slower than the last good one; if that is intended, raise "regression" for one deployment: its numbers become the new baseline',
  'throughput-regression':
    'this release serves less than the last good one; if that is intended, raise "regression" for one deployment: its numbers become the new baseline',
};

export const loadStep: StepExecutor<LoadStep> = {
  kind: 'load',
  async execute(step, rt) {
    const url = renderTemplate(step.url, publicScope(rt), `${step.id}.url`);
    const headers = renderRecord(step.headers, rt.scope, `${step.id}.headers`);
    const body = step.body === undefined ? undefined : renderTemplate(step.body, rt.scope, `${step.id}.body`);
    const label = `${step.method} ${url}`;
    checkUrl(url, label);

    rt.output(
      `${label}: ${step.rate}/s for ${formatDuration(step.durationMs)} over ${step.connections} connections\n`,
    );
    const sample = await generate(step, rt, label, {
      url,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const metrics = loadMetrics(sample);
    const base = {
      url,
      method: step.method,
      rate: step.rate,
      durationMs: step.durationMs,
      connections: step.connections,
    };

    if (sample.unreachable) {
      const what = UNREACHABLE[sample.unreachable.code] ?? sample.unreachable.code;
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        `${label}: ${what} (${sample.unreachable.message})${metrics.responses > 0 ? ` after ${metrics.responses} answers` : ''}`,
        {
          hint: 'is the service listening on that address and port?',
          details: { ...base, ...metrics, unreachable: sample.unreachable },
        },
      );
    }

    const lookup = pickBaseline(await rt.baseline(), step.rate);
    const baseline = lookup.found ? lookup.baseline : undefined;
    const verdicts = judgeLoad(metrics, step, baseline);
    const details = {
      ...base,
      ...metrics,
      // Stored for people reading history; the next run's baseline is read from the top-level numbers.
      baseline: lookup.found ? { found: true, ...lookup.baseline } : { found: false, reason: lookup.reason },
      verdicts,
    };
    const summary = summarize(metrics, lookup);
    rt.output(`${summary}\n`);
    const failed = verdicts.filter((v) => !v.ok);
    const first = failed[0];
    if (first) {
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        `${label} at ${step.rate}/s: ${failed.map((v) => v.message).join('; ')}`,
        { details, hint: HINTS[first.check] },
      );
    }
    return { summary, details };
  },
};

async function generate(
  step: LoadStep,
  rt: StepRuntime,
  label: string,
  request: { url: string; headers: Record<string, string>; body?: string },
): Promise<LoadSample> {
  try {
    return await runLoad({
      ...request,
      method: step.method,
      rate: step.rate,
      durationMs: step.durationMs,
      connections: step.connections,
      requestTimeoutMs: Math.min(
        MAX_REQUEST_TIMEOUT_MS,
        Math.max(MIN_REQUEST_TIMEOUT_MS, step.durationMs / 2),
      ),
      signal: rt.signal,
      onProgress: (p) =>
        rt.output(
          `  ${formatDuration(p.elapsedMs)}: ${p.responses} answered, ${p.currentRate.toFixed(1)} req/s now${
            p.errors > 0 ? `, ${p.errors} errors` : ''
          }\n`,
        ),
    });
  } catch (e) {
    if (rt.signal.aborted) {
      throw new SlipwayError(
        'SLW_STEP_TIMEOUT',
        `${label}: load stopped before the end (step aborted or timed out)`,
        {
          cause: e,
        },
      );
    }
    throw new SlipwayError(
      'SLW_STEP_FAILED',
      `${label}: the load generator failed: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

function checkUrl(url: string, label: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new SlipwayError('SLW_STEP_FAILED', `${label}: "${url}" is not an http(s) URL`, {
      hint: 'give the load step an absolute URL such as http://host:port/path',
    });
  }
}

/** `50.1 req/s, p95 12ms, p99 20ms, 0.0% errors (baseline p95 11ms: +9%)` */
function summarize(m: LoadMetrics, lookup: BaselineLookup): string {
  const p95 = m.latencyMs ? formatMs(m.latencyMs.p95) : '-';
  const p99 = m.latencyMs ? formatMs(m.latencyMs.p99) : '-';
  const head = `${m.throughput.toFixed(1)} req/s, p95 ${p95}, p99 ${p99}, ${formatPercent(m.errorRate)} errors`;
  if (!lookup.found || !m.latencyMs || lookup.baseline.p95Ms <= 0) return `${head} (baseline recorded)`;
  const change = (m.latencyMs.p95 - lookup.baseline.p95Ms) / lookup.baseline.p95Ms;
  return `${head} (baseline p95 ${formatMs(lookup.baseline.p95Ms)}: ${formatChange(change)})`;
}
