/** `release`: install the checksummed artifact into `releases/<name>` and (unless a restart follows) switch `current`. */

import type { ReleaseStep } from '../core/process.js';
import { switchTo } from './service-control.js';
import { FACT, type StepExecutor } from './step-executor.js';

export const releaseStep: StepExecutor<ReleaseStep> = {
  kind: 'release',
  async execute(step, rt) {
    await rt.target.prepare(rt.signal);
    const { dir, reused } = await rt.target.installRelease(
      rt.artifact.path,
      rt.artifact.sha256,
      rt.releaseName,
      rt.signal,
    );
    rt.output(`${reused ? 'reused' : 'installed'} ${dir} (sha256 ${rt.artifact.sha256.slice(0, 12)}…)\n`);
    const facts: Record<string, string> = { [FACT.releaseDir]: rt.releaseName };
    // The switch waits for a following restart step, so config and migrations land before `current` moves.
    if (!rt.restartFollows) {
      const previous = await switchTo(rt, rt.releaseName);
      facts[FACT.switchedTo] = rt.releaseName;
      if (previous) facts[FACT.previousRelease] = previous;
    }
    // Never prune what a rollback may need: the last good release and whatever `current` pointed at.
    const previous = facts[FACT.previousRelease] ?? (await rt.target.currentRelease(rt.signal));
    const protect = [
      rt.releaseName,
      ...[rt.previousGoodRelease, previous].filter((r): r is string => Boolean(r)),
    ];
    const pruned = await rt.target.pruneReleases(step.keep, protect, rt.signal);
    if (pruned.length > 0) rt.output(`pruned ${pruned.join(', ')}\n`);
    return {
      summary: `${reused ? 'reused' : 'installed'} ${rt.releaseName}${facts[FACT.switchedTo] ? ', current switched' : ''}`,
      facts,
    };
  },
};
