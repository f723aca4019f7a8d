/** Samples every watched monitor at once, on a fixed cadence, for the baseline and bake runners. */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Monitor, MonitorSample } from '../core/ports.js';

/** One sample of every monitor, taken in parallel (each bounded by its own timeout). */
export async function sampleAll(
  monitors: readonly Monitor[],
  signal: AbortSignal,
): Promise<ReadonlyMap<string, MonitorSample>> {
  const samples = await Promise.all(monitors.map((m) => m.sample(signal)));
  return new Map(monitors.map((m, i) => [m.id, samples[i] as MonitorSample]));
}

/** Waits until `atMs` (epoch), or not at all when it has passed: a slow sample shortens the next wait. */
export async function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  const wait = atMs - Date.now();
  if (wait > 0) await sleep(wait, undefined, { signal });
  else signal.throwIfAborted();
}

export async function closeAll(monitors: readonly Monitor[]): Promise<void> {
  await Promise.all(monitors.map((m) => m.close?.().catch(() => undefined)));
}
