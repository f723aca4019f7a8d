/** Checks that need the whole file: unique ids, references to environments and roles, promotion cycles, service commands. */

import { EMERGENCY_PHASE } from '../core/process.js';
import { checkAnalysisSteps } from './analysis-rules.js';
import { suggestionHint } from './did-you-mean.js';
import { checkFleets } from './fleet-rules.js';
import { checkMonitors } from './monitor-rules.js';
import type { ProblemList } from './problems.js';
import type { ProcessFile, StepInput } from './schema.js';
import type { KeyPath } from './yaml-positions.js';

type Phase = ProcessFile['phases'][number];

/** The declared environments a phase runs in (unknown names are reported on their own). */
export function phaseEnvironments(file: ProcessFile, phase: Phase): string[] {
  const declared = Object.keys(file.environments);
  return phase.environments === undefined ? declared : phase.environments.filter((e) => declared.includes(e));
}

export function checkReferences(file: ProcessFile, problems: ProblemList): void {
  const envNames = Object.keys(file.environments);
  const roleNames = Object.keys(file.roles ?? {});

  const environment = (name: string, path: KeyPath) => {
    if (envNames.includes(name)) return;
    problems.add(path, `unknown environment "${name}"`, {
      hint: suggestionHint(name, envNames, 'declared environments'),
    });
  };
  const role = (name: string, path: KeyPath) => {
    if (roleNames.includes(name)) return;
    problems.add(path, `unknown role "${name}"`, {
      hint:
        roleNames.length === 0
          ? `declare it under "roles", e.g. roles: { ${name}: [alice] }`
          : suggestionHint(name, roleNames, 'declared roles'),
    });
  };

  for (const [name, env] of Object.entries(file.environments)) {
    env.requires?.forEach((r, i) => {
      environment(r, ['environments', name, 'requires', i]);
    });
    env.emergency?.approvers?.forEach((r, i) => {
      role(r, ['environments', name, 'emergency', 'approvers', i]);
    });
  }
  checkRequiresCycles(file, problems);
  checkFleets(file, problems);
  checkMonitors(file, problems);
  checkAnalysisSteps(file, problems);

  unique(
    file.phases.map((p, i) => ({ id: p.id, path: ['phases', i, 'id'] })),
    'phase',
    problems,
  );
  file.phases.forEach((phase, p) => {
    phase.environments?.forEach((e, i) => {
      environment(e, ['phases', p, 'environments', i]);
    });
    unique(
      phase.steps.map((s, i) => ({ id: s.id, path: ['phases', p, 'steps', i, 'id'] })),
      'step',
      problems,
    );
    phase.steps.forEach((step, s) => {
      const path = ['phases', p, 'steps', s];
      if ('checklist' in step && step.checklist.role !== undefined)
        role(step.checklist.role, [...path, 'checklist', 'role']);
      if ('approval' in step)
        step.approval.roles.forEach((r, i) => {
          role(r, [...path, 'approval', 'roles', i]);
        });
      if ('smoke' in step) {
        unique(
          step.smoke.map((c, i) => ({ id: c.id, path: [...path, 'smoke', i, 'id'] })),
          'check',
          problems,
        );
      }
      if ('restart' in step)
        checkServiceFor(file, phaseEnvironments(file, phase), step, [...path, 'restart'], problems);
      if ('integrity' in step) checkIntegrity(file, p, s, [...path, 'integrity'], problems);
    });
  });
}

/** Ids name things in commands, logs and events (`slipway approve <id>`), so they must be unambiguous. */
function unique(
  items: readonly { id: string; path: KeyPath }[],
  what: 'phase' | 'step' | 'check',
  problems: ProblemList,
): void {
  const scope = { phase: 'in the file', step: 'within a phase', check: 'within a smoke step' }[what];
  const first = new Map<string, KeyPath>();
  for (const { id, path } of items) {
    if (what === 'phase' && id === EMERGENCY_PHASE) {
      problems.add(path, `phase id "${id}" is reserved: Slipway adds that phase to emergency deployments`, {
        hint: 'name the phase differently, e.g. "hotfix"',
      });
    }
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, path);
    else {
      problems.add(path, `duplicate ${what} id "${id}", already used at ${earlier.slice(0, -1).join('.')}`, {
        hint: `${what} ids must be unique ${scope}`,
      });
    }
  }
}

