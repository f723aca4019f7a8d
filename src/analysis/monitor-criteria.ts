/** Turns the environment's monitor config into what the analysis core judges, and picks the monitors a step names. */

import type { AnalysisCriteria } from '../core/analysis.js';
import { SlipwayError } from '../core/errors.js';
import type { EnvironmentSpec, MonitorSpec } from '../core/process.js';

export function criteriaFor(spec: MonitorSpec): AnalysisCriteria {
  const c = spec.compare;
  return {
    monitor: spec.id,
    critical: spec.critical,
    bad: c.direction === 'higher-is-better' ? 'decrease' : 'increase',
    maxDegradation: c.maxDegradation,
    ...(c.max === undefined ? {} : { max: c.max }),
    ...(c.min === undefined ? {} : { min: c.min }),
    ...(c.minChange === undefined ? {} : { minChange: c.minChange }),
    minSamples: spec.minSamples,
  };
}

/** The monitors a baseline or bake step watches: those it names, or all of the environment's. */
export function monitorsFor(
  env: EnvironmentSpec,
  ids: readonly string[],
  where: string,
): readonly MonitorSpec[] {
  const all = env.monitors;
  if (ids.length === 0) {
    if (all.length === 0) {
      throw new SlipwayError('SLW_STEP_FAILED', `${where}: environment "${env.name}" declares no monitors`, {
        hint: `add monitors under environments.${env.name}.monitors`,
      });
    }
    return all;
  }
  return ids.map((id) => {
    const spec = all.find((m) => m.id === id);
    if (!spec) {
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        `${where}: environment "${env.name}" has no monitor "${id}"`,
        {
          hint: `declared monitors: ${all.map((m) => m.id).join(', ') || 'none'}`,
        },
      );
    }
    return spec;
  });
}
