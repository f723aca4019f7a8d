/** `config`: render per-environment config files from templates into the release being deployed. */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { ConfigStep } from '../core/process.js';
import { renderTemplate } from '../core/template.js';
import { publicScope } from './command-runner.js';
import type { StepExecutor } from './step-executor.js';

export const configStep: StepExecutor<ConfigStep> = {
  kind: 'config',
  async execute(step, rt) {
    if (!rt.facts.releaseDir) {
      throw new SlipwayError('SLW_STEP_FAILED', `config step "${step.id}" has no release to write into`, {
        hint: 'put a "release" step before the "config" step',
      });
    }
    for (const file of step.files) {
      const templatePath = path.resolve(
        rt.process.baseDir,
        renderTemplate(file.template, publicScope(rt), `${step.id}.template`),
      );
      let template: string;
      try {
        template = await readFile(templatePath, { encoding: 'utf8', signal: rt.signal });
      } catch (e) {
        throw new SlipwayError(
          'SLW_STEP_FAILED',
          `cannot read config template ${templatePath}: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      const content = renderTemplate(template, rt.scope, templatePath);
      const dest = renderTemplate(file.dest, publicScope(rt), `${step.id}.dest`);
      await rt.target.writeReleaseFile(rt.releaseName, dest, content, rt.signal);
      // Never print the content: it may hold secrets.
      rt.output(`rendered ${dest} (${Buffer.byteLength(content)} bytes)\n`);
    }
    return { summary: `rendered ${step.files.length} file${step.files.length === 1 ? '' : 's'}` };
  },
};
