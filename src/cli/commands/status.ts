/** `slipway status [id]`: phases, steps, gates and who is awaited; without an id, the latest deployment. */

import { SlipwayError } from '../../core/errors.js';
import { type GlobalOptions, outputFor, parseId, withStore } from '../context.js';
import { renderStatus } from '../render.js';

export async function statusCommand(id: string | undefined, opts: GlobalOptions): Promise<number> {
  const out = outputFor(opts);
  return withStore(opts, async (store) => {
    let deploymentId: number;
    if (id !== undefined) deploymentId = parseId(id);
    else {
      const [latest] = await store.listDeployments({ limit: 1 });
      if (!latest) throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', 'no deployments in this store yet');
      deploymentId = latest.id;
    }
    const { Engine } = await import('../../engine/engine.js');
    const view = await new Engine({ store }).view(deploymentId);
    const { processSource: _source, processIncludes: _includes, ...shown } = view;
    const { hasLiveRunner } = await import('../../engine/lease-keeper.js');
    // Running or rolling back with nobody at the wheel: a killed or interrupted runner. Say how to go on.
    const orphaned =
      (view.state === 'running' || view.state === 'rolling-back') && !(await hasLiveRunner(store, view.id));
    out.result({ ...shown, orphaned }, () =>
      [
        renderStatus(view, out.c),
        ...(orphaned
          ? [out.c.yellow(`no Slipway process is running it (stopped or killed): slipway resume ${view.id}`)]
          : []),
      ].join('\n'),
    );
    return 0;
  });
}
