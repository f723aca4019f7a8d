/** Which slot serves on each host now: the slot of the environment's last good deployment before this one. */

import { viewDeployment } from '../core/deployment-view.js';
import type { SlotName } from '../core/process.js';
import type { RunContext } from '../engine/run-context.js';
import { SLOT_FACT } from './slot-control.js';

export async function liveSlots(ctx: RunContext): Promise<Map<string, SlotName>> {
  const candidates = await ctx.store.listDeployments({
    app: ctx.view.app,
    environment: ctx.view.environment,
    states: ['succeeded'],
    limit: 20,
  });
  for (const d of candidates) {
    if (d.id >= ctx.view.id) continue;
    const fleet = viewDeployment(await ctx.store.readEvents(d.id)).fleet;
    if (!fleet) continue;
    const live = new Map<string, SlotName>();
    for (const h of fleet.hosts) {
      const slot = h.facts[SLOT_FACT.slot];
      if (slot === 'blue' || slot === 'green') live.set(h.name, slot);
    }
    return live;
  }
  return new Map();
}
