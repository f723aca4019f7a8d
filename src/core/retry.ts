/** Retry backoff: the delay before the next attempt doubles each time, up to a ceiling. Pure. */

import type { RetrySpec } from './process.js';

/** Delay before attempt `attempt + 1`, after `attempt` (1-based) failed. */
export function retryDelayMs(retry: RetrySpec, attempt: number): number {
  return Math.min(retry.delayMs * 2 ** (attempt - 1), retry.maxDelayMs);
}
