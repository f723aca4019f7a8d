/** Human renderings of deployments, plans and history for the terminal. */

import type { DeploymentView, StepView } from '../core/deployment-view.js';
import { formatDuration } from '../core/duration.js';
import { type Plan, type PlanMigrations, worstCaseDuration } from '../core/plan.js';
import type { DeploymentRecord } from '../core/ports.js';
import type { DeploymentState } from '../core/state.js';
import { hostTable } from './fleet-progress.js';
import type { Colors } from './output.js';
import { renderAnalysis } from './render-analysis.js';

export function stateLabel(state: DeploymentState, c: Colors): string {
  switch (state) {
    case 'succeeded':
      return c.green('succeeded');
    case 'failed':
      return c.red('failed');
    case 'rolled-back':
      return c.yellow('rolled back');
    case 'waiting':
      return c.cyan('waiting');
    case 'rolling-back':
      return c.yellow('rolling back');
    case 'running':
      return c.blue('running');
  }
}

const STEP_ICON: Record<StepView['status'], string> = {
  pending: '·',
  running: '▶',
  retrying: '↻',
  waiting: '⏸',
  succeeded: '✓',
  failed: '✗',
  interrupted: '!',
};

function stepIcon(s: StepView, c: Colors): string {
  const icon = STEP_ICON[s.status];
  if (s.status === 'succeeded') return c.green(icon);
  if (s.status === 'failed') return c.red(icon);
  if (s.status === 'waiting') return c.cyan(icon);
  if (s.status === 'pending') return c.dim(icon);
  return c.yellow(icon);
}

export function renderStatus(view: DeploymentView, c: Colors): string {
  const lines: string[] = [];
  const duration = view.finishedAt
    ? ` in ${formatDuration(Date.parse(view.finishedAt) - Date.parse(view.createdAt))}`
    : '';
  lines.push(
    `${c.bold(`Deployment ${view.id}`)}  ${view.app} → ${c.bold(view.environment)}  release ${c.bold(view.release)}  ${stateLabel(view.state, c)}${duration}`,
  );
  if (view.emergency) lines.push(c.red(c.bold(`⚑ EMERGENCY deployment: ${view.emergency.reason}`)));
  lines.push(
    c.dim(
      `started by ${view.startedBy.user} at ${view.createdAt}${view.resumes ? ` · resumed ${view.resumes}×` : ''} · sha256 ${view.artifactSha256.slice(0, 12)}…`,
    ),
  );
  for (const phase of view.phases) {
    const icon =
      phase.status === 'succeeded'
        ? c.green('✓')
        : phase.status === 'failed'
          ? c.red('✗')
          : phase.status === 'running'
            ? c.blue('▶')
            : c.dim('·');
    lines.push(`${icon} ${c.bold(phase.name)}`);
    for (const s of phase.steps) {
      const took = s.durationMs !== undefined ? c.dim(` (${formatDuration(s.durationMs)})`) : '';
      const attempts = s.attempts > 1 ? c.dim(` ×${s.attempts}`) : '';
      const detail =
        s.status === 'failed' || s.status === 'retrying'
          ? c.red(firstLine(s.error?.message ?? ''))
          : s.status === 'waiting'
            ? c.cyan(`awaiting ${(s.awaiting ?? []).join(', ')}`)
            : s.status === 'pending'
              ? c.dim(s.summary)
              : (s.result ?? s.summary);
      lines.push(`    ${stepIcon(s, c)} ${s.id.padEnd(22)} ${detail}${attempts}${took}`);
    }
  }
  if (view.analysis) lines.push(...renderAnalysis(view.analysis, c));
  if (view.fleet) lines.push(...hostTable(view.fleet, c));
  if (view.rollback) {
    const rb = view.rollback;
    lines.push(
      `${c.yellow('↩')} ${c.bold('rollback')} to ${rb.toRelease ?? '(none)'} — ${rb.status} ${c.dim(`(trigger: ${rb.trigger})`)}`,
    );
    for (const a of rb.actions)
      lines.push(`    ${a.ok ? c.green('✓') : c.red('✗')} ${a.action.padEnd(22)} ${firstLine(a.detail)}`);
  }
  if (view.outcome) lines.push(`${c.bold('why:')} ${view.outcome}`);
  if (view.window) {
    lines.push(
      `${c.cyan('waiting for the maintenance window')} before ${view.window.phase}.${view.window.step}: ${view.window.reason}; opens ${view.window.opensAtText ?? `${view.window.opensAt} (${localTime(view.window.opensAt)} your time)`} — it continues by itself while a runner follows it, else run "slipway resume ${view.id}" then`,
    );
  }
  const gate = view.phases.flatMap((p) => p.steps).find((s) => s.status === 'waiting');
  if (gate) lines.push(nextGateHint(view.id, gate, c, view.plan.people));
  return lines.join('\n');
}

