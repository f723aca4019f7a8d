/** `slipway rollback <env|id>`: return an environment to the good release before its live one. */

import { viewDeployment } from '../../core/deployment-view.js';
import { SlipwayError } from '../../core/errors.js';
import type { Process } from '../../core/process.js';
import { assertMayAct } from '../../engine/gates.js';
import { startManualRollback } from '../../engine/rollback.js';
import { type liveDeployment, liveDeploymentOn } from '../../engine/start-deployment.js';
import {
  EXIT_INTERRUPTED,
  engineWithProgress,
  follow,
  type GlobalOptions,
  interruptSignal,
  loadCliProcess,
  outputFor,
  withStore,
} from '../context.js';
import { exitForState } from '../exit-codes.js';
import { currentActor } from '../identity.js';
import { renderStatus } from '../render.js';

export async function rollbackCommand(
  envOrId: string,
  opts: GlobalOptions & { comment?: string },
): Promise<number> {
  const out = outputFor(opts);
  return withStore(opts, async (store) => {
    let live: Awaited<ReturnType<typeof liveDeployment>>;
    let process: Process;
    if (/^\d+$/.test(envOrId)) {
      const d = await store.getDeployment(Number(envOrId));
      if (!d) throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${envOrId} in this store`);
      const pinned = viewDeployment(await store.readEvents(d.id));
      const { compileProcess } = await import('../../config/load-process.js');
      process = compileProcess(pinned.processSource, pinned.processFile, pinned.processIncludes);
      live = await liveDeploymentOn(store, process, d.environment);
      if (live.id !== d.id) {
        throw new SlipwayError(
          'SLW_ILLEGAL_TRANSITION',
          `deployment ${d.id} is not what runs in ${d.environment} now (deployment ${live.id}, ${live.release}, is)`,
          { hint: `roll back the environment instead: slipway rollback ${d.environment}` },
        );
      }
    } else {
      process = await loadCliProcess(opts);
      live = await liveDeploymentOn(store, process, envOrId);
    }
    const actor = assertMayAct(process, currentActor(), `roll back ${live.environment}`);
    const previous = await startManualRollback(store, live, actor, opts.comment);
    out.line(
      `rolling back ${live.environment}: ${live.release} (deployment ${live.id}) → ${previous.release}`,
    );
    const { engine, stop } = await engineWithProgress(store, out, opts);
    const interrupt = interruptSignal(out);
    try {
      const { view, interrupted } = await follow(engine, live.id, interrupt.signal, out);
      if (interrupted) return EXIT_INTERRUPTED;
      out.result(view, () => `\n${renderStatus(view, out.c)}`);
      // A manual rollback that completed is a success for the person who asked for it.
      return view.state === 'rolled-back' ? 0 : exitForState(view.state);
    } finally {
      stop();
      interrupt.dispose();
    }
  });
}
