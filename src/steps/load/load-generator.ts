/** Drives one URL at a fixed rate for a fixed time with autocannon and returns the raw sample (latencies, statuses, errors). */

import autocannon from 'autocannon';

export interface LoadRunOptions {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Requests per second across all connections. */
  readonly rate: number;
  readonly durationMs: number;
  readonly connections: number;
  /** A request unanswered this long counts as a timeout (autocannon needs at least 1 s). */
  readonly requestTimeoutMs: number;
  /** Aborting stops the load within ~SAMPLE_INTERVAL_MS and rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /** Called about once a second while the load runs. */
  readonly onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  readonly elapsedMs: number;
  readonly responses: number;
  readonly errors: number;
  /** Responses per second over the last interval. */
  readonly currentRate: number;
}

/** What one run measured, restricted to requests started inside the declared duration. */
export interface LoadSample {
  /** How long the load ran (ms), at most the declared duration; shorter when cut short. */
  readonly windowMs: number;
  /** Answered requests. */
  readonly responses: number;
  /**
   * Latencies (ms, sub-millisecond precision) of the answered requests, less each connection's first one, which
   * also pays for the TCP connect and the cold code paths on both sides (3-20 ms on loopback): in a short run
   * those few samples alone would decide p95. When no connection answered twice, all answers are kept.
   */
  readonly latenciesMs: readonly number[];
  /** Answered requests per HTTP status. */
  readonly statusCounts: Readonly<Record<string, number>>;
  /** Requests lost to a connection error (refused, reset, ...). */
  readonly connectionErrors: number;
  readonly timeouts: number;
  /** Set when the run was cut short because the address refuses or cannot be resolved. */
  readonly unreachable?: { readonly code: string; readonly message: string };
}

/**
 * The run polls its stop flag this often, so an abort or the end of the duration takes effect within it.
 * autocannon's default (1 s) would let the load run up to a second past an abort.
 */
export const SAMPLE_INTERVAL_MS = 25;
/** Past the declared duration, the run is stopped by force after this long, whatever the generator does. */
export const STOP_GRACE_MS = 1000;

// Errors that mean nobody will answer at that address: retrying (autocannon reconnects at once, thousands of
// times a second) only spins the CPU, so the run stops and reports the address.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function runLoad(options: LoadRunOptions): Promise<LoadSample> {
  const { signal, durationMs } = options;
  if (signal.aborted) return Promise.reject(signal.reason);
  const latenciesMs: number[] = [];
  const firstLatenciesMs: number[] = [];
  const warmedUp = new Set<unknown>();
  const statusCounts: Record<string, number> = {};
  let connectionErrors = 0;
  let timeouts = 0;
  let unreachable: LoadSample['unreachable'];
  const started = performance.now();

  return new Promise<LoadSample>((resolve, reject) => {
    let instance: ReturnType<typeof autocannon>;
    try {
      instance = autocannon({
        url: options.url,
        method: options.method,
        headers: { ...options.headers },
        ...(options.body === undefined ? {} : { body: options.body }),
        connections: options.connections,
        // autocannon's rate is a per-second quota per connection; it takes whole requests per second.
        overallRate: Math.max(1, Math.round(options.rate)),
        duration: durationMs / 1000,
        timeout: Math.max(1, options.requestTimeoutMs / 1000),
        sampleInt: SAMPLE_INTERVAL_MS,
        // With a rate, autocannon "corrects" latencies with an expected interval of ceil(1/rate) — 1 ms for
        // any rate >= 1 — which back-fills ~latency fake samples per response and halves the percentiles.
        ignoreCoordinatedOmission: true,
      });
    } catch (e) {
      // Invalid requests (an unsupported method, say) throw while the connections are set up.
      reject(e);
      return;
    }

    let settled = false;
    let stopping = false;
    let forced: NodeJS.Timeout | undefined;
    let lastResponses = 0;
    let lastTick = started;

    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      instance.stop();
      // If autocannon never reports back (a bug, a wedged socket), settle anyway: the step must not hang.
      forced = setTimeout(() => finish(new Error('the load generator did not stop in time')), STOP_GRACE_MS);
    };
    const onAbort = (): void => stop();
    const deadline = setTimeout(stop, durationMs + STOP_GRACE_MS);
    const progress = setInterval(() => {
      const now = performance.now();
      const responses = latenciesMs.length + firstLatenciesMs.length;
      options.onProgress?.({
        elapsedMs: now - started,
        responses,
        errors: connectionErrors + timeouts,
        currentRate: ((responses - lastResponses) * 1000) / (now - lastTick),
      });
      lastResponses = responses;
      lastTick = now;
    }, 1000);

    function finish(error: unknown): void {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(forced);
      clearInterval(progress);
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) reject(signal.reason);
      else if (error !== undefined) reject(error);
      else {
        resolve({
          windowMs: Math.min(durationMs, performance.now() - started),
          responses: latenciesMs.length + firstLatenciesMs.length,
          latenciesMs: latenciesMs.length > 0 ? latenciesMs : firstLatenciesMs,
          statusCounts,
          connectionErrors,
          timeouts,
          ...(unreachable ? { unreachable } : {}),
        });
      }
    }

    signal.addEventListener('abort', onAbort, { once: true });
    instance.on('response', (client, statusCode, _bytes, responseTimeMs) => {
      // Each connection sends its per-second quota at the start of every second, including the second that
      // begins exactly when the duration ends; requests started from then on are past the declared run.
      if (performance.now() - responseTimeMs - started >= durationMs) return;
      if (warmedUp.has(client)) latenciesMs.push(responseTimeMs);
      else {
        warmedUp.add(client);
        firstLatenciesMs.push(responseTimeMs);
      }
      statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    });
    instance.on('reqError', (error) => {
      if (error.code === undefined) {
        timeouts++;
        return;
      }
      connectionErrors++;
      if (UNREACHABLE_CODES.has(error.code)) {
        unreachable ??= { code: error.code, message: error.message };
        stop();
      }
    });
    instance.then(
      () => finish(undefined),
      (e: unknown) => finish(e ?? new Error('the load generator failed')),
    );
  });
}
