/** `slipway plan <env> --release R`: what a deployment would do; nothing is done. */

import { checkEnvironment, planFor } from '../../engine/start-deployment.js';
import { planWindow } from '../../engine/window-plan.js';
import { planMigrations } from '../../migrations/plan-migrations.js';
import { type GlobalOptions, loadCliProcess, outputFor, withStore } from '../context.js';
import { renderPlan } from '../render.js';

export async function planCommand(
  environment: string,
  opts: GlobalOptions & { release: string; emergency?: boolean },
): Promise<number> {
  const out = outputFor(opts);
  const process = await loadCliProcess(opts);
  checkEnvironment(process, environment);
  const window = planWindow(process, environment);
  const base = await withStore(opts, (store) =>
    planFor(store, process, environment, opts.release, {
      ...(opts.emergency ? { emergency: true } : {}),
      ...(window ? { window } : {}),
    }),
  );
  // Reads the release's migrations and the database's history; an unreachable database is reported, not fatal.
  const migrations = await planMigrations(process, environment, opts.release, AbortSignal.timeout(30_000));
  const plan = migrations.length ? { ...base, migrations } : base;
  out.result(plan, () => renderPlan(plan, out.c));
  return 0;
}
