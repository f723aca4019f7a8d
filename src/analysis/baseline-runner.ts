/** Measures the monitors for a while against the release serving now: the baseline a bake compares with. */

import { type AnalysisCriteria, computeBaseline, type MonitorBaseline } from '../core/analysis.js';
import type { Monitor, MonitorSample } from '../core/ports.js';
import { sampleAll, sleepUntil } from './sample-rounds.js';

export interface BaselineOptions {
  readonly monitors: readonly { readonly monitor: Monitor; readonly criteria: AnalysisCriteria }[];
  readonly durationMs: number;
  /** Time between sample rounds. */
  readonly everyMs: number;
  readonly signal: AbortSignal;
  /** Each round's samples, for live output. */
  readonly onRound?: (round: number, of: number, samples: ReadonlyMap<string, MonitorSample>) => void;
}

export async function measureBaseline(options: BaselineOptions): Promise<MonitorBaseline[]> {
  const rounds = Math.max(1, Math.floor(options.durationMs / options.everyMs));
  const taken = new Map<string, MonitorSample[]>(options.monitors.map((m) => [m.monitor.id, []]));
  const started = Date.now();
  for (let round = 0; round < rounds; round++) {
    await sleepUntil(started + round * options.everyMs, options.signal);
    const samples = await sampleAll(
      options.monitors.map((m) => m.monitor),
      options.signal,
    );
    for (const [id, s] of samples) taken.get(id)?.push(s);
    options.onRound?.(round + 1, rounds, samples);
  }
  return options.monitors.map((m) => computeBaseline(m.criteria, taken.get(m.monitor.id) ?? []));
}
