/** Audit beyond the hash chain: the deployments table (read by history and promotion) must agree with the events. */

import type { Store } from '../core/ports.js';
import { foldState } from '../core/state.js';

export interface ProjectionMismatch {
  readonly deploymentId: number;
  readonly recorded: string;
  readonly fromEvents: string;
}

/** Folds every deployment's events and compares the state with the projection; returns the first mismatch. */
export async function verifyProjection(
  store: Store,
): Promise<{ checked: number; mismatch?: ProjectionMismatch }> {
  const deployments = await store.listDeployments({ limit: Number.MAX_SAFE_INTEGER });
  for (const d of deployments) {
    const fromEvents = foldState(await store.readEvents(d.id));
    if (fromEvents !== d.state) {
      return { checked: deployments.length, mismatch: { deploymentId: d.id, recorded: d.state, fromEvents } };
    }
  }
  return { checked: deployments.length };
}
