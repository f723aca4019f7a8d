/** The documented defaults of the process file: applied by the compiler, shown by the JSON Schema. */

import type { StepKind } from '../core/process.js';

export const DEFAULTS = {
  /** `environments.<name>.target.type` */
  targetType: 'local',
  /** `environments.<name>.rollback.auto` */
  rollbackAuto: true,
  /** Extra attempts after the first. */
  retries: 0,
  retryDelay: '1s',
  retryMaxDelay: '30s',
  /** Where a `run` step executes. */
  runOn: 'controller',
  httpMethod: 'GET',
  expectStatus: 200,
  /** Release directories kept on the target. */
  releaseKeep: 5,
  restartMode: 'restart',
  /** `policy.starterCannotApprove`: who started a deployment may not approve it. */
  starterCannotApprove: true,
  /** `policy.onePersonOneRole`: one person fills one role of an approval gate. */
  onePersonOneRole: true,
  /** `environments.<name>.emergency.approvers`: roles that approve a deployment outside a window or in a freeze. */
  emergencyApprovers: ['devops', 'pm'],
  /** `freezeTimezone` when there are no windows either. */
  freezeTimezone: 'UTC',
  /** `approval.require`: every listed role approves. */
  approvalRequire: 'all',
  junitMinTests: 1,
  junitMaxFailures: 0,
  sarifMax: { error: 0 },
  npmAuditMax: { critical: 0, high: 0 },
  benchmarkBetter: 'smaller',
  benchmarkThreshold: '20%',
  loadConnections: 10,
  loadMaxErrorRate: '1%',
  loadRegression: '20%',
  /** `environments.<name>.backups.dir`, relative to the process file's folder. */
  backupDir: '.slipway/backups',
  /** `environments.<name>.backups.keep`: backup sets kept per environment. */
  backupKeep: 10,
  /** `environments.<name>.backups.maxAge`: older sets are deleted (never the newest verified one). */
  backupMaxAge: '30d',
  /** `baseline.duration`, `baseline.every`: how long and how often the running release is measured. */
  baselineDuration: '30s',
  baselineEvery: '1s',
  /** `bake.*`: 5 minutes of 10-second intervals; 2 failing of the last 3 roll back (see docs for Argo/Flagger). */
  bakeDuration: '5m',
  bakeInterval: '10s',
  bakeSamples: 5,
  bakeFailureLimit: 2,
  bakeWindow: 3,
  bakeCriticalFailures: 2,
  /** `migrate.dir`: the folder of migration files inside the release. */
  migrateDir: 'migrations',
  /** `migrate.lockTimeout`: how long to wait for another runner's migration lock. */
  migrateLockTimeout: '1m',
} as const;

/** Gates wait for people, for days if need be: their `timeoutMs` is 0, which means "no timeout". */
export const NO_TIMEOUT = 0;

/** Per-attempt timeout when a step gives none. */
export const DEFAULT_TIMEOUT_MS: Readonly<Record<StepKind, number>> = {
  run: 10 * 60_000,
  http: 30_000,
  checklist: NO_TIMEOUT,
  approval: NO_TIMEOUT,
  release: 10 * 60_000,
  config: 10 * 60_000,
  restart: 2 * 60_000,
  smoke: 10 * 60_000,
  junit: 60_000,
  sarif: 60_000,
  'npm-audit': 60_000,
  benchmark: 60_000,
  coverage: 60_000,
  load: 30 * 60_000,
  backup: 60 * 60_000,
  'verify-backup': 60 * 60_000,
  // Measuring steps: their own duration plus this much (build-process adds the duration).
  baseline: 60_000,
  bake: 60_000,
  migrate: 30 * 60_000,
  integrity: 5 * 60_000,
};

/** Whether re-running a step after a crash is harmless, unless the step says otherwise. */
export function defaultIdempotent(kind: StepKind): boolean {
  // A command can do anything (send mail, run a migration twice); every built-in kind is safe to repeat.
  return kind !== 'run';
}

/** A step that may take longer than a week is waiting for something: that is what gates are for. */
export const MAX_TIMEOUT_MS = 7 * 86_400_000;
