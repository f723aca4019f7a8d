/** `restart`: stop the running release, switch `current` to the new one, start it (or reload in place). */

import type { RestartStep } from '../core/process.js';
import { runServiceCommand, switchTo } from './service-control.js';
import { FACT, type StepExecutor } from './step-executor.js';

export const restartStep: StepExecutor<RestartStep> = {
  kind: 'restart',
  async execute(step, rt) {
    const facts: Record<string, string> = {};
    const release = rt.facts.releaseDir;
    if (step.mode === 'reload') {
      if (release) Object.assign(facts, await switchFacts(rt, release));
      await runServiceCommand(rt, 'reload');
      return { summary: 'reloaded', facts };
    }
    // Stop with the commands of the release that is running (if any yet), start with the new one's.
    const running = await rt.target.currentRelease(rt.signal);
    const stopped = running !== null && (await runServiceCommand(rt, 'stop'));
    if (release) Object.assign(facts, await switchFacts(rt, release));
    await runServiceCommand(rt, 'start');
    return {
      summary: `${stopped ? 'stopped, ' : ''}${release ? `switched to ${release}, ` : ''}started`,
      facts,
    };
  },
};

async function switchFacts(
  rt: Parameters<typeof switchTo>[0],
  release: string,
): Promise<Record<string, string>> {
  const previous = await switchTo(rt, release);
  return { [FACT.switchedTo]: release, ...(previous ? { [FACT.previousRelease]: previous } : {}) };
}
