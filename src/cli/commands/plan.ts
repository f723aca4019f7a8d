/** `slipway plan <env> --release R`: what a deployment would do; nothing is done. */

import { planFor } from '../../engine/start-deployment.js';
import { type GlobalOptions, loadCliProcess, outputFor, withStore } from '../context.js';
import { renderPlan } from '../render.js';

export async function planCommand(
  environment: string,
  opts: GlobalOptions & { release: string },
): Promise<number> {
  const out = outputFor(opts);
  const process = await loadCliProcess(opts);
  const plan = await withStore(opts, (store) => planFor(store, process, environment, opts.release));
  out.result(plan, () => renderPlan(plan, out.c));
  return 0;
}
