/** Gate decisions (approve, reject, tick a checklist item): who may decide, and recording the decision. */

import { compileProcess } from '../config/load-process.js';
import { type DeploymentView, gateExpiry, openGate, viewDeployment } from '../core/deployment-view.js';
import { SlipwayError } from '../core/errors.js';
import type { Actor, AnyNewEvent } from '../core/events.js';
import type { Store } from '../core/ports.js';
import type { ApprovalRule, Process } from '../core/process.js';

export type Decision = 'approve' | 'reject' | 'check';

export interface DecisionOptions {
  readonly actor: Actor;
  /** Decide in this role (when the actor holds several of the awaited roles). */
  readonly role?: string;
  /** The gate's step id, to be sure the decision lands where intended. */
  readonly step?: string;
  readonly comment?: string;
}

export interface DecisionResult {
  readonly view: DeploymentView;
  readonly role: string;
  /** Roles still awaited; empty when the gate cleared. */
  readonly remaining: readonly string[];
}

/** Records a decision on the open gate of a waiting deployment; refuses anything the rules do not allow. */
export async function decide(
  store: Store,
  deploymentId: number,
  decision: Decision,
  options: DecisionOptions,
): Promise<DecisionResult> {
  const events = await store.readEvents(deploymentId);
  if (events.length === 0) {
    throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${deploymentId} in this store`, {
      hint: 'list deployments with "slipway history"',
    });
  }
  const view = viewDeployment(events);
  const gate = view.state === 'waiting' ? openGate(view) : undefined;
  if (!gate) {
    throw new SlipwayError(
      'SLW_GATE_NOT_OPEN',
      `deployment ${deploymentId} is ${view.state}, not waiting at a gate`,
      {
        hint: `see "slipway status ${deploymentId}"`,
      },
    );
  }
  if (options.step !== undefined && options.step !== gate.id) {
    throw new SlipwayError(
      'SLW_GATE_NOT_OPEN',
      `deployment ${deploymentId} waits at "${gate.phase}.${gate.id}", not at "${options.step}"`,
      { hint: 'gates are cleared in order' },
    );
  }
  if (decision === 'check' && gate.kind !== 'checklist') {
    throw new SlipwayError('SLW_GATE_NOT_OPEN', `"${gate.id}" is an approval, not a checklist item`, {
      hint: `use: slipway approve ${deploymentId}`,
    });
  }
  if (decision === 'approve' && gate.kind !== 'approval') {
    throw new SlipwayError('SLW_GATE_NOT_OPEN', `"${gate.id}" is a checklist item, not an approval`, {
      hint: `use: slipway check ${deploymentId}`,
    });
  }

  const process = compileProcess(view.processSource, view.processFile, view.processIncludes);
  const expiry = gateExpiry(view, gate);
  if (expiry !== undefined && Date.now() >= expiry) {
    throw new SlipwayError('SLW_GATE_EXPIRED', `"${gate.id}" expired at ${new Date(expiry).toISOString()}`, {
      hint: `the deployment fails on its next run (slipway resume ${deploymentId}); start a new one`,
    });
  }
  const roles = process.roles;
  const awaited = gate.awaiting ?? [];
  // An OS login is mapped to the Slipway user the (pinned) process file names for it.
  const actor: Actor =
    options.actor.via === 'os-user'
      ? { ...options.actor, user: process.identities[options.actor.user] ?? options.actor.user }
      : options.actor;
  const user = actor.user;
  const held = awaited.filter(
    (r) => roles[r]?.includes(user) && (options.role === undefined || options.role === r),
  );
  const role = held[0];
  if (role === undefined) {
    const who = awaited.map((r) => `${r}: ${(roles[r] ?? []).join(', ') || 'nobody'}`).join('; ');
    throw new SlipwayError(
      'SLW_NOT_AUTHORIZED',
      `${user} ${options.role ? `does not hold role ${options.role} among` : 'holds none of'} the roles "${gate.id}" awaits (${who})`,
      { hint: 'act as a member (set SLIPWAY_USER), or add the user to the role in the process file' },
    );
  }
  const rule: ApprovalRule = view.plan.phases
    .find((p) => p.id === gate.phase)
    ?.steps.find((s) => s.id === gate.id)?.gate?.rule ?? {
    mode: 'all',
  };
  let remaining: readonly string[] = [];
  if (decision === 'approve') {
    // Separation of duties: approvals are a second pair of eyes, so not the starter's, and one person one role.
    if (process.policy.starterCannotApprove && user === view.startedBy.user) {
      throw new SlipwayError(
        'SLW_NOT_AUTHORIZED',
        `${user} started deployment ${deploymentId} and cannot also approve it (separation of duties)`,
        { hint: `ask another member of ${role}` },
      );
    }
    const approvers = new Set(gate.decisions.filter((d) => d.kind === 'approved').map((d) => d.actor.user));
    if (approvers.has(user) && (rule.mode !== 'all' || process.policy.onePersonOneRole)) {
      throw new SlipwayError(
        'SLW_NOT_AUTHORIZED',
        `${user} already approved "${gate.id}"${rule.mode === 'all' ? ' in another role' : ''}`,
        {
          hint:
            rule.mode === 'count'
              ? `it needs ${rule.count} different people; ${approvers.size} so far`
              : `each awaited role needs a different person; still awaited: ${awaited.join(', ')}`,
        },
      );
    }
    remaining =
      rule.mode === 'all'
        ? awaited.filter((r) => r !== role)
        : rule.mode === 'any' || approvers.size + 1 >= rule.count
          ? []
          : awaited;
  }

  const base = {
    phase: gate.phase,
    step: gate.id,
    role,
    actor,
    comment: options.comment ?? '',
  };
  const event: AnyNewEvent =
    decision === 'approve'
      ? { type: 'gate.approved', payload: { ...base, remaining } }
      : decision === 'check'
        ? { type: 'gate.checked', payload: base }
        : { type: 'gate.rejected', payload: base };
  await store.append(deploymentId, view.lastSeq, [event]);
  return { view: viewDeployment(await store.readEvents(deploymentId)), role, remaining };
}

/**
 * Who may take an action outside gates (cancel, manual rollback): someone who holds a role in the process —
 * or, for a cancel, whoever started the deployment. A stranger to the process may not.
 */
export function assertMayAct(process: Process, actor: Actor, action: string, startedBy?: string): Actor {
  const user = actor.via === 'os-user' ? (process.identities[actor.user] ?? actor.user) : actor.user;
  const mapped = { ...actor, user };
  if (user === startedBy) return mapped;
  const roles = Object.entries(process.roles).filter(([, members]) => members.includes(user));
  if (roles.length > 0) return mapped;
  throw new SlipwayError(
    'SLW_NOT_AUTHORIZED',
    `${user} holds no role in ${process.app}'s process and may not ${action}`,
    {
      hint: 'act as a member of a role (set SLIPWAY_USER), or add the user to a role in the process file',
    },
  );
}
