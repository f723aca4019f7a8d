/** Options every command shares (process file, store, --json) and how they resolve to paths and open resources. */

import path from 'node:path';
import type { DeploymentView } from '../core/deployment-view.js';
import { SlipwayError } from '../core/errors.js';
import type { Store } from '../core/ports.js';
import type { Process } from '../core/process.js';
import type { Engine } from '../engine/engine.js';
import { DEFAULT_STORE_PATH, openStore } from '../store/open-store.js';
import { createOutput, type Output } from './output.js';
import { progressHooks } from './progress.js';

export interface GlobalOptions {
  /** Process file. @default $SLIPWAY_FILE or ./slipway.yaml */
  readonly file?: string;
  /** Store location. @default $SLIPWAY_STORE or .slipway/slipway.db beside the process file */
  readonly store?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
  /** commander's --no-wait-for-window: false to record a window wait and return instead of sleeping. */
  readonly waitForWindow?: boolean;
}

export function processFileArg(opts: GlobalOptions): string {
  return opts.file ?? process.env.SLIPWAY_FILE ?? 'slipway.yaml';
}

export function storeLocation(opts: GlobalOptions): string {
  const explicit = opts.store ?? process.env.SLIPWAY_STORE;
  if (explicit) return explicit;
  return path.join(path.dirname(path.resolve(processFileArg(opts))), DEFAULT_STORE_PATH);
}

export function outputFor(opts: GlobalOptions): Output {
  return createOutput({ json: opts.json === true });
}

export async function loadCliProcess(opts: GlobalOptions): Promise<Process> {
  const { loadProcess } = await import('../config/load-process.js');
  return loadProcess(processFileArg(opts));
}

/** Opens the store for the duration of `fn` and always closes it. */
export async function withStore<T>(opts: GlobalOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(storeLocation(opts));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** An engine whose progress is drawn on `out`; call `stop()` when done. */
export async function engineWithProgress(
  store: Store,
  out: Output,
  opts: GlobalOptions,
): Promise<{ engine: Engine; stop(): void }> {
  const { Engine } = await import('../engine/engine.js');
  const hooks = progressHooks(out, { verbose: opts.verbose === true });
  return {
    engine: new Engine({ store, hooks, waitForWindows: opts.waitForWindow !== false }),
    stop: hooks.stop,
  };
}

/** Ctrl-C stops the runner between steps (the deployment stays resumable) instead of killing it mid-write. */
export function interruptSignal(out: Output): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    out.note(
      'stopping… (the deployment can be continued with "slipway resume"; press Ctrl-C again to quit now)',
    );
    controller.abort(new Error('interrupted by the user'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

export function parseId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) {
    throw new SlipwayError('SLW_USAGE', `"${text}" is not a deployment id`, {
      hint: 'ids are the numbers in "slipway history"',
    });
  }
  return id;
}

/** Exit code when the user stopped following (Ctrl-C): the conventional 128 + SIGINT. */
export const EXIT_INTERRUPTED = 130;

/**
 * Runs a deployment in the foreground. Ctrl-C is not an error: the deployment stays resumable, so say how
 * to continue it and report `interrupted` instead of throwing.
 */
export async function follow(
  engine: Engine,
  deploymentId: number,
  signal: AbortSignal,
  out: Output,
): Promise<{ view: DeploymentView; interrupted: boolean }> {
  try {
    return { view: await engine.run(deploymentId, signal), interrupted: false };
  } catch (e) {
    if (!signal.aborted) throw e;
    const view = await engine.view(deploymentId);
    out.note(
      `stopped following deployment ${deploymentId} (${view.state}); continue it with: slipway resume ${deploymentId}`,
    );
    return { view, interrupted: true };
  }
}
