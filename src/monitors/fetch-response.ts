/** One HTTP request for a monitor: the response text and how long it took; a network failure names the request. */

import { errorText } from './monitor-sampling.js';

export interface MonitorRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface FetchedResponse {
  readonly status: number;
  readonly text: string;
  readonly latencyMs: number;
  /** `GET http://…`, for details. */
  readonly label: string;
}

/** Throws an Error naming the request when no response arrives; rethrows an abort as is. */
export async function fetchResponse(request: MonitorRequest, signal: AbortSignal): Promise<FetchedResponse> {
  const label = `${request.method} ${request.url}`;
  const started = performance.now();
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
      // A redirect to a login page must not look like a healthy 200.
      redirect: 'manual',
    });
    const text = await response.text();
    return { status: response.status, text, latencyMs: Math.round(performance.now() - started), label };
  } catch (e) {
    if (signal.aborted) throw e;
    throw new Error(`${label}: ${errorText(e)}`, { cause: e });
  }
}

/** The body as JSON, or undefined when it is not JSON. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
