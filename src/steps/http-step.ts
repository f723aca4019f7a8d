/** `http`: one request that must meet its expectations (retried by the engine until healthy when declared). */

import type { HttpStep } from '../core/process.js';
import { runHttpCheck } from './http-check.js';
import type { StepExecutor } from './step-executor.js';

export const httpStep: StepExecutor<HttpStep> = {
  kind: 'http',
  async execute(step, rt) {
    const { summary } = await runHttpCheck(rt, step.http, `${step.id}.http`);
    return { summary };
  },
};
