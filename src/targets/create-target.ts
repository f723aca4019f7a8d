/** Makes the Target for an environment's target spec: adding a target type is one line here. */

import type { Target } from '../core/ports.js';
import type { TargetSpec } from '../core/process.js';
import { createLocalTarget } from './local/local-target.js';
import { createSshTarget } from './ssh/ssh-target.js';

export function createTarget(spec: TargetSpec): Target {
  switch (spec.type) {
    case 'local':
      return createLocalTarget(spec.root);
    case 'ssh':
      return createSshTarget(spec);
  }
}
