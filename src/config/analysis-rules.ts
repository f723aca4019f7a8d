/** Checks of `baseline` and `bake` steps that need the whole file: the monitors they name exist, the noise rule can fire. */

import { suggestionHint } from './did-you-mean.js';
import type { ProblemList } from './problems.js';
import type { ProcessFile, StepInput } from './schema.js';
import { durationMs as msOf } from './schema.js';

type Phase = ProcessFile['phases'][number];
type Measuring = Extract<StepInput, { baseline: unknown }> | Extract<StepInput, { bake: unknown }>;

export function checkAnalysisSteps(file: ProcessFile, problems: ProblemList): void {
  file.phases.forEach((phase, p) => {
    phase.steps.forEach((step, s) => {
      if (!('baseline' in step) && !('bake' in step)) return;
      const key = 'baseline' in step ? 'baseline' : 'bake';
      const path = ['phases', p, 'steps', s, key];
      checkMonitorRefs(file, phase, step as Measuring, key, path, problems);
      if ('bake' in step && step.bake) {
        const { failureLimit, window, interval, duration } = step.bake;
        const limit = failureLimit ?? 2;
        const win = window ?? 3;
        if (limit > win) {
          problems.add(
            [...path, failureLimit === undefined ? 'window' : 'failureLimit'],
            `failureLimit ${limit} can never be reached within a window of ${win} intervals`,
            {
              hint: 'failureLimit counts failing intervals among the last `window`: keep it at most `window`',
            },
          );
        }
        if (interval !== undefined && duration !== undefined && msOf(interval) > msOf(duration)) {
          problems.add(
            [...path, 'interval'],
            `an interval of ${interval} is longer than the bake (${duration})`,
            {
              hint: 'a bake judges whole intervals: make the duration a few intervals long',
            },
          );
        }
      }
    });
  });
}

function checkMonitorRefs(
  file: ProcessFile,
  phase: Phase,
  step: Measuring,
  key: 'baseline' | 'bake',
  path: (string | number)[],
  problems: ProblemList,
): void {
  const declared = Object.keys(file.environments);
  const envs =
    phase.environments === undefined ? declared : phase.environments.filter((e) => declared.includes(e));
  const spec = 'baseline' in step ? step.baseline : step.bake;
  const named = spec?.monitors ?? [];
  for (const env of envs) {
    const ids = (file.environments[env]?.monitors ?? []).map((m) => m.id);
    if (ids.length === 0) {
      problems.add(path, `a ${key} step runs in environment "${env}", which declares no monitors`, {
        hint: `add monitors under environments.${env}.monitors (http, prometheus, json, sql, auth, command)`,
        at: 'key',
      });
      continue;
    }
    named.forEach((id, i) => {
      if (ids.includes(id)) return;
      problems.add([...path, 'monitors', i], `environment "${env}" has no monitor "${id}"`, {
        hint: suggestionHint(id, ids, `monitors of ${env}`),
      });
    });
  }
}
