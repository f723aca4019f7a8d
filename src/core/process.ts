/** The compiled process model: what `loadProcess` produces from slipway.yaml. Frozen, fully resolved, durations in ms. */

/** A command is either an argv array (no shell involved) or a shell string (run by `/bin/sh -c`). */
export type CommandSpec =
  | { readonly argv: readonly string[] }
  /** Shell strings never contain `{{ }}` templates: values reach them only as environment variables. */
  | { readonly shell: string };

/** Where a `run` step executes: on the machine running Slipway, or on the environment's target. */
export type RunLocation = 'controller' | 'target';

export interface RetrySpec {
  /** Extra attempts after the first. @default 0 */
  readonly count: number;
  /** Delay before the first retry; doubles each time up to `maxDelayMs`. @default 1000 */
  readonly delayMs: number;
  /** @default 30000 */
  readonly maxDelayMs: number;
}

export interface HttpCheckSpec {
  /** May contain `{{ }}` templates. */
  readonly url: string;
  /** @default "GET" */
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Accepted statuses. @default [200] */
  readonly expectStatus: readonly number[];
  /** The response body must contain this text (or match, when given as `/regex/flags`). */
  readonly expectBody?: string;
  /** Fail when the response takes longer. */
  readonly maxLatencyMs?: number;
}

export interface RunCheckSpec {
  readonly command: CommandSpec;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly on: RunLocation;
}

/** One check of a `smoke` group. */
export type SmokeCheckSpec =
  | { readonly id: string; readonly kind: 'http'; readonly http: HttpCheckSpec }
  | { readonly id: string; readonly kind: 'run'; readonly run: RunCheckSpec };

interface StepBase {
  readonly id: string;
  /** Human label; defaults to the id. */
  readonly name: string;
  /** @default depends on kind: run 10m, http 30s, others 10m. Gates have no timeout. */
  readonly timeoutMs: number;
  readonly retry: RetrySpec;
  /**
   * Whether running the step twice is harmless. After a crash, a step that may have started is
   * re-run only when idempotent; otherwise the deployment fails safely (and rolls back).
   * @default false for `run`, true for every other kind
   */
  readonly idempotent: boolean;
}

export interface RunStep extends StepBase, RunCheckSpec {
  readonly kind: 'run';
}
export interface HttpStep extends StepBase {
  readonly kind: 'http';
  readonly http: HttpCheckSpec;
}
export interface ChecklistStep extends StepBase {
  readonly kind: 'checklist';
  /** The checklist item's text, e.g. "Requirements documented and approved". */
  readonly item: string;
  /** Role whose members may tick it (manual items; optional for automatic ones). */
  readonly role?: string;
  /**
   * Automatic item: ticked by Slipway when this earlier step (`phase.step`, or `step` in the same phase)
   * succeeded; the deployment fails if that step did not.
   */
  readonly auto?: { readonly phase: string; readonly step: string };
}

/** How many approvals clear an approval gate: every listed role, any one of them, or n distinct people. */
export type ApprovalRule =
  | { readonly mode: 'all' }
  | { readonly mode: 'any' }
  | { readonly mode: 'count'; readonly count: number };

export interface ApprovalStep extends StepBase {
  readonly kind: 'approval';
  readonly roles: readonly string[];
  /** @default { mode: 'all' } */
  readonly rule: ApprovalRule;
  /** The gate expires (the deployment fails) when not cleared this long after it opened. */
  readonly expiresMs?: number;
}
export interface ReleaseStep extends StepBase {
  readonly kind: 'release';
  /** How many release directories to keep on the target (the current one always stays). @default 5 */
  readonly keep: number;
}
export interface ConfigFileSpec {
  /** Template path, relative to the process file's folder. */
  readonly template: string;
  /** Destination, relative to the new release directory. */
  readonly dest: string;
}
export interface ConfigStep extends StepBase {
  readonly kind: 'config';
  readonly files: readonly ConfigFileSpec[];
}
export interface RestartStep extends StepBase {
  readonly kind: 'restart';
  /** `restart` runs the service's stop then start; `reload` runs its reload command. @default "restart" */
  readonly mode: 'restart' | 'reload';
}
export interface SmokeStep extends StepBase {
  readonly kind: 'smoke';
  readonly checks: readonly SmokeCheckSpec[];
}

/** An exception to a findings gate: known, accepted until a date, with a reason. */
export interface AllowEntry {
  /** Rule id (SARIF), advisory id / GHSA / CVE or package name (npm audit). */
  readonly id: string;
  /** Epoch ms after which the exception no longer applies. */
  readonly untilMs: number;
  readonly reason: string;
}

