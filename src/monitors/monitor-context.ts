/** What a monitor needs from the deployment it watches: rendered templates, the redactor, and the target. */

import type { Target } from '../core/ports.js';
import type { Redactor } from '../core/redact.js';
import type { TemplateScope } from '../core/template.js';

export interface MonitorContext {
  /**
   * Template scope including secrets (`secrets` present). Monitors use it only where secrets are allowed:
   * headers, bodies, SQL connection strings, command environments; URLs, argv and paths get it without secrets.
   */
  readonly scope: TemplateScope;
  /** Every `detail` passes through it (and through one that also hides tokens a monitor obtained). */
  readonly redact: Redactor;
  /** Folder relative paths start at (the process file's): SQLite files, controller command `cwd`. */
  readonly baseDir: string;
  /** The environment's target: where `on: target` commands run. Required only by such command monitors. */
  readonly target?: Target;
  /** Environment variables for commands (vars, secrets, SLIPWAY_*), like a step's. @default {} */
  readonly commandEnv?: Readonly<Record<string, string>>;
}

/** The scope without secrets, for URLs, argv and paths (they show in logs and process listings). */
export function publicScope(scope: TemplateScope): TemplateScope {
  const { secrets: _hidden, ...rest } = scope;
  return rest;
}
