/** `slipway audit verify`: check the tamper-evident hash chain of every event in the store. */

import { SlipwayError } from '../../core/errors.js';
import { verifyProjection } from '../../engine/audit.js';
import { type GlobalOptions, outputFor, storeLocation, withStore } from '../context.js';

export async function auditVerifyCommand(opts: GlobalOptions): Promise<number> {
  const out = outputFor(opts);
  return withStore(opts, async (store) => {
    const result = await store.verifyChain();
    if (!result.ok && result.firstBad) {
      const bad = result.firstBad;
      throw new SlipwayError(
        'SLW_AUDIT_BROKEN',
        `event ${bad.id} (deployment ${bad.deploymentId}, #${bad.seq}) does not match: ${bad.problem}`,
        {
          hint: `${result.eventsChecked} events checked in ${storeLocation(opts)}; everything from that event on is untrusted`,
          details: { ...result },
        },
      );
    }
    const projection = await verifyProjection(store);
    if (projection.mismatch) {
      const m = projection.mismatch;
      throw new SlipwayError(
        'SLW_AUDIT_BROKEN',
        `deployment ${m.deploymentId} is recorded as ${m.recorded}, but its events say ${m.fromEvents}`,
        { hint: 'the deployments table was edited outside Slipway; the events (hash-chained) are the truth' },
      );
    }
    out.result({ ...result, deploymentsChecked: projection.checked }, () =>
      out.c.green(
        `✓ audit chain intact: ${result.eventsChecked} events, head ${result.headHash.slice(0, 16)}…; ${projection.checked} deployments agree with their events`,
      ),
    );
    return 0;
  });
}
