/** Exit codes, mapped from outcomes and error categories in this one place. */

import type { ErrorCategory } from '../core/errors.js';
import type { DeploymentState } from '../core/state.js';

export const EXIT = {
  ok: 0,
  failed: 1,
  badInput: 2,
  waiting: 3,
  rolledBack: 4,
} as const;

export function exitForState(state: DeploymentState): number {
  switch (state) {
    case 'succeeded':
      return EXIT.ok;
    case 'waiting':
      return EXIT.waiting;
    case 'rolled-back':
      return EXIT.rolledBack;
    case 'failed':
      return EXIT.failed;
    case 'running':
    case 'rolling-back':
      // Stopped before the end (e.g. Ctrl-C): it did not finish.
      return EXIT.failed;
  }
}

export function exitForError(category: ErrorCategory): number {
  switch (category) {
    case 'bad-input':
    case 'conflict':
    case 'not-found':
      return EXIT.badInput;
    case 'failed':
    case 'internal':
      return EXIT.failed;
  }
}