/** A promotion chain that loops back can never be satisfied: no environment could deploy first. */
function checkRequiresCycles(file: ProcessFile, problems: ProblemList): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    state.set(name, 'visiting');
    (file.environments[name]?.requires ?? []).forEach((next, i) => {
      if (state.get(next) === 'visiting') {
        const from = trail.indexOf(next); // -1 when an environment requires itself
        const cycle = [...(from === -1 ? [] : trail.slice(from)), name, next];
        problems.add(
          ['environments', name, 'requires', i],
          `"requires" forms a cycle: ${cycle.join(' → ')}`,
          {
            hint: 'promotion must go one way, e.g. production requires staging, staging requires nothing',
          },
        );
      } else if (state.get(next) === undefined && file.environments[next] !== undefined) {
        visit(next, [...trail, name]);
      }
    });
    state.set(name, 'done');
  };
  for (const name of Object.keys(file.environments)) if (!state.has(name)) visit(name, []);
}

/** A restart step runs the service's commands, so every environment it runs in must have them. */
function checkServiceFor(
  file: ProcessFile,
  envs: readonly string[],
  step: Extract<StepInput, { restart: unknown }>,
  path: KeyPath,
  problems: ProblemList,
): void {
  const needed = step.restart?.mode === 'reload' ? (['reload'] as const) : (['stop', 'start'] as const);
  for (const command of needed) {
    const missing = envs.filter(
      (e) => (file.environments[e]?.service?.[command] ?? file.service?.[command]) === undefined,
    );
    if (missing.length === 0) continue;
    problems.add(
      path,
      `restart needs service.${command}, which environment${missing.length === 1 ? '' : 's'} ${missing.map((e) => `"${e}"`).join(', ')} lack${missing.length === 1 ? 's' : ''}`,
      { hint: `add "${command}" to the top-level "service" or to each environment's "service"` },
    );
  }
}

/**
 * An integrity `verify` names a `capture` step that runs before it in every environment it runs in (else there
 * is no "before" to compare with); the checks of a capture step have distinct ids.
 */
function checkIntegrity(file: ProcessFile, p: number, s: number, path: KeyPath, problems: ProblemList): void {
  const phase = file.phases[p] as Phase;
  const spec = (phase.steps[s] as Extract<StepInput, { integrity: unknown }>).integrity;
  if ('capture' in spec) {
    const seen = new Set<string>();
    spec.capture.checks.forEach((c, i) => {
      if (seen.has(c.id)) {
        problems.add([...path, 'capture', 'checks', i, 'id'], `duplicate check id "${c.id}"`, {
          hint: 'check ids must be unique within an integrity step',
        });
      }
      seen.add(c.id);
    });
    return;
  }
  const at = [...path, 'verify'];
  const ref = spec.verify;
  const dot = ref.indexOf('.');
  const phaseId = dot === -1 ? phase.id : ref.slice(0, dot);
  const stepId = dot === -1 ? ref : ref.slice(dot + 1);
  const captures: string[] = [];
  file.phases.slice(0, p + 1).forEach((earlier, i) => {
    const steps = i === p ? earlier.steps.slice(0, s) : earlier.steps;
    for (const x of steps) {
      if ('integrity' in x && 'capture' in x.integrity)
        captures.push(i === p ? x.id : `${earlier.id}.${x.id}`);
    }
  });
  const hint =
    captures.length === 0
      ? 'add an integrity step with capture: { database, checks } before the release is switched'
      : suggestionHint(ref, captures, 'capture steps before this one');
  const target = file.phases.findIndex((x) => x.id === phaseId);
  const index = file.phases[target]?.steps.findIndex((x) => x.id === stepId) ?? -1;
  const found = file.phases[target]?.steps[index];
  if (found === undefined || target > p || (target === p && index >= s)) {
    problems.add(at, `"verify" must name an integrity capture step before it, found "${ref}"`, { hint });
    return;
  }
  if (!('integrity' in found) || !('capture' in found.integrity)) {
    problems.add(at, `"verify" names ${phaseId}.${stepId}, which is not an integrity capture step`, { hint });
    return;
  }
  const envs = phaseEnvironments(file, phase);
  const there = phaseEnvironments(file, file.phases[target] as Phase);
  const missing = envs.filter((e) => !there.includes(e));
  if (missing.length > 0) {
    problems.add(
      at,
      `"verify" names ${phaseId}.${stepId}, which does not run in ${missing.map((e) => `"${e}"`).join(', ')}, where this step does`,
      { hint: 'capture in a phase that runs in the same environments' },
    );
  }
}
