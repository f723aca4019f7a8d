/** Checks that need the whole file: unique ids, references to environments and roles, promotion cycles, service commands. */

import { EMERGENCY_PHASE } from '../core/process.js';
import { suggestionHint } from './did-you-mean.js';
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
