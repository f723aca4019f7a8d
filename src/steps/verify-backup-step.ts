/** `verify-backup`: checksums and test-restores this deployment's backup set (or the newest one) and marks it verified. */

import { BackupStore } from '../backup/backup-store.js';
import { formatBytes, mbPerSecond } from '../backup/hashed-file.js';
import { configuredTargets } from '../backup/step-sources.js';
import { verifyBackupSet } from '../backup/verify-set.js';
import { formatDuration } from '../core/duration.js';
import { SlipwayError } from '../core/errors.js';
import type { VerifyBackupStep } from '../core/process.js';
import { BACKUP_SET_FACT } from './backup-step.js';
import type { StepExecutor } from './step-executor.js';

export const verifyBackupStep: StepExecutor<VerifyBackupStep> = {
  kind: 'verify-backup',
  async execute(step, rt) {
    const store = new BackupStore(rt.environment.backups, rt.environment.name);
    const own = rt.facts[BACKUP_SET_FACT];
    const set = own ? await store.get(own) : (await store.list())[0];
    if (!set) {
      throw new SlipwayError('SLW_NO_VERIFIED_BACKUP', `no backup set to verify in ${store.root}`, {
        hint: 'add a backup step before this one',
      });
    }
    const ageMs = Date.now() - Date.parse(set.manifest.createdAt);
    if (step.maxAgeMs !== undefined && ageMs > step.maxAgeMs) {
      throw new SlipwayError(
        'SLW_NO_VERIFIED_BACKUP',
        `the newest backup set ${set.id} is ${formatDuration(ageMs)} old, more than maxAge ${formatDuration(step.maxAgeMs)}`,
        { hint: 'take a fresh backup first (a backup step before this one)' },
      );
    }
    rt.output(`verifying ${set.id} (${formatBytes(set.sizeBytes)}, ${set.manifest.items.length} items)\n`);
    const started = performance.now();
    const record = await verifyBackupSet({
      store,
      set,
      by: `deployment ${rt.deploymentId} step ${step.id}`,
      targets: configuredTargets(rt.process, rt.environment.name, rt.scope),
      signal: rt.signal,
      output: (line) => rt.output(`${line}\n`),
    });
    const ms = performance.now() - started;
    return {
      summary: `${set.id} verified: ${record.items.length} item${record.items.length === 1 ? '' : 's'}, ${formatBytes(set.sizeBytes)} at ${mbPerSecond(set.sizeBytes, ms)} MB/s`,
      facts: { verifiedBackupSet: set.id },
      details: {
        set: set.id,
        createdAt: set.manifest.createdAt,
        ageMs,
        sizeBytes: set.sizeBytes,
        durationMs: Math.round(ms),
        mbPerSecond: mbPerSecond(set.sizeBytes, ms),
        checks: record.items,
      },
    };
  },
};
