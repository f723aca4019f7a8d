/** Restoring the newest verified backup of a database when a rollback cannot undo a migration with SQL. */

import { restoreNewestVerifiedBackup } from '../backup/restore.js';
import type { StepRuntime } from '../steps/step-executor.js';
import type { DatabaseTarget } from './database.js';

export interface RestoredBackup {
  readonly backupId: string;
}

/**
 * Restores into `db` the newest verified backup set of the environment's backup store that holds it and was taken
 * no later than `notAfter` (when the deployment's first migration was applied), through the backup store's own
 * safe restore (temp file + atomic rename for SQLite, a new database swapped in for PostgreSQL).
 */
export async function restoreBackupForRollback(
  rt: StepRuntime,
  db: DatabaseTarget,
  notAfter: string,
  signal: AbortSignal,
): Promise<RestoredBackup> {
  const result = await restoreNewestVerifiedBackup({
    store: rt.environment.backups,
    environment: rt.environment.name,
    database:
      db.kind === 'sqlite'
        ? { kind: 'sqlite', path: db.file }
        : { kind: 'postgres', url: db.url, ...(db.password === undefined ? {} : { password: db.password }) },
    by: `deployment ${rt.deploymentId} rollback`,
    notAfter,
    signal,
    output: (line) => rt.output(`${line}\n`),
  });
  return { backupId: result.set };
}
