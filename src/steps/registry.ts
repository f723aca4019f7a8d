/** Step kinds by name: adding a kind is one file plus one line here. Gates (checklist, approval) are the engine's. */

import type { StepSpec } from '../core/process.js';
import { backupStep } from './backup-step.js';
import { bakeStep } from './bake-step.js';
import { baselineStep } from './baseline-step.js';
import { benchmarkStep } from './benchmark-step.js';
import { configStep } from './config-step.js';
import { coverageStep } from './coverage-step.js';
import { httpStep } from './http-step.js';
import { integrityStep } from './integrity-step.js';
import { junitStep } from './junit-step.js';
import { loadStep } from './load-step.js';
import { migrateStep } from './migrate-step.js';
import { npmAuditStep } from './npm-audit-step.js';
import { releaseStep } from './release-step.js';
import { restartStep } from './restart-step.js';
import { runStep } from './run-step.js';
import { sarifStep } from './sarif-step.js';
import { smokeStep } from './smoke-step.js';
import type { StepExecutor } from './step-executor.js';
import { verifyBackupStep } from './verify-backup-step.js';

type ExecutableKind = Exclude<StepSpec['kind'], 'checklist' | 'approval'>;

// Every kind must be here: a missing one is a type error, not a surprise at run time.
const EXECUTORS: { readonly [K in ExecutableKind]: StepExecutor<Extract<StepSpec, { kind: K }>> } = {
  run: runStep,
  http: httpStep,
  release: releaseStep,
  config: configStep,
  restart: restartStep,
  smoke: smokeStep,
  load: loadStep,
  junit: junitStep,
  sarif: sarifStep,
  'npm-audit': npmAuditStep,
  benchmark: benchmarkStep,
  coverage: coverageStep,
  backup: backupStep,
  'verify-backup': verifyBackupStep,
  baseline: baselineStep,
  bake: bakeStep,
  migrate: migrateStep,
  integrity: integrityStep,
};

export function executorFor(step: StepSpec): StepExecutor {
  if (step.kind === 'checklist' || step.kind === 'approval') {
    throw new Error(`"${step.kind}" steps are gates: the engine opens them, no executor runs them`);
  }
  return EXECUTORS[step.kind] as StepExecutor;
}
