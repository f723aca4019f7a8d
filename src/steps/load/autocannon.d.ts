/** The slice of autocannon 9 (untyped CommonJS) that the load generator uses; nothing outside src/steps/load imports it. */

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface AutocannonOptions {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Requests per second across all connections (a per-second quota split over the connections). */
    overallRate?: number;
    /** Per-request timeout, seconds (at least 1). */
    timeout?: number;
    /** How often (ms) the run polls its stop flag and samples counters. */
    sampleInt?: number;
    ignoreCoordinatedOmission?: boolean;
  }

  interface AutocannonInstance extends EventEmitter, PromiseLike<unknown> {
    /** Ends the run at its next sample tick; the promise then resolves (with a result this step does not read). */
    stop(): void;
    on(
      event: 'response',
      listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void,
    ): this;
    /** A connection error (with `code`) or a timeout ("request timed out", no code). */
    on(event: 'reqError', listener: (error: Error & { code?: string }) => void): this;
  }

  function autocannon(options: AutocannonOptions): AutocannonInstance;
  export default autocannon;
}