export type Severity = 'critical' | 'high' | 'moderate' | 'low' | 'info';
export type SarifLevel = 'error' | 'warning' | 'note';

/** `junit`: parse JUnit XML reports (a file or glob) and gate on failures, errors, skips and a minimum count. */
export interface JunitStep extends StepBase {
  readonly kind: 'junit';
  /** Path or glob, relative to the process file's folder (templates allowed). */
  readonly path: string;
  /** Failures plus errors allowed. @default 0 */
  readonly maxFailures: number;
  readonly maxSkipped?: number;
  /** @default 1 */
  readonly minTests: number;
}
/** `sarif`: parse a SARIF 2.1 log and gate on the number of findings per level. */
export interface SarifStep extends StepBase {
  readonly kind: 'sarif';
  readonly path: string;
  /** Maximum findings per level; a level not listed is not limited. @default { error: 0 } */
  readonly max: Readonly<Partial<Record<SarifLevel, number>>>;
  readonly allow: readonly AllowEntry[];
}
/** `npm-audit`: parse `npm audit --json` output and gate on vulnerabilities per severity. */
export interface NpmAuditStep extends StepBase {
  readonly kind: 'npm-audit';
  readonly path: string;
  /** @default { critical: 0, high: 0 } */
  readonly max: Readonly<Partial<Record<Severity, number>>>;
  readonly allow: readonly AllowEntry[];
}
/** `benchmark`: compare benchmark results with the last good deployment's (a regression beyond the threshold fails). */
export interface BenchmarkStep extends StepBase {
  readonly kind: 'benchmark';
  /** JSON: an array of `{ name, value, unit? }` (github-action-benchmark style) or hyperfine's `--export-json`. */
  readonly path: string;
  /** Whether bigger values are better (throughput) or smaller (latency). @default 'smaller' */
  readonly better: 'smaller' | 'bigger';
  /** Allowed worsening as a fraction. @default 0.2 (the seed's 20%) */
  readonly threshold: number;
}
/** `coverage`: read an lcov or Cobertura summary and gate on a minimum line (and branch) coverage. */
export interface CoverageStep extends StepBase {
  readonly kind: 'coverage';
  readonly path: string;
  /** Percent, 0-100. */
  readonly minLines: number;
  readonly minBranches?: number;
}
/** `load`: drive a URL at a fixed rate for a while; gate on absolute limits and on the last good release's numbers. */
export interface LoadStep extends StepBase {
  readonly kind: 'load';
  /** Templates allowed (no secrets). */
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Requests per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** Concurrent connections. @default 10 */
  readonly connections: number;
  readonly maxP95Ms?: number;
  readonly maxP99Ms?: number;
  /** Fraction of requests that may fail (non-2xx/3xx or errors). @default 0.01 */
  readonly maxErrorRate: number;
  /** Allowed worsening against the baseline (p95 latency up, throughput down), as a fraction. @default 0.2 */
  readonly regression: number;
}

export type StepSpec =
  | RunStep
  | HttpStep
  | ChecklistStep
  | ApprovalStep
  | ReleaseStep
  | ConfigStep
  | RestartStep
  | SmokeStep
  | JunitStep
  | SarifStep
  | NpmAuditStep
  | BenchmarkStep
  | CoverageStep
  | LoadStep;
export type StepKind = StepSpec['kind'];

export interface PhaseSpec {
  readonly id: string;
  readonly name: string;
  /** Environments this phase runs for; `undefined` means all. */
  readonly environments?: readonly string[];
  /**
   * Whether the phase runs only inside the environment's maintenance windows and outside its freezes.
   * @default true when the phase changes the target (has a release, config, restart, or `on: target` run step)
   */
  readonly windowed: boolean;
  /** Declared time the phase needs: it does not start unless the window stays open that long. */
  readonly expectedDurationMs?: number;
  readonly steps: readonly StepSpec[];
}

export interface LocalTargetSpec {
  readonly type: 'local';
  /** Absolute folder holding `releases/`, `current` and `shared/`. */
  readonly root: string;
}
export type TargetSpec = LocalTargetSpec;

/** Where a secret's value comes from at run time. Values are never stored or printed. */
export type SecretSource = { readonly env: string } | { readonly file: string };

export interface ServiceSpec {
  readonly start?: CommandSpec;
  readonly stop?: CommandSpec;
  readonly reload?: CommandSpec;
  /** Environment for the service commands (templates allowed). */
  readonly env: Readonly<Record<string, string>>;
}

