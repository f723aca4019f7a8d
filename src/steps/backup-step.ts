/** `backup`: takes one backup set of the step's items into the environment's backup store, then applies retention. */

import { BackupStore } from '../backup/backup-store.js';
import { createBackup } from '../backup/create-backup.js';
import { formatBytes, mbPerSecond } from '../backup/hashed-file.js';
import { backupSources } from '../backup/step-sources.js';
import type { BackupStep } from '../core/process.js';
import type { StepExecutor } from './step-executor.js';

/** Fact naming the set this deployment's backup step made; `verify-backup` verifies that one. */
export const BACKUP_SET_FACT = 'backupSet';

export const backupStep: StepExecutor<BackupStep> = {
  kind: 'backup',
  async execute(step, rt) {
    const store = new BackupStore(rt.environment.backups, rt.environment.name);
    const items = backupSources(step.items, rt.scope, rt.process.baseDir, step.id);
    const started = performance.now();
    const result = await createBackup({
      store,
      app: rt.process.app,
      deploymentId: rt.deploymentId,
      release: rt.release,
      items,
      signal: rt.signal,
      output: (line) => rt.output(`${line}\n`),
    });
    const ms = performance.now() - started;
    const size = result.set.sizeBytes;
    return {
      summary: `set ${result.set.id}: ${items.length} item${items.length === 1 ? '' : 's'}, ${formatBytes(size)} in ${(ms / 1000).toFixed(1)}s`,
      facts: { [BACKUP_SET_FACT]: result.set.id },
      details: {
        set: result.set.id,
        dir: result.set.dir,
        sizeBytes: size,
        durationMs: Math.round(ms),
        mbPerSecond: mbPerSecond(size, ms),
        items: result.items,
        pruned: result.pruned,
      },
    };
  },
};
