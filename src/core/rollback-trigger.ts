/** Which of the seed's rollback triggers a failure is: named once here, for events, status and reports. Pure. */

import type { RollbackTrigger } from './events.js';

/** Findings gates: a failing one after the switch is a security trigger. */
const SECURITY_KINDS: ReadonlySet<string> = new Set(['sarif', 'npm-audit']);
/** Data-integrity checks. */
const INTEGRITY_KINDS: ReadonlySet<string> = new Set(['integrity']);

/**
 * The trigger of an automatic rollback, from the failure's code and the kind of step that failed (if a step did).
 * Analysis codes win over the step kind; an interrupted or rejected deployment keeps its own names.
 */
export function rollbackTriggerFor(code: string, stepKind: string | undefined): RollbackTrigger {
  if (code === 'SLW_STEP_INTERRUPTED') return 'interrupted';
  if (code === 'SLW_GATE_REJECTED' || code === 'SLW_CANCELLED') return 'rejected';
  if (code === 'SLW_ANALYSIS_CRITICAL') return 'critical-check';
  if (code === 'SLW_ANALYSIS_DEGRADATION') return 'degradation';
  if (stepKind !== undefined && SECURITY_KINDS.has(stepKind)) return 'security';
  if (stepKind !== undefined && INTEGRITY_KINDS.has(stepKind)) return 'integrity';
  return 'step-failed';
}

/** How status, logs and reports name a trigger. */
export const TRIGGER_LABELS: Readonly<Record<RollbackTrigger, string>> = {
  'step-failed': 'a step failed',
  interrupted: 'interrupted in a step that cannot be repeated',
  manual: 'manual rollback',
  rejected: 'rejected or cancelled',
  'critical-check': 'critical check failed',
  degradation: 'performance degradation',
  security: 'security finding',
  integrity: 'data integrity violation',
};
