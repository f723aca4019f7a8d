/** Checks that every gate can be cleared: approvals have enough distinct people, checklist items a role or an earlier step. */

import { phaseEnvironments } from './cross-checks.js';
import { closest } from './did-you-mean.js';
import type { ProblemList } from './problems.js';
import type { ProcessFile, StepInput } from './schema.js';
import type { KeyPath } from './yaml-positions.js';

type Approval = Extract<StepInput, { approval: unknown }>['approval'];
type Roles = Readonly<Record<string, readonly string[]>>;

/** Beyond this many roles on one gate, the subset search below is skipped (no real gate has that many). */
const MAX_ROLES_CHECKED = 12;

export function checkGates(file: ProcessFile, problems: ProblemList): void {
  const roles: Roles = file.roles ?? {};
  const onePersonOneRole = file.policy?.onePersonOneRole ?? true;
  file.phases.forEach((phase, p) => {
    phase.steps.forEach((step, s) => {
      const path = ['phases', p, 'steps', s];
      if ('approval' in step)
        checkApproval(step.approval, roles, onePersonOneRole, [...path, 'approval'], problems);
      if ('checklist' in step) checkChecklist(file, p, s, [...path, 'checklist'], problems);
    });
  });
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
function quoted(names: Iterable<string>, joiner: string): string {
  const all = [...names].map((n) => `"${n}"`);
  return all.length <= 1 ? (all[0] ?? '') : `${all.slice(0, -1).join(', ')} ${joiner} ${all.at(-1)}`;
}

/**
 * An approval nobody can give blocks every deployment at that gate, days later; say so now. Unknown
 * roles are reported by the reference checks, so a gate naming one is left alone here.
 */
function checkApproval(
  approval: Approval,
  roles: Roles,
  onePersonOneRole: boolean,
  path: KeyPath,
  problems: ProblemList,
): void {
  const listed = [...new Set(approval.roles)];
  if (!listed.every((r) => Object.hasOwn(roles, r))) return;
  const membersOf = (r: string) => new Set(roles[r] ?? []);
  const everyone = new Set(listed.flatMap((r) => [...membersOf(r)]));
  const require = approval.require ?? 'all';

  if (typeof require === 'number') {
    if (require <= everyone.size) return;
    problems.add(
      [...path, 'require'],
      `require: ${require} needs ${require} different approvers, but only ${plural(everyone.size, 'person holds', 'people hold')} ${quoted(listed, 'or')}`,
      {
        hint:
          everyone.size === 0
            ? 'add members to the roles under "roles"'
            : `add members to the roles under "roles", or lower "require" to ${everyone.size}`,
      },
    );
    return;
  }
  if (require === 'any') {
    if (everyone.size > 0) return;
    problems.add(
      [...path, 'roles'],
      `nobody holds ${quoted(listed, 'or')}: the approval can never be given`,
      {
        hint: 'add members to the roles under "roles"',
      },
    );
    return;
  }
  const empty = approval.roles.findIndex((r) => membersOf(r).size === 0);
  if (empty !== -1) {
    const role = approval.roles[empty] as string;
    problems.add(
      [...path, 'roles', empty],
      `role "${role}" has no members: the approval can never be given`,
      {
        hint: `add a member under "roles", e.g. ${role}: [alice]`,
      },
    );
    return;
  }
  if (!onePersonOneRole || listed.length > MAX_ROLES_CHECKED) return;
  const short = shortHandedRoles(listed, membersOf);
  if (short === undefined) return;
  const people = new Set(short.flatMap((r) => [...membersOf(r)]));
  problems.add(
    [...path, 'roles'],
    `roles ${quoted(short, 'and')} need ${short.length} different approvers, but only ${plural(people.size, 'person holds', 'people hold')} them (${quoted(people, 'and')})`,
    {
      hint: 'one person fills one role of a gate (policy.onePersonOneRole): add members, or use require: any',
    },
  );
}

/**
 * The smallest set of roles with fewer members between them than roles (Hall's condition): when
 * there is none, every role can be filled by a different person.
 */
function shortHandedRoles(
  roles: readonly string[],
  membersOf: (role: string) => ReadonlySet<string>,
): string[] | undefined {
  let best: string[] | undefined;
  for (let mask = 1; mask < 1 << roles.length; mask++) {
    const subset = roles.filter((_, i) => mask & (1 << i));
    if (best !== undefined && subset.length >= best.length) continue;
    const people = new Set(subset.flatMap((r) => [...membersOf(r)]));
    if (people.size < subset.length) best = subset;
  }
  return best;
}

/**
 * A manual item needs a role to tick it; an automatic one names a step that must have succeeded. That
 * step runs before the item in every environment the item's phase runs in, or the item could never
 * be ticked there.
 */
function checkChecklist(file: ProcessFile, p: number, s: number, path: KeyPath, problems: ProblemList): void {
  const phase = file.phases[p] as ProcessFile['phases'][number];
  const item = (phase.steps[s] as Extract<StepInput, { checklist: unknown }>).checklist;
  if (item.auto === undefined) {
    if (item.role === undefined) {
      problems.add(path, 'a checklist item needs a "role" to tick it, or "auto" to tick it automatically', {
        hint: 'add role: <role> for a manual item, or auto: <step id> to tick it when an earlier step succeeds',
      });
    }
    return;
  }
  const at = [...path, 'auto'];
  const ref = item.auto;
  const dot = ref.indexOf('.');
  const phaseId = dot === -1 ? phase.id : ref.slice(0, dot);
  const stepId = dot === -1 ? ref : ref.slice(dot + 1);
  const envs = phaseEnvironments(file, phase);

  // Every reference that would work here, for the hints.
  const valid: string[] = [];
  file.phases.slice(0, p).forEach((earlier) => {
    const there = phaseEnvironments(file, earlier);
    if (envs.every((e) => there.includes(e)))
      valid.push(...earlier.steps.map((x) => `${earlier.id}.${x.id}`));
  });
  valid.push(...phase.steps.slice(0, s).map((x) => x.id));
  const options = (): string =>
    valid.length === 0
      ? 'no step runs before this item; move it after the step that proves it'
      : `steps before this item: ${valid.join(', ')}`;
  const didYouMean = (): string => {
    const near = closest(ref, valid);
    return near === undefined ? options() : `did you mean "${near}"?`;
  };

  const target = file.phases.findIndex((x) => x.id === phaseId);
  const targetPhase = file.phases[target];
  if (targetPhase === undefined) {
    problems.add(at, `"auto" names an unknown phase "${phaseId}"`, { hint: didYouMean() });
    return;
  }
  const index = targetPhase.steps.findIndex((x) => x.id === stepId);
  if (index === -1) {
    // A bare id of another phase's step: say how to name it.
    const elsewhere = valid.find((v) => v.endsWith(`.${stepId}`));
    problems.add(at, `"auto" names no step: phase "${phaseId}" has no step "${stepId}"`, {
      hint:
        dot === -1 && elsewhere !== undefined
          ? `a step of another phase is named with its phase: auto: ${elsewhere}`
          : didYouMean(),
    });
    return;
  }
  if (target > p || (target === p && index >= s)) {
    problems.add(
      at,
      target === p
        ? `"auto" must name an earlier step: "${stepId}" ${index === s ? 'is this item itself' : 'comes after this item'}`
        : `"auto" must name an earlier step: phase "${phaseId}" runs after phase "${phase.id}"`,
      {
        hint: `move the item after ${phaseId === phase.id ? `"${stepId}"` : `phase "${phaseId}"`}${valid.length === 0 ? '' : `, or name a step before it: ${valid.join(', ')}`}`,
      },
    );
    return;
  }
  const there = phaseEnvironments(file, targetPhase);
  const missing = envs.filter((e) => !there.includes(e));
  if (missing.length > 0) {
    problems.add(
      at,
      `"auto" names ${phaseId}.${stepId}, which does not run in environment${missing.length === 1 ? '' : 's'} ${quoted(missing, 'and')}, where this item does`,
      {
        hint: `phase "${phaseId}" runs only in ${there.join(', ') || 'no environment'}: put the item in a phase that runs there, or name a step that runs in ${missing.join(', ')}`,
      },
    );
  }
}
