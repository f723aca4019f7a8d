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
  /** Role whose members may tick it. */
  readonly role: string;
}
export interface ApprovalStep extends StepBase {
  readonly kind: 'approval';
  /** Every listed role must approve (one member each). */
  readonly roles: readonly string[];
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

export type StepSpec =
  | RunStep
  | HttpStep
  | ChecklistStep
  | ApprovalStep
  | ReleaseStep
  | ConfigStep
  | RestartStep
  | SmokeStep;
export type StepKind = StepSpec['kind'];

export interface PhaseSpec {
  readonly id: string;
  readonly name: string;
  /** Environments this phase runs for; `undefined` means all. */
  readonly environments?: readonly string[];
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

export interface EnvironmentSpec {
  readonly name: string;
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
];
export const GATE_KINDS: ReadonlySet<StepKind> = new Set(['checklist', 'approval']);

export function isGate(step: StepSpec): step is ChecklistStep | ApprovalStep {
  return GATE_KINDS.has(step.kind);
}

/** The phases (with their steps) that a deployment to `environment` goes through, in order. */
export function phasesFor(process: Process, environment: string): readonly PhaseSpec[] {
  return process.phases.filter((p) => p.environments === undefined || p.environments.includes(environment));
}
