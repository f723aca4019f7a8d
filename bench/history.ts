/** History: `slipway history --json` over a store of 10,000 deployments, end to end, against bare Node start-up. */

import path from 'node:path';
import type { NewEvent } from '../src/core/events.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { createdEvent } from '../test/store-fixtures.js';
import { BIN, timeProcess, withTempDir } from './bench-util.js';

export const DEPLOYMENTS = 10_000;

export interface HistoryResult {
  readonly fillMs: number;
  readonly historyMs: readonly number[];
  readonly nodeStartMs: readonly number[];
  /** `slipway --version`: loading the CLI without opening a store, to separate start-up from the listing. */
  readonly cliStartMs: readonly number[];
  readonly rows: number;
  readonly outputBytes: number;
}

/** Deployment `i`: alternating environments, a release per deployment (the same builder the store tests use). */
function created(i: number): NewEvent<'deployment.created'> {
  return createdEvent({
    environment: ['staging', 'production'][i % 2]!,
    release: `1.${Math.floor(i / 100)}.${i % 100}`,
    user: 'bench',
  });
}

/** Fills the store through its own API (one transaction per call), with a clock that moves a minute a deployment. */
async function fill(file: string): Promise<number> {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const tick = (): Date => {
    clock += 60_000;
    return new Date(clock);
  };
  const store = await openSqliteStore(file, { now: tick });
  const started = performance.now();
  try {
    for (let i = 0; i < DEPLOYMENTS; i++) {
      const { deployment } = await store.createDeployment(created(i));
      // Every tenth fails, so the projection holds more than one outcome (and a reason).
      await store.append(deployment.id, 1, [
        { type: 'deployment.runner', payload: { runner: 'bench', resumed: false } },
        i % 10 === 9
          ? { type: 'deployment.failed', payload: { reason: 'smoke check failed', code: 'SLW_STEP_FAILED' } }
          : { type: 'deployment.succeeded', payload: { durationMs: 42_000 } },
      ]);
    }
  } finally {
    await store.close();
  }
  return performance.now() - started;
}

/** Interleaves the runs (Node start-up, CLI start-up, history) so that machine noise hits all alike. */
export async function benchHistory(runs: number): Promise<HistoryResult> {
  return withTempDir('slipway-bench-history-', async (dir) => {
    const file = path.join(dir, 'slipway.db');
    const fillMs = await fill(file);
    const historyMs: number[] = [];
    const nodeStartMs: number[] = [];
    const cliStartMs: number[] = [];
    let rows = -1;
    let outputBytes = 0;
    // One untimed run of each, so both start with warm file caches.
    await timeProcess(process.execPath, ['-e', '0']);
    await timeProcess(process.execPath, [BIN, 'history', '--json', '--store', file], { cwd: dir });
    for (let i = 0; i < runs; i++) {
      nodeStartMs.push((await timeProcess(process.execPath, ['-e', '0'])).ms);
      cliStartMs.push((await timeProcess(process.execPath, [BIN, '--version'], { cwd: dir })).ms);
      const run = await timeProcess(process.execPath, [BIN, 'history', '--json', '--store', file], {
        cwd: dir,
      });
      if (run.code !== 0) throw new Error(`history exited ${run.code}: ${run.stderr}`);
      historyMs.push(run.ms);
      rows = (JSON.parse(run.stdout) as unknown[]).length;
      outputBytes = Buffer.byteLength(run.stdout);
    }
    return { fillMs, historyMs, nodeStartMs, cliStartMs, rows, outputBytes };
  });
}