/** A recurring maintenance window: when it opens (cron or RRULE, in its own timezone) and how long it stays open. */
export interface WindowSpec {
  /** 5-field cron expression (minute hour day-of-month month day-of-week). */
  readonly cron?: string;
  /** RFC 5545 recurrence rule, e.g. `FREQ=WEEKLY;BYDAY=SA;BYHOUR=22;BYMINUTE=0`. */
  readonly rrule?: string;
  readonly durationMs: number;
  /** IANA timezone the schedule is read in, e.g. `Europe/Berlin`. */
  readonly timezone: string;
}

/** A period in which nothing may be deployed (except as an approved emergency). */
export interface FreezeSpec {
  /** Epoch ms, inclusive. */
  readonly fromMs: number;
  /** Epoch ms, exclusive. */
  readonly toMs: number;
  readonly reason: string;
}

export interface EnvironmentSpec {
  readonly name: string;
  /** Maintenance windows; empty means "any time". */
  readonly windows: readonly WindowSpec[];
  readonly freezes: readonly FreezeSpec[];
  /** Roles that must approve an emergency deployment (outside a window or in a freeze). @default ['devops', 'pm'] */
  readonly emergencyApprovers: readonly string[];
  readonly target: TargetSpec;
  /** Top-level vars merged with this environment's (environment wins). */
  readonly vars: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, SecretSource>>;
  /** Environments in which the same release must have succeeded before this one (promotion). */
  readonly requires: readonly string[];
  readonly rollback: {
    /** Roll back automatically when a step fails after the release was switched. @default true */
    readonly auto: boolean;
  };
  /** The environment's service commands (top-level `service` merged with the environment's). */
  readonly service: ServiceSpec;
}

export interface ArtifactSpec {
  /** Path template of the release tarball, relative to the process file, e.g. `dist/app-{{ release }}.tar.gz`. */
  readonly path: string;
  /** Optional path template of a `sha256sum`-style file to verify the artifact against. */
  readonly sha256File?: string;
}

export interface Process {
  /** Absolute path of the process file (for messages), and its folder (base of relative paths). */
  readonly file: string;
  readonly baseDir: string;
  /** The exact source text, stored with each deployment so a resume never re-reads a changed file. */
  readonly source: string;
  /** SHA-256 of `source`. */
  readonly sourceHash: string;
  readonly version: 1;
  readonly app: string;
  /** role → member user names. */
  readonly roles: Readonly<Record<string, readonly string[]>>;
  readonly artifact: ArtifactSpec;
  /** OS login → Slipway user name (for people whose login differs from the name used in roles). */
  readonly identities: Readonly<Record<string, string>>;
  /** Separation of duties. */
  readonly policy: {
    /** The person who started a deployment may not approve it. @default true */
    readonly starterCannotApprove: boolean;
    /** One person may fill only one role of the same approval gate. @default true */
    readonly onePersonOneRole: boolean;
  };
  readonly environments: Readonly<Record<string, EnvironmentSpec>>;
  readonly phases: readonly PhaseSpec[];
}

export const STEP_KINDS: readonly StepKind[] = [
  'run',
  'http',
  'checklist',
  'approval',
  'release',
  'config',
  'restart',
  'smoke',
  'junit',
  'sarif',
  'npm-audit',
  'benchmark',
  'coverage',
  'load',
];
export const GATE_KINDS: ReadonlySet<StepKind> = new Set(['checklist', 'approval']);

export function isGate(step: StepSpec): step is ChecklistStep | ApprovalStep {
  return GATE_KINDS.has(step.kind);
}

/** The phases (with their steps) that a deployment to `environment` goes through, in order. */
export function phasesFor(process: Process, environment: string): readonly PhaseSpec[] {
  return process.phases.filter((p) => p.environments === undefined || p.environments.includes(environment));
}

export const EMERGENCY_PHASE = 'emergency';
export const EMERGENCY_STEP = 'emergency-approval';

/**
 * The phases a deployment goes through. An emergency deployment (outside a window or in a freeze) begins
 * with the extra approvals its environment demands.
 */
export function deploymentPhases(
  process: Process,
  environment: string,
  emergency: boolean,
): readonly PhaseSpec[] {
  const phases = phasesFor(process, environment);
  const env = process.environments[environment];
  if (!emergency || !env) return phases;
  const approval: ApprovalStep = {
    kind: 'approval',
    id: EMERGENCY_STEP,
    name: 'Emergency approval',
    roles: env.emergencyApprovers,
    rule: { mode: 'all' },
    timeoutMs: 0,
    retry: { count: 0, delayMs: 0, maxDelayMs: 0 },
    idempotent: true,
  };
  return [{ id: EMERGENCY_PHASE, name: 'Emergency approval', windowed: false, steps: [approval] }, ...phases];
}
