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

/**
 * One thing a `backup` step saves. Paths and URLs may hold templates, rendered when the step runs. An `optional`
 * path that does not exist yet (the first deployment) is skipped and noted in the manifest. @default optional false
 */
export type BackupItemSpec =
  /** A file or folder (e.g. `{{ target.current }}`, a config file) → a tar.gz; links are stored as links. */
  | { readonly kind: 'files'; readonly path: string; readonly optional: boolean }
  /** A SQLite database file, copied with SQLite's online backup API (consistent while the app writes). */
  | { readonly kind: 'sqlite'; readonly path: string; readonly optional: boolean }
  /**
   * A PostgreSQL database, dumped with `pg_dump -Fc`. `url` has no password (templates, no secrets);
   * `password` (usually `{{ secrets.NAME }}`) reaches pg_dump only as PGPASSWORD.
   */
  | { readonly kind: 'postgres'; readonly url: string; readonly password?: string };

/** `backup`: one backup set (all items plus a manifest with SHA-256s and row counts) in the environment's backup store. */
export interface BackupStep extends StepBase {
  readonly kind: 'backup';
  readonly items: readonly BackupItemSpec[];
}
/** `verify-backup`: checksums and test-restores the newest backup set (this deployment's, if it made one). */
export interface VerifyBackupStep extends StepBase {
  readonly kind: 'verify-backup';
  /** Fail when the set to verify is older than this (no fresh backup was made). */
  readonly maxAgeMs?: number;
}

/**
 * `baseline`: samples the environment's monitors against the release serving now (place it before the
 * switch), so a later `bake` compares the new release with the old one measured the same way.
 */
export interface BaselineStep extends StepBase {
  readonly kind: 'baseline';
  /** How long to measure. @default 30000 */
  readonly durationMs: number;
  /** Time between samples of every monitor. @default 1000 */
  readonly everyMs: number;
  /** Ids of the environment's monitors to measure; empty means all of them. */
  readonly monitors: readonly string[];
}
/**
 * `bake`: watches the monitors after the switch for `durationMs`, judging them every `intervalMs` against the
 * baseline; a trigger (see `src/core/analysis.ts`) fails the step, and the failure rolls back.
 */
export interface BakeStep extends StepBase {
  readonly kind: 'bake';
  /** @default 300000 (5m) */
  readonly durationMs: number;
  /** One analysis interval: its samples' median is judged. @default 10000 */
  readonly intervalMs: number;
  /** Samples per monitor per interval. @default 5 */
  readonly samplesPerInterval: number;
  /** Failing intervals among the last `window` that trigger a rollback. @default 2 */
  readonly failureLimit: number;
  /** @default 3 */
  readonly window: number;
  /** Consecutive failed samples of a critical monitor that trigger at once. @default 2 */
  readonly criticalFailures: number;
  /** Ids of the environment's monitors to watch; empty means all of them. */
  readonly monitors: readonly string[];
}

/** A database Slipway connects to itself (migrations, integrity checks). Templates are rendered when the step runs. */
export type DatabaseSpec =
  /** A SQLite file on this machine (a local target's `{{ target.shared }}/app.db`, say). */
  | { readonly kind: 'sqlite'; readonly path: string }
  /** `url` has no password (templates, no secrets); `password` is usually `{{ secrets.NAME }}`. */
  | { readonly kind: 'postgres'; readonly url: string; readonly password?: string };

/** `migrate`: applies the release's pending SQL migrations (`<dir>/<version>_<name>.up.sql`), each in a transaction, under a lock. */
export interface MigrateStep extends StepBase {
  readonly kind: 'migrate';
  readonly database: DatabaseSpec;
  /** Folder of migration files inside the release (artifact). @default "migrations" */
  readonly dir: string;
  /** How long to wait for another runner's migration lock before failing. @default 60000 */
  readonly lockTimeoutMs: number;
}

/** What an integrity check's value must do between `capture` (before the switch) and `verify` (after). */
export type IntegrityExpectation =
  /** A count that must not drop (after >= before). */
  | { readonly kind: 'noDrop' }
  /** A sum or checksum that must not change (compared as text). */
  | { readonly kind: 'unchanged' }
  /** The query must return no rows. */
  | { readonly kind: 'empty' }
  /** The value must stay within bounds. */
  | { readonly kind: 'range'; readonly min?: number; readonly max?: number };

export interface IntegrityCheckSpec {
  readonly id: string;
  /** SQL run read-only; its first row's first column is the value (`empty`: the number of rows). */
  readonly query: string;
  readonly expect: IntegrityExpectation;
}

/**
 * `integrity`: `capture` measures the checks before the release is switched; `verify` (naming its capture step)
 * measures them again after and fails on a violation, which rolls the deployment back.
 */
