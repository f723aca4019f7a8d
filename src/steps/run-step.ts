/** `run`: a command (argv or shell string) on the controller or the target. */

import type { RunStep } from '../core/process.js';
import { runCommandSpec } from './command-runner.js';
import type { StepExecutor } from './step-executor.js';

export const runStep: StepExecutor<RunStep> = {
  kind: 'run',
  async execute(step, rt) {
    await runCommandSpec(rt, step, `${step.id}.run`);
    return { summary: 'exit 0' };
  },
};
