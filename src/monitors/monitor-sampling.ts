/** The rules every monitor's `sample()` follows: its own timeout, failures as `ok: false`, abort as a throw, no secrets. */

import { formatDuration } from '../core/duration.js';
import type { MonitorSample } from '../core/ports.js';
import type { Redactor } from '../core/redact.js';
import { describeFetchError } from '../steps/http-check.js';

/** What a probe reports; `atMs` and redaction are added by `takeSample`. */
export type ProbeResult = Omit<MonitorSample, 'atMs'>;

/**
 * Runs one probe under `timeoutMs`. A timeout or any error becomes `ok: false` with a detail; only an
 * abort of the caller's `signal` throws (its reason), so the analysis never has to catch ordinary failures.
 */
export async function takeSample(
  signal: AbortSignal,
  timeoutMs: number,
  redact: Redactor,
  probe: (signal: AbortSignal) => Promise<ProbeResult>,
): Promise<MonitorSample> {
  signal.throwIfAborted();
  const atMs = Date.now();
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new Error('monitor timeout')), timeoutMs);
  const both = AbortSignal.any([signal, timer.signal]);
  let result: ProbeResult;
  try {
    result = await probe(both);
  } catch (e) {
    signal.throwIfAborted();
    result = {
      ok: false,
      detail: timer.signal.aborted ? `timed out after ${formatDuration(timeoutMs)}` : errorText(e),
    };
  } finally {
    clearTimeout(timeout);
  }
  // A probe may have turned the abort into a failed result: the caller asked to stop, so it throws.
  signal.throwIfAborted();
  if (timer.signal.aborted && result.ok) {
    result = { ok: false, detail: `timed out after ${formatDuration(timeoutMs)}` };
  }
  const sample: MonitorSample = {
    atMs,
    ok: result.ok,
    detail: redact(result.detail),
    ...(result.value === undefined ? {} : { value: result.value }),
  };
  return sample;
}

/** A readable cause of any error: the network code fetch hides in `cause`, else the message (as http steps say it). */
export const errorText: (e: unknown) => string = describeFetchError;

const MAX_SHOWN = 200;

/** At most 200 characters of a response body on one line, for a failure's detail (redacted later). */
export function snippet(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MAX_SHOWN ? `${one.slice(0, MAX_SHOWN)}…` : one;
}

/** A number as people read it: at most 4 significant decimals, no exponent for ordinary sizes. */
export function formatValue(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return n.toFixed(1);
  if (abs >= 0.001) return String(Number(n.toPrecision(4)));
  return n.toExponential(3);
}
