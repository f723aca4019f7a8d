/** Planning: what a deployment of a release to an environment will do. Pure: no I/O. */

import { formatDuration } from './duration.js';
import {
  type ApprovalRule,
  type DatabaseSpec,
  deploymentPhases,
  isGate,
  type Process,
  type StepSpec,
} from './process.js';
import { planRollout } from './rollout-plan.js';

export interface PlannedStep {
  readonly id: string;
  readonly name: string;
  readonly kind: StepSpec['kind'];
  /** One line a person can read: the command, URL, checklist item or roles. */
  readonly summary: string;
  readonly idempotent: boolean;
  readonly timeoutMs: number;
  /** Present on gates: who must act (no roles for an automatic checklist item), by which rule, until when. */
  readonly gate?: {
    readonly roles: readonly string[];
    readonly item?: string;
    readonly rule?: ApprovalRule;
    readonly expiresMs?: number;
    /** Automatic checklist item: the step whose success ticks it. */
    readonly auto?: string;
  };
}

export interface PlannedPhase {
  readonly id: string;
  readonly name: string;
  readonly steps: readonly PlannedStep[];
}

/** What the planner needs to know about the world; gathered by the caller (the only impure part). */
export interface PlanContext {
  readonly environment: string;
  readonly release: string;
  /** The release now live in the environment, if any. */
  readonly currentRelease: string | null;
  /** Environments in which this release already succeeded. */
  readonly succeededIn: readonly string[];
  /** An emergency deployment (extra approvals, not held by windows or freezes). */
  readonly emergency?: boolean;
  /** The environment's maintenance window as it stands now, when it has windows or freezes. */
  readonly window?: PlanWindow;
}

/** The maintenance window at planning time, in words and instants. */
export interface PlanWindow {
  readonly open: boolean;
  /** e.g. "open until 2026-12-05 02:00 Europe/Berlin" or "opens 2026-12-04 22:00 Europe/Berlin (21:00 UTC)". */
  readonly description: string;
  readonly opensAt?: string;
  readonly closesAt?: string;
}

export interface Plan {
  readonly app: string;
  readonly environment: string;
  readonly release: string;
  readonly currentRelease: string | null;
  readonly target: string;
  /** Environments with `hosts`: the strategy and the batches hosts go in. */
  readonly fleet?: { readonly strategy: string; readonly batches: readonly (readonly string[])[] };
  readonly phases: readonly PlannedPhase[];
  /** Gates a person must clear, in order, e.g. "approval by qa (staging.uat)". */
  readonly gates: readonly string[];
  /** Environments that must have run this release first, and are still missing. */
  readonly missingPromotions: readonly string[];
  readonly autoRollback: boolean;
  readonly emergency: boolean;
  readonly window?: PlanWindow;
  /** Members of each role a gate of this plan awaits: who must act. */
  readonly people: Readonly<Record<string, readonly string[]>>;
  /** What each `migrate` step would apply (filled in by `slipway plan`, which may look at the database). */
  readonly migrations?: readonly PlanMigrations[];
}

/** The migrations one `migrate` step would apply. */
export interface PlanMigrations {
  /** `phase.step`. */
  readonly step: string;
  /** `sqlite /path/app.db`, `postgres user@host:5432/db` (no password). */
  readonly database: string;
  /** In order; every migration of the release when the database could not be read. */
  readonly pending: readonly { readonly id: string; readonly irreversible: boolean }[];
  /** Migrations of the release already applied; null when the database could not be read. */
  readonly applied: number | null;
  /** Why the history could not be read (the plan still lists the release's migrations). */
  readonly unreachable?: string;
  /** What the deployment would refuse, e.g. an applied migration whose file changed. */
  readonly problems?: readonly string[];
}

export function planDeployment(process: Process, ctx: PlanContext): Plan {
  const env = process.environments[ctx.environment];
  if (!env) throw new Error(`planDeployment: unknown environment ${ctx.environment}`);
  const phases = deploymentPhases(process, ctx.environment, ctx.emergency === true).map(
    (phase): PlannedPhase => ({ id: phase.id, name: phase.name, steps: phase.steps.map(planStep) }),
  );
  const gates = phases.flatMap((ph) =>
    ph.steps.filter((s) => s.gate).map((s) => `${describeGate(s)} (${ph.id}.${s.id})`),
  );
  return {
    app: process.app,
    environment: ctx.environment,
    release: ctx.release,
    currentRelease: ctx.currentRelease,
    target: env.fleet
      ? `${env.fleet.hosts.length} hosts (${env.fleet.hosts.map((h) => h.name).join(', ')})${env.inventory ? ` from inventory ${env.inventory}` : ''}`
      : `${env.target.type}:${env.target.root}`,
    ...(env.fleet
      ? {
          fleet: {
            strategy: env.fleet.strategy.type,
            batches: planRollout(
              env.fleet.hosts.map((h) => h.name),
              env.fleet.strategy,
            ).batches,
          },
        }
      : {}),
    phases,
    gates,
    missingPromotions: env.requires.filter((r) => !ctx.succeededIn.includes(r)),
    autoRollback: env.rollback.auto,
    emergency: ctx.emergency === true,
    ...(ctx.window ? { window: ctx.window } : {}),
    people: Object.fromEntries(
      [...new Set(phases.flatMap((p) => p.steps.flatMap((s) => s.gate?.roles ?? [])))].map((r) => [
        r,
        process.roles[r] ?? [],
      ]),
    ),
  };
}

