/** `slipway history [env]`: past deployments, newest first, with outcome and duration. */

import { SlipwayError } from '../../core/errors.js';
import type { ListDeploymentsFilter } from '../../core/ports.js';
import { type GlobalOptions, outputFor, withStore } from '../context.js';
import { renderHistory } from '../render.js';

export async function historyCommand(
  environment: string | undefined,
  opts: GlobalOptions & { limit?: string; app?: string },
): Promise<number> {
  const out = outputFor(opts);
  const limit = opts.limit === undefined ? (out.json ? 10_000 : 30) : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SlipwayError('SLW_USAGE', `--limit "${opts.limit}" is not a positive whole number`, {
      hint: 'e.g. -n 50',
    });
  }
  const filter: ListDeploymentsFilter = {
    limit,
    ...(environment ? { environment } : {}),
    ...(opts.app ? { app: opts.app } : {}),
  };
  return withStore(opts, async (store) => {
    const rows = await store.listDeployments(filter);
    out.result(rows, () => renderHistory(rows, out.c));
    return 0;
  });
}