/** Who may clear the open gate, and the command to do it. `people` maps roles to members (from the plan). */
export function nextGateHint(
  id: number,
  gate: StepView,
  c: Colors,
  people: Readonly<Record<string, readonly string[]>> = {},
): string {
  const verb = gate.kind === 'checklist' ? 'check' : 'approve';
  const who = (gate.awaiting ?? []).map((r) => (people[r]?.length ? `${r} (${people[r].join(', ')})` : r));
  return `${c.cyan('waiting for')} ${who.join(' + ')} at ${gate.phase}.${gate.id} — ${c.bold(`slipway ${verb} ${id} --comment "…"`)} (or slipway reject ${id})`;
}

export function renderPlan(plan: Plan, c: Colors): string {
  const lines = [
    `${c.bold('Plan')}: ${plan.app} release ${c.bold(plan.release)} → ${c.bold(plan.environment)} (${plan.target})`,
    `live now: ${plan.currentRelease ?? 'nothing'} · automatic rollback: ${plan.autoRollback ? 'on' : 'off'}`,
    ...(plan.fleet
      ? [
          `strategy: ${plan.fleet.strategy}${plan.fleet.batches.length > 1 ? ` in ${plan.fleet.batches.length} batches: ${plan.fleet.batches.map((b) => b.join(', ')).join(' | ')}` : ''}`,
        ]
      : []),
  ];
  for (const phase of plan.phases) {
    lines.push(c.bold(`▸ ${phase.name}`));
    for (const s of phase.steps) {
      const flags = [s.gate ? 'gate' : '', s.idempotent ? '' : 'not idempotent'].filter(Boolean).join(', ');
      lines.push(
        `    ${s.id.padEnd(22)} ${c.dim(s.kind.padEnd(9))} ${s.summary}${flags ? c.dim(` [${flags}]`) : ''}`,
      );
    }
  }
  lines.push(plan.gates.length ? c.bold('gates:') : 'gates: none');
  for (const g of plan.gates) lines.push(`  • ${g}`);
  const people = Object.entries(plan.people);
  if (people.length)
    lines.push(`who must act: ${people.map(([r, m]) => `${r} (${m.join(', ') || 'nobody!'})`).join('; ')}`);
  if (plan.window) lines.push(`maintenance window: ${plan.window.description}`);
  for (const m of plan.migrations ?? []) lines.push(...renderPlanMigrations(m, c));
  lines.push(
    c.dim(
      `at most ${worstCaseDuration(plan)} of work if every step ran to its timeout (time at gates not counted)`,
    ),
  );
  if (plan.emergency)
    lines.push(c.red('⚑ emergency: windows and freezes do not hold it; extra approvals do'));
  if (plan.missingPromotions.length) {
    lines.push(
      c.red(`blocked: release ${plan.release} must first succeed in ${plan.missingPromotions.join(', ')}`),
    );
  }
  lines.push(c.dim('nothing was done (plan only)'));
  return lines.join('\n');
}

/** One migrate step's pending migrations in a plan; an unreachable database is said, not fatal. */
function renderPlanMigrations(m: PlanMigrations, c: Colors): string[] {
  const where = m.database ? ` on ${m.database}` : '';
  const head =
    m.applied === null
      ? `migrations (${m.step})${where}: ${m.pending.length} in the release; ${c.yellow(`history not readable: ${m.unreachable ?? 'unknown'}`)}`
      : `migrations (${m.step})${where}: ${m.pending.length ? `${m.pending.length} pending` : 'none pending'}, ${m.applied} applied`;
  return [
    head,
    ...m.pending.map(
      (p) => `  • ${p.id}${p.irreversible ? c.dim(' (irreversible: a rollback restores the backup)') : ''}`,
    ),
    ...(m.problems ?? []).map((p) => `  ${c.red(`✗ ${p}`)}`),
  ];
}

export function renderHistory(rows: readonly DeploymentRecord[], c: Colors): string {
  if (rows.length === 0) return 'no deployments yet';
  const header = `${'ID'.padStart(5)}  ${'ENV'.padEnd(12)} ${'RELEASE'.padEnd(12)} ${'OUTCOME'.padEnd(12)} ${'BY'.padEnd(10)} ${'STARTED'.padEnd(20)} ${'TOOK'.padStart(7)}  WHY`;
  const lines = [c.bold(header)];
  for (const d of rows) {
    const took = d.finishedAt ? formatDuration(Date.parse(d.finishedAt) - Date.parse(d.createdAt)) : '';
    const label = stateLabel(d.state, c);
    const pad = ' '.repeat(Math.max(0, 12 - d.state.replace('-', ' ').length));
    lines.push(
      `${String(d.id).padStart(5)}${d.emergency ? c.red('⚑') : ' '} ${d.environment.padEnd(12)} ${d.release.padEnd(12)} ${label}${pad} ${d.startedBy.padEnd(10)} ${d.createdAt.slice(0, 19).replace('T', ' ').padEnd(20)} ${took.padStart(7)}  ${c.dim(truncate(d.reason ?? '', 70))}`,
    );
  }
  return lines.join('\n');
}

function firstLine(text: string): string {
  return truncate(text.split('\n')[0] ?? '', 110);
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** An ISO instant in the reader's own timezone, e.g. "Sat 22:00". */
export function localTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
}