export interface IntegrityStep extends StepBase {
  readonly kind: 'integrity';
  readonly mode: 'capture' | 'verify';
  readonly database: DatabaseSpec;
  readonly checks: readonly IntegrityCheckSpec[];
  /** For `verify`: the capture step whose values are the "before" (copied from it when compiled). */
  readonly capture?: { readonly phase: string; readonly step: string };
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
  | LoadStep
  | BackupStep
  | VerifyBackupStep
  | BaselineStep
  | BakeStep
  | MigrateStep
  | IntegrityStep;
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
  /**
   * "Final backup verification": the phase's first step that is not a backup or verify-backup step does not
   * start unless the environment's backup store holds a verified backup set at most this old.
   */
  readonly requireVerifiedBackupMs?: number;
  readonly steps: readonly StepSpec[];
}

export interface LocalTargetSpec {
  readonly type: 'local';
  /** Absolute folder holding `releases/`, `current` and `shared/`. */
  readonly root: string;
}
/** A jump (bastion) host an SSH target is reached through. */
export interface SshJumpSpec {
  readonly address: string;
  /** @default 22 */
  readonly port: number;
  readonly user: string;
  /** Private key for the jump host. Default: the target's `identityFile`, else the SSH agent. */
  readonly identityFile?: string;
}
/** A host reached over SSH (agentless): commands run through its sshd, releases uploaded with SFTP. */
export interface SshTargetSpec {
  readonly type: 'ssh';
  /** Host name or IP address (never starts with `-`). */
  readonly address: string;
  /** @default 22 */
  readonly port: number;
  /** Login user. @default the user running Slipway */
  readonly user: string;
  /** Absolute path of the private key on this machine. Without one, the SSH agent is used. */
  readonly identityFile?: string;
  /** Where the key's passphrase comes from, when it has one. */
  readonly passphrase?: SecretSource;
  /** The agent's socket. @default $SSH_AUTH_SOCK (used when there is no identityFile) */
  readonly agent?: string;
  /** known_hosts file host keys are checked against. @default ~/.ssh/known_hosts (+ /etc/ssh/ssh_known_hosts) */
  readonly knownHosts?: string;
  /** Record the key of a host not in known_hosts yet (OpenSSH's accept-new). A changed key is always refused. @default false */
  readonly acceptNewHosts: boolean;
  readonly jump?: SshJumpSpec;
  /** Absolute folder on the host holding `releases/`, `current` and `shared/`. */
  readonly root: string;
  /** Time allowed to connect and log in. @default 10000 */
  readonly connectTimeoutMs: number;
}
export type TargetSpec = LocalTargetSpec | SshTargetSpec;

/**
 * nginx: Slipway owns one upstream include file (only `server …;` lines) that the user's nginx config
 * includes inside `upstream <upstream> { … }`; a change is written atomically, tested, then reloaded.
 */
export interface NginxTrafficSpec {
  readonly type: 'nginx';
  /** Absolute path of the include file Slipway writes. */
  readonly upstreamFile: string;
  /** Name of the `upstream` block that includes it (shown in messages). */
  readonly upstream: string;
  /** nginx's main config file, passed to the default test command. @default "/etc/nginx/nginx.conf" */
  readonly config?: string;
  /** nginx's pid file: the reload signal and `drain` find the master process there. @default "/run/nginx.pid" */
  readonly pidFile?: string;
  /** argv that validates the config. @default ["nginx", "-t", "-q", "-c", config] */
  readonly testCommand?: readonly string[];
  /** argv that reloads nginx gracefully. @default SIGHUP to the pid in `pidFile` */
  readonly reloadCommand?: readonly string[];
}
/** HAProxy: weights and states set through the runtime API on its admin socket (`stats socket … level admin`). */
export interface HaproxyTrafficSpec {
  readonly type: 'haproxy';
  /** Path of the admin unix socket. */
  readonly socket: string;
  /** The HAProxy backend whose servers are named by the Backend ids. */
  readonly backend: string;
}
/** Slipway's own reverse proxy, run as a separate long-lived process driven by a state file. */
export interface EmbeddedTrafficSpec {
  readonly type: 'embedded';
  /** Loopback address and port it listens on, e.g. `127.0.0.1:8080`. */
  readonly listen: string;
  /** Absolute path of the JSON state file the proxy watches. @default "<store folder>/proxy-<port>.json" */
  readonly stateFile?: string;
}
/** The load balancer an environment's traffic goes through (blue-green and canary switch it). */
export type TrafficSpec = NginxTrafficSpec | HaproxyTrafficSpec | EmbeddedTrafficSpec;

