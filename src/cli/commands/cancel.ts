/** `slipway cancel <id>`: end an unfinished deployment (waiting at a gate or for a window); it rolls back if it changed the target. */

import { compileProcess } from '../../config/load-process.js';
import { viewDeployment } from '../../core/deployment-view.js';
import { SlipwayError } from '../../core/errors.js';
import { assertMayAct } from '../../engine/gates.js';
import { engineWithProgress, type GlobalOptions, outputFor, parseId, withStore } from '../context.js';
import { exitForState } from '../exit-codes.js';
import { currentActor } from '../identity.js';
import { renderStatus } from '../render.js';

export async function cancelCommand(id: string, opts: GlobalOptions & { comment?: string }): Promise<number> {
  const out = outputFor(opts);
  const deploymentId = parseId(id);
  return withStore(opts, async (store) => {
    const events = await store.readEvents(deploymentId);
    if (events.length === 0)
      throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${deploymentId} in this store`);
    const pinned = viewDeployment(events);
    const process = compileProcess(pinned.processSource, pinned.processFile, pinned.processIncludes);
    const actor = assertMayAct(
      process,
      currentActor(),
      `cancel deployment ${deploymentId}`,
      pinned.startedBy.user,
    );
    const { engine, stop } = await engineWithProgress(store, out, opts);
    try {
      const view = await engine.cancel(deploymentId, actor, opts.comment ?? '');
      out.result(view, () => `\n${renderStatus(view, out.c)}`);
      // The person asked for it to end: a clean end is success for them.
      return view.state === 'failed' || view.state === 'rolled-back' ? 0 : exitForState(view.state);
    } finally {
      stop();
    }
  });
}
