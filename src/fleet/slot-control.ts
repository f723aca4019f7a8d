/** Starting and stopping a release on one slot of a host (blue-green, canary), with the service's own commands. */

import { runServiceCommand, switchTo } from '../steps/service-control.js';
import { FACT, type StepOutcome, type StepRuntime } from '../steps/step-executor.js';

/** Host facts of the slot strategies. */
export const SLOT_FACT = {
  /** The slot this deployment's release runs on. */
  slot: 'slot',
  /** The slot that served before this deployment ('' when nothing did). */
  liveSlot: 'liveSlot',
  /** Set once the old slot was stopped after the switch. */
  scaledDown: 'scaledDown',
} as const;

/**
 * The `restart` of a slot strategy: the running slot is left alone; the idle one is cleared (an older release
 * may still hold its port), `current` moves to the new release, and the service starts on the idle slot's port.
 */
export async function startOnSlot(rt: StepRuntime, releaseName: string): Promise<StepOutcome> {
  const slot = rt.scope.slot;
  if (!slot) throw new Error('startOnSlot needs a slot in the template scope');
  try {
    await runServiceCommand(rt, 'stop');
  } catch (e) {
    if (rt.signal.aborted) throw e;
    // Nothing ran on the idle slot: a stop that finds nothing to stop is not a failure here.
    rt.output(
      `(nothing stopped on slot ${slot.name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})\n`,
    );
  }
  const previous = await switchTo(rt, releaseName);
  await runServiceCommand(rt, 'start');
  return {
    summary: `started on slot ${slot.name} (port ${slot.port}), the running slot untouched`,
    facts: {
      [FACT.switchedTo]: releaseName,
      ...(previous ? { [FACT.previousRelease]: previous } : {}),
    },
  };
}

/** Stops whatever runs on the runtime's slot (the service's stop command sees SLIPWAY_SLOT and its port). */
export async function stopSlot(rt: StepRuntime): Promise<string> {
  const ran = await runServiceCommand(rt, 'stop');
  return ran ? `stopped slot ${rt.scope.slot?.name ?? '?'}` : 'no stop command';
}
