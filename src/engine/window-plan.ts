/** The maintenance window as `slipway plan` shows it: open or not, and when, in the window's and the reader's time. */

import type { PlanWindow } from '../core/plan.js';
import { deploymentPhases, type Process } from '../core/process.js';
import { describeInstantForUser, windowStatus } from '../schedule/index.js';

/** Undefined when the environment has neither windows nor freezes (any time is fine). */
export function planWindow(
  process: Process,
  environment: string,
  nowMs = Date.now(),
): PlanWindow | undefined {
  const env = process.environments[environment];
  if (!env || (env.windows.length === 0 && env.freezes.length === 0)) return undefined;
  const windowed = deploymentPhases(process, environment, false).filter((p) => p.windowed);
  if (windowed.length === 0) return undefined;
  const need = Math.max(0, ...windowed.map((p) => p.expectedDurationMs ?? 0));
  const zone = env.windows[0]?.timezone ?? 'UTC';
  const status = windowStatus(env, nowMs, need);
  switch (status.state) {
    case 'open':
      return {
        open: true,
        description:
          status.closesAt === null
            ? 'open now'
            : `open now, until ${describeInstantForUser(status.closesAt, zone)}`,
        ...(status.closesAt === null ? {} : { closesAt: new Date(status.closesAt).toISOString() }),
      };
    case 'closed':
      return {
        open: false,
        description: `closed now (${status.reason}); opens ${describeInstantForUser(status.opensAt, zone)}`,
        opensAt: new Date(status.opensAt).toISOString(),
        ...(status.closesAt === null ? {} : { closesAt: new Date(status.closesAt).toISOString() }),
      };
    case 'never':
      return { open: false, description: `never: ${status.reason}` };
  }
}