// ───────────────────────────── Fleets (hosts and rollout strategies) ─────────────────────────────

/** The two slots of blue-green and canary: the new release starts on the one not serving. */
export type SlotName = 'blue' | 'green';
export const SLOT_NAMES: readonly SlotName[] = ['blue', 'green'];

/** One machine of an environment's fleet. */
export interface HostSpec {
  /** Unique in the environment; names the host in events, status, logs and the load balancer. */
  readonly name: string;
  /** Where checks and the load balancer reach the host's service. @default the SSH address; 127.0.0.1 for local hosts */
  readonly address: string;
  readonly groups: readonly string[];
  readonly target: TargetSpec;
  /** The port the service listens on (rolling behind a load balancer). */
  readonly servicePort?: number;
  /** Slot ports on this host (blue-green, canary): the host's own, else the strategy's. */
  readonly slots?: Readonly<Record<SlotName, number>>;
}

/** How many hosts a rolling batch holds: a count, or a fraction of the fleet (rounded up, at least 1). */
export type BatchSize = { readonly count: number } | { readonly fraction: number };

export type StrategySpec =
  /** Every host at once (up to `concurrency` in parallel). */
  | { readonly type: 'all-at-once' }
  | {
      readonly type: 'rolling';
      /** @default { fraction: 0.25 } */
      readonly batch: BatchSize;
      /** Hosts that may fail before the rollout stops and rolls back the hosts already switched. @default 0 */
      readonly maxFailed: number;
    }
  | {
      readonly type: 'blue-green';
      readonly slots: Readonly<Record<SlotName, number>>;
      /** How long the old slot keeps running after the switch (it is stopped when the deployment succeeds). @default 0 */
      readonly scaleDownDelayMs: number;
    }
  | {
      readonly type: 'canary';
      readonly slots: Readonly<Record<SlotName, number>>;
      /** Weight percentages of the new slots, ascending, ending at 100. @default [10, 50, 100] */
      readonly steps: readonly number[];
      /** Wait after each weight step before its checks. @default 0 */
      readonly pauseMs: number;
      /** @default 0 */
      readonly scaleDownDelayMs: number;
    };
export type StrategyType = StrategySpec['type'];
export const STRATEGY_TYPES: readonly StrategyType[] = ['all-at-once', 'rolling', 'blue-green', 'canary'];

/** An environment deployed to several hosts with a strategy, optionally behind a load balancer. */
export interface FleetSpec {
  readonly hosts: readonly HostSpec[];
  readonly strategy: StrategySpec;
  /** Hosts worked on at the same time. @default 10 */
  readonly concurrency: number;
  readonly traffic?: TrafficSpec;
  /** How long a backend taken out of the balancer may take to finish its requests. @default 30000 */
  readonly drainTimeoutMs: number;
}

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
  /** Where releases go; with `fleet`, the first host's target (what single-target code paths look at). */
  readonly target: TargetSpec;
  /** Several hosts and a rollout strategy (`hosts:` in the file) instead of one `target`. */
  readonly fleet?: FleetSpec;
  /** The inventory file the fleet's hosts came from, as written (relative to the process file). */
  readonly inventory?: string;
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
  /** What is measured before and after the switch (baseline, bake), in the order declared. @default [] */
  readonly monitors: readonly MonitorSpec[];
  /** Where `backup` steps put backup sets and how long they are kept. */
  readonly backups: BackupStoreSpec;
}

/** An environment's backup store: one folder per backup set under `<dir>/<environment>/`. */
export interface BackupStoreSpec {
  /** Absolute folder. @default "<process file folder>/.slipway/backups" */
  readonly dir: string;
  /** Sets kept: the newest this many. @default 10 */
  readonly keep: number;
  /** Sets older than this are deleted (the newest verified set always stays). @default 30 days */
  readonly maxAgeMs: number;
}

// ───────────────────────────── Monitors (post-deployment validation) ─────────────────────────────

/** How a monitor's value is judged against its baseline and its absolute limits. */
export interface MonitorCompareSpec {
  /** @default 'lower-is-better' */
  readonly direction: 'lower-is-better' | 'higher-is-better';
  /** Worsening against the baseline allowed, as a fraction. @default 0.2 (the seed's 20%) */
  readonly maxDegradation: number;
  /** Absolute upper limit of the value, whatever the baseline. */
  readonly max?: number;
  /** Absolute lower limit of the value, whatever the baseline. */
  readonly min?: number;
  /** Smallest absolute change that can count as a degradation (in the value's unit): below it, any percentage is noise. */
  readonly minChange?: number;
}

/** A JSON value a path must hold (compared with ===; numbers and strings are not coerced). */
export type JsonScalar = string | number | boolean | null;

