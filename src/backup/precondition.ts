/**
 * "Final backup verification": a phase with `requireVerifiedBackup` does no work until the environment's backup store
 * holds a verified set that is young enough. Checked before the phase's first step that is not itself a backup or
 * verify-backup step (so a phase may take and verify its own backup first), and only then.
 */

import type { DeploymentView } from '../core/deployment-view.js';
import { formatDuration } from '../core/duration.js';
import { SlipwayError } from '../core/errors.js';
import type { EnvironmentSpec, PhaseSpec, StepSpec } from '../core/process.js';
import { BackupStore, isVerified } from './backup-store.js';

const BACKUP_KINDS: ReadonlySet<string> = new Set(['backup', 'verify-backup']);

/** The refusal when `step` may not start for want of a verified backup, else null. */
export async function verifiedBackupRefusal(
  env: EnvironmentSpec,
  phase: PhaseSpec,
  step: StepSpec,
  view: DeploymentView,
  nowMs: number,
): Promise<SlipwayError | null> {
  const maxAgeMs = phase.requireVerifiedBackupMs;
  if (maxAgeMs === undefined || BACKUP_KINDS.has(step.kind)) return null;
  // Checked once, when the phase starts its work: a phase half-way through must not stop because time passed.
  const started = view.phases
    .find((p) => p.id === phase.id)
    ?.steps.some(
      (s) => !BACKUP_KINDS.has(s.kind) && s.kind !== 'approval' && s.kind !== 'checklist' && s.attempts > 0,
    );
  if (started) return null;
  const store = new BackupStore(env.backups, env.name);
  if (await store.newestVerified(nowMs, maxAgeMs)) return null;
  const sets = await store.list();
  const newest = sets[0];
  const verified = sets.find(isVerified);
  const state = (s: (typeof sets)[number]) =>
    `${s.id}, ${formatDuration(nowMs - Date.parse(s.manifest.createdAt))} old, ${
      isVerified(s) ? 'verified' : s.verifyFailed ? 'FAILED verification' : 'not verified'
    }`;
  const seen = !newest
    ? 'there are no backup sets'
    : `newest: ${state(newest)}${verified && verified !== newest ? `; newest verified: ${state(verified)}` : ''}`;
  return new SlipwayError(
    'SLW_NO_VERIFIED_BACKUP',
    `phase "${phase.id}" needs a verified backup of ${env.name} at most ${formatDuration(maxAgeMs)} old before it starts; ${seen} (in ${store.root})`,
    {
      hint: 'add backup and verify-backup steps before this phase (or at its start), or run "slipway backup verify <id>" on a recent set',
      details: { phase: phase.id, requireVerifiedBackupMs: maxAgeMs, newest: newest?.id ?? null },
    },
  );
}
