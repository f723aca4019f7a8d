/** `migrate`: applies the release's pending SQL migrations to the app's database; a rollback runs their downs or restores a backup. */

import { SlipwayError } from '../core/errors.js';
import type { MigrateStep } from '../core/process.js';
import { restoreBackupForRollback } from '../migrations/backup-restore.js';
import { type DatabaseTarget, renderDatabase } from '../migrations/database.js';
import { readMigrationsFromArtifact } from '../migrations/migration-files.js';
import { openDriver, readHistory, runMigrations, undoMigrations } from '../migrations/migrator.js';
import type { StepExecutor, StepRuntime } from './step-executor.js';

/** Failures that happen before a migration can have run: nothing to undo. */
const CHANGED_NOTHING = new Set([
  'SLW_DATABASE_UNREACHABLE',
  'SLW_MIGRATION_CHANGED',
  'SLW_MIGRATION_INVALID',
  'SLW_MIGRATION_LOCKED',
  'SLW_ARTIFACT_CHECKSUM',
  'SLW_TARGET_FAILED',
]);

export const migrateStep: StepExecutor<MigrateStep> = {
  kind: 'migrate',
  async execute(step, rt) {
    const db = databaseOf(step, rt);
    const files = await readMigrationsFromArtifact(rt.artifact.path, step.dir, {
      sha256: rt.artifact.sha256,
      signal: rt.signal,
    });
    rt.output(
      `${files.length} migration${files.length === 1 ? '' : 's'} in ${step.dir}/ of release ${rt.release}\n`,
    );
    const driver = await openDriver(db, rt.process.app, rt.signal);
    let result: Awaited<ReturnType<typeof runMigrations>>;
    try {
      result = await runMigrations(driver, files, {
        deploymentId: rt.deploymentId,
        lockTimeoutMs: step.lockTimeoutMs,
        signal: rt.signal,
        log: (line) => rt.output(`${line}\n`),
      });
    } finally {
      await driver.close();
    }
    const summary =
      result.applied.length === 0
        ? `up to date: ${result.upToDate} applied (${driver.description})`
        : `applied ${result.applied.map((a) => a.id).join(', ')} (${driver.description})`;
    return {
      summary,
      details: {
        database: driver.description,
        applied: result.applied,
        upToDate: result.upToDate,
        unknown: result.unknown,
        waitedForLock: result.waitedForLock,
      },
    };
  },
  undo: {
    async pending(step, rt, recorded) {
      if (recorded.status === 'pending') return false;
      if (recorded.status === 'failed' && recorded.errorCode && CHANGED_NOTHING.has(recorded.errorCode))
        return false;
      try {
        const history = await readHistory(databaseOf(step, rt), rt.signal);
        return history.some((h) => h.deploymentId === rt.deploymentId);
      } catch {
        // Cannot look: assume it applied something, so the rollback tries (and says what it could not do).
        return true;
      }
    },
    async run(step, rt) {
      const db = databaseOf(step, rt);
      const driver = await openDriver(db, rt.process.app, rt.signal);
      let outcome: Awaited<ReturnType<typeof undoMigrations>>;
      try {
        outcome = await undoMigrations(driver, rt.deploymentId, {
          lockTimeoutMs: step.lockTimeoutMs,
          signal: rt.signal,
          log: (line) => rt.output(`${line}\n`),
        });
      } finally {
        // Closed before a restore: a restore replaces the database and must not find Slipway connected to it.
        await driver.close();
      }
      switch (outcome.kind) {
        case 'nothing':
          return `no migrations of deployment ${rt.deploymentId} to undo (${driver.description})`;
        case 'downs':
          return `ran ${outcome.reverted.length} down migration${outcome.reverted.length === 1 ? '' : 's'} (${outcome.reverted.join(', ')}) on ${driver.description}`;
        case 'needs-restore':
          return restore(rt, db, outcome);
      }
    },
  },
};

async function restore(
  rt: StepRuntime,
  db: DatabaseTarget,
  outcome: {
    readonly blocker: string;
    readonly why: string;
    readonly migrations: readonly string[];
    readonly firstAppliedAt: string;
  },
): Promise<string> {
  const because = `${outcome.blocker} ${outcome.why}`;
  rt.output(`${because}: restoring the newest verified backup instead of running down migrations\n`);
  try {
    const restored = await restoreBackupForRollback(rt, db, outcome.firstAppliedAt, rt.signal);
    return `restored backup ${restored.backupId} because ${because} (undoes ${outcome.migrations.join(', ')})`;
  } catch (e) {
    if (rt.signal.aborted) throw rt.signal.reason;
    throw new SlipwayError(
      'SLW_ROLLBACK_FAILED',
      `cannot undo ${outcome.migrations.join(', ')}: ${because}, and restoring a verified backup failed: ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: 'restore the database by hand ("slipway backup list", "slipway backup restore <id>") and roll back again',
        cause: e,
      },
    );
  }
}

function databaseOf(step: MigrateStep, rt: StepRuntime): DatabaseTarget {
  return renderDatabase(step.database, rt.scope, rt.process.baseDir, `${step.id}.migrate.database`);
}
