/** `slipway resume [id]`: carry on deployments whose runner stopped (crash, kill, Ctrl-C) from their last recorded event. */

import type { DeploymentView } from '../../core/deployment-view.js';
import { SlipwayError } from '../../core/errors.js';
import type { Store } from '../../core/ports.js';
import {
  EXIT_INTERRUPTED,
  engineWithProgress,
  follow,
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
        : // Waiting ones only when time, not a person, is what they wait for (a window, an expired gate).
          await unfinished(store);
    if (ids.length === 0) {
      out.result(
        [],
        () => 'nothing to resume: no deployment is running, rolling back or waiting for a window',
      );
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
        const { view, interrupted } = await follow(engine, deploymentId, interrupt.signal, out);
        views.push(view);
        if (interrupted) return EXIT_INTERRUPTED;
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

async function unfinished(store: Store): Promise<number[]> {
  const { Engine, needsRunner } = await import('../../engine/engine.js');
  const engine = new Engine({ store });
  const candidates = await store.listDeployments({
    states: ['running', 'rolling-back', 'waiting'],
    limit: 100,
  });
  const ids: number[] = [];
  for (const d of [...candidates].reverse()) {
    if (d.state !== 'waiting' || needsRunner(await engine.view(d.id))) ids.push(d.id);
  }
  return ids;
}
