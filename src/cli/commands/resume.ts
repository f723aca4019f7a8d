/** `slipway resume [id]`: carry on deployments whose runner stopped (crash, kill, Ctrl-C) from their last recorded event. */

import type { DeploymentView } from '../../core/deployment-view.js';
import { SlipwayError } from '../../core/errors.js';
import {
  engineWithProgress,
  type GlobalOptions,
  interruptSignal,
  outputFor,
  parseId,
  withStore,
} from '../context.js';
import { exitForState } from '../exit-codes.js';
import { renderStatus } from '../render.js';

export async function resumeCommand(id: string | undefined, opts: GlobalOptions): Promise<number> {
  const out = outputFor(opts);
  return withStore(opts, async (store) => {
    const ids =
      id !== undefined
        ? [parseId(id)]
        : (await store.listDeployments({ states: ['running', 'rolling-back'], limit: 100 }))
            .map((d) => d.id)
            .reverse();
    if (ids.length === 0) {
      out.result([], () => 'nothing to resume: no deployment is running or rolling back');
      return 0;
    }
    const { engine, stop } = await engineWithProgress(store, out, opts);
    const interrupt = interruptSignal(out);
    const views: DeploymentView[] = [];
    try {
      for (const deploymentId of ids) {
        if (!(await store.getDeployment(deploymentId))) {
          throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${deploymentId} in this store`);
        }
        out.line(out.c.bold(`resuming deployment ${deploymentId}`));
        views.push(await engine.run(deploymentId, interrupt.signal));
      }
    } finally {
      stop();
      interrupt.dispose();
    }
    out.result(views.length === 1 ? views[0] : views, () =>
      views.map((v) => renderStatus(v, out.c)).join('\n\n'),
    );
    // The worst outcome decides the exit code.
    return Math.max(...views.map((v) => exitForState(v.state)));
  });
}