/** `http`: a request judged like an http step, plus JSON path assertions; its value is the latency in ms. */
export interface HttpMonitorProbe extends HttpCheckSpec {
  /** JSON path (`$.a.b[0]`) → the value the response body must hold there. */
  readonly expectJson: Readonly<Record<string, JsonScalar>>;
}
/** `prometheus`: a PromQL query against a Prometheus HTTP API; its value is the query's single number. */
export interface PrometheusMonitorProbe {
  /** Base URL of the Prometheus server, e.g. `http://127.0.0.1:9090` (templates, no secrets). */
  readonly url: string;
  /** Headers for the API (e.g. a bearer token; secrets allowed). */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: string;
  /** Absent: an instant query (`/api/v1/query`); present: a range query aggregated to one number. */
  readonly range?: {
    readonly windowMs: number;
    readonly stepMs: number;
    readonly aggregate: 'avg' | 'max' | 'min' | 'last';
  };
}
/** `json`: a number read at a JSON path of an HTTP response. */
export interface JsonMonitorProbe {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON path, e.g. `$.queue.depth`. */
  readonly path: string;
}
/** `sql`: a query whose first column of the first row is the value (data integrity checks). */
export type SqlMonitorProbe =
  | {
      readonly driver: 'postgres';
      /** Connection string; may be a secret (`{{ secrets.DB_URL }}`). Never shown. */
      readonly url: string;
      /** The password, usually `{{ secrets.NAME }}`, when the URL has none. */
      readonly password?: string;
      readonly query: string;
    }
  | {
      readonly driver: 'sqlite';
      /** Database file, relative to the process file's folder (templates, no secrets); opened read-only. */
      readonly path: string;
      readonly query: string;
    };
/** `auth`: a login or token request that must succeed (the seed's user access and authentication testing). */
export interface AuthMonitorProbe extends HttpCheckSpec {
  /** JSON path of the token in the response; when set, a missing or empty token fails the check. */
  readonly tokenPath?: string;
}
/** `command`: a command that must exit 0; with `stdout-number` its last output line is the value. */
export interface CommandMonitorProbe extends RunCheckSpec {
  /** @default 'exit-code' */
  readonly value: 'exit-code' | 'stdout-number';
}

interface MonitorBase {
  readonly id: string;
  /** A failing check (ok: false) is a critical-functionality trigger. @default false */
  readonly critical: boolean;
  readonly compare: MonitorCompareSpec;
  /** Fewest samples (baseline and after) before the value is compared. @default 3 */
  readonly minSamples: number;
  /** How long one sample may take; a slower one is a failed sample. @default 5000 */
  readonly timeoutMs: number;
}
export type MonitorSpec =
  | (MonitorBase & { readonly kind: 'http'; readonly http: HttpMonitorProbe })
  | (MonitorBase & { readonly kind: 'prometheus'; readonly prometheus: PrometheusMonitorProbe })
  | (MonitorBase & { readonly kind: 'json'; readonly json: JsonMonitorProbe })
  | (MonitorBase & { readonly kind: 'sql'; readonly sql: SqlMonitorProbe })
  | (MonitorBase & { readonly kind: 'auth'; readonly auth: AuthMonitorProbe })
  | (MonitorBase & { readonly kind: 'command'; readonly command: CommandMonitorProbe });
export type MonitorKind = MonitorSpec['kind'];
export const MONITOR_KINDS: readonly MonitorKind[] = ['http', 'prometheus', 'json', 'sql', 'auth', 'command'];

export interface ArtifactSpec {
  /** Path template of the release tarball, relative to the process file, e.g. `dist/app-{{ release }}.tar.gz`. */
  readonly path: string;
  /** Optional path template of a `sha256sum`-style file to verify the artifact against. */
  readonly sha256File?: string;
}

/** A file read while compiling the process (an inventory): recorded with a deployment so a resume reads the same text. */
export interface IncludedFile {
  /** As written in the process file (relative to its folder, or absolute). */
  readonly path: string;
  readonly text: string;
  /** SHA-256 of `text`, hex. */
  readonly sha256: string;
}

export interface Process {
  /** Absolute path of the process file (for messages), and its folder (base of relative paths). */
  readonly file: string;
  readonly baseDir: string;
  /** The exact source text, stored with each deployment so a resume never re-reads a changed file. */
  readonly source: string;
  /** SHA-256 of `source`. */
  readonly sourceHash: string;
  /** Files the process file points to (inventories), pinned with each deployment like `source`. */
  readonly includes: readonly IncludedFile[];
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
  'backup',
  'verify-backup',
  'baseline',
  'bake',
  'migrate',
  'integrity',
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