function describeGate(s: PlannedStep): string {
  if (!s.gate) return '';
  if (s.kind === 'checklist' && s.gate.auto) return `checklist "${s.gate.item}" (automatic: ${s.gate.auto})`;
  return s.kind === 'checklist'
    ? `checklist "${s.gate.item}" by ${s.gate.roles.join(', ')}`
    : `approval by ${s.gate.roles.join(' + ')}`;
}

export function planStep(step: StepSpec): PlannedStep {
  const base = {
    id: step.id,
    name: step.name,
    kind: step.kind,
    summary: summarizeStep(step),
    idempotent: step.idempotent,
    timeoutMs: step.timeoutMs,
  };
  if (!isGate(step)) return base;
  if (step.kind === 'checklist') {
    const auto = step.auto ? `${step.auto.phase}.${step.auto.step}` : undefined;
    return {
      ...base,
      gate: { roles: step.role ? [step.role] : [], item: step.item, ...(auto ? { auto } : {}) },
    };
  }
  return {
    ...base,
    gate: {
      roles: step.roles,
      rule: step.rule,
      ...(step.expiresMs === undefined ? {} : { expiresMs: step.expiresMs }),
    },
  };
}

export function summarizeStep(step: StepSpec): string {
  switch (step.kind) {
    case 'run': {
      const cmd = 'argv' in step.command ? step.command.argv.join(' ') : step.command.shell;
      return `${step.on === 'target' ? 'on target: ' : ''}${cmd}`;
    }
    case 'http':
      return `${step.http.method} ${step.http.url} → ${step.http.expectStatus.join('|')}`;
    case 'checklist':
      return `☐ ${step.item} (${step.auto ? `automatic: ${step.auto.phase}.${step.auto.step}` : step.role})`;
    case 'approval': {
      const rule = step.rule;
      const who = rule.mode === 'all' ? step.roles.join(' + ') : step.roles.join(' or ');
      return `approval by ${rule.mode === 'count' ? `${rule.count} of ` : ''}${who}`;
    }
    case 'release':
      return `unpack artifact, verify SHA-256, switch current (keep ${step.keep})`;
    case 'config':
      return `render ${step.files.map((f) => f.dest).join(', ')}`;
    case 'restart':
      return step.mode === 'reload' ? 'reload service' : 'stop and start service';
    case 'smoke':
      return `${step.checks.length} check${step.checks.length === 1 ? '' : 's'}: ${step.checks.map((c) => c.id).join(', ')}`;
    case 'junit':
      return `JUnit ${step.path}: ≥${step.minTests} tests, ≤${step.maxFailures} failures`;
    case 'sarif':
      return `SARIF ${step.path}: ${limits(step.max)}`;
    case 'npm-audit':
      return `npm audit ${step.path}: ${limits(step.max)}`;
    case 'benchmark':
      return `benchmark ${step.path}: at most ${Math.round(step.threshold * 100)}% worse than the last good release`;
    case 'coverage':
      return `coverage ${step.path}: lines ≥${step.minLines}%${step.minBranches === undefined ? '' : `, branches ≥${step.minBranches}%`}`;
    case 'load':
      return `load ${step.method} ${step.url} at ${step.rate}/s for ${formatDuration(step.durationMs)}`;
    case 'backup':
      return `back up ${step.items.map((i) => (i.kind === 'postgres' ? `postgres ${i.url}` : `${i.kind} ${i.path}`)).join(', ')}`;
    case 'verify-backup':
      return `verify the newest backup (checksums, test restore)${step.maxAgeMs === undefined ? '' : `, at most ${formatDuration(step.maxAgeMs)} old`}`;
    case 'baseline':
      return `measure ${step.monitors.length ? step.monitors.join(', ') : 'all monitors'} for ${formatDuration(step.durationMs)} (baseline)`;
    case 'bake':
      return `watch ${step.monitors.length ? step.monitors.join(', ') : 'all monitors'} for ${formatDuration(step.durationMs)}, every ${formatDuration(step.intervalMs)}; roll back on ${step.failureLimit} of ${step.window} failing intervals`;
    case 'migrate':
      return `apply pending migrations from ${step.dir}/ to ${databaseText(step.database)}`;
    case 'integrity':
      return step.mode === 'capture'
        ? `capture ${step.checks.map((c) => c.id).join(', ')} on ${databaseText(step.database)}`
        : `verify ${step.checks.map((c) => c.id).join(', ')} against ${step.capture?.phase}.${step.capture?.step}`;
  }
}

function databaseText(db: DatabaseSpec): string {
  return db.kind === 'sqlite' ? `sqlite ${db.path}` : `postgres ${db.url}`;
}

function limits(max: Readonly<Record<string, number | undefined>>): string {
  const parts = Object.entries(max).map(([level, n]) => `${level} ≤${n}`);
  return parts.length ? parts.join(', ') : 'no limits';
}

/** Total of the step timeouts, an upper bound shown by `slipway plan`. */
export function worstCaseDuration(plan: Plan): string {
  let ms = 0;
  for (const ph of plan.phases) for (const s of ph.steps) if (!s.gate) ms += s.timeoutMs;
  return formatDuration(ms);
}
