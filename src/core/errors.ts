/** The error catalogue: every failure Slipway reports has a stable code, a message with the bad value, and a hint. */

/** What kind of failure a code is; the CLI and the API map these to exit codes / statuses in one place each. */
export type ErrorCategory = 'bad-input' | 'failed' | 'conflict' | 'not-found' | 'internal';

interface CatalogueEntry {
  readonly category: ErrorCategory;
  /** One line for the README's error table. */
  readonly summary: string;
}

/** All codes. The README's "Errors" table lists exactly these (test/readme.test.ts keeps them in step). */
export const ERROR_CATALOGUE = {
  SLW_CONFIG_SYNTAX: { category: 'bad-input', summary: 'The process file is not valid YAML.' },
  SLW_CONFIG_INVALID: {
    category: 'bad-input',
    summary: 'The process file breaks the schema or refers to something missing.',
  },
  SLW_CONFIG_NOT_FOUND: { category: 'bad-input', summary: 'No process file at the given path.' },
  SLW_FILE_EXISTS: { category: 'bad-input', summary: '`init` would overwrite an existing file.' },
  SLW_USAGE: { category: 'bad-input', summary: 'A command was called with a missing or malformed argument.' },
  SLW_UNKNOWN_ENVIRONMENT: {
    category: 'bad-input',
    summary: 'The environment is not declared in the process file.',
  },
  SLW_ARTIFACT_NOT_FOUND: { category: 'bad-input', summary: 'The release artifact file does not exist.' },
  SLW_ARTIFACT_CHECKSUM: {
    category: 'failed',
    summary: "The artifact's SHA-256 does not match what was recorded or declared.",
  },
  SLW_ARTIFACT_UNSAFE: {
    category: 'failed',
    summary: 'The artifact contains a path or link that escapes the release directory.',
  },
  SLW_RELEASE_CHANGED: {
    category: 'bad-input',
    summary: 'A release id was reused for different artifact bytes (releases are immutable).',
  },
  SLW_PROMOTION_REQUIRED: {
    category: 'bad-input',
    summary: 'The release has not succeeded in an environment this one requires first.',
  },
  SLW_ENV_BUSY: {
    category: 'conflict',
    summary: 'Another deployment to the same environment is still active.',
  },
  SLW_DEPLOYMENT_NOT_FOUND: { category: 'not-found', summary: 'No deployment with that id in the store.' },
  SLW_ILLEGAL_TRANSITION: {
    category: 'conflict',
    summary: 'The deployment is not in a state that allows this action.',
  },
  SLW_LEASE_HELD: {
    category: 'conflict',
    summary: 'Another live Slipway process is running this deployment.',
  },
  SLW_CONCURRENT_APPEND: {
    category: 'conflict',
    summary: 'Another process appended to the deployment log at the same time.',
  },
  SLW_GATE_NOT_OPEN: {
    category: 'bad-input',
    summary: 'There is no open gate (approval or checklist item) matching the request.',
  },
  SLW_NOT_AUTHORIZED: {
    category: 'bad-input',
    summary: 'The acting user does not hold the role the gate needs, or started the deployment.',
  },
  SLW_STEP_FAILED: { category: 'failed', summary: 'A step failed (non-zero exit, failed check, timeout).' },
  SLW_STEP_TIMEOUT: { category: 'failed', summary: 'A step ran longer than its timeout and was stopped.' },
  SLW_STEP_INTERRUPTED: {
    category: 'failed',
    summary: 'Slipway stopped while a non-idempotent step was running; it is not re-run.',
  },
  SLW_GATE_EXPIRED: { category: 'failed', summary: 'An approval gate was not cleared before its expiry.' },
  SLW_WINDOW_NEVER: {
    category: 'bad-input',
    summary: 'No maintenance window (outside freezes) can ever fit the deployment.',
  },
  SLW_CANCELLED: {
    category: 'failed',
    summary: 'A person cancelled the deployment (it rolled back if it had changed the target).',
  },
  SLW_GATE_REJECTED: { category: 'failed', summary: 'A gate was rejected by a member of an awaited role.' },
  SLW_ROLLBACK_FAILED: {
    category: 'failed',
    summary: 'A rollback action failed; the environment needs a person.',
  },
  SLW_NOTHING_TO_ROLL_BACK: {
    category: 'bad-input',
    summary: 'The environment has no previous good release to return to.',
  },
  SLW_SECRET_MISSING: {
    category: 'failed',
    summary: 'A secret reference could not be resolved (environment variable or file missing).',
  },
  SLW_ROLLOUT_FAILED: {
    category: 'failed',
    summary:
      'A fleet rollout stopped: more hosts failed than the strategy allows (`maxFailed`), or a canary check failed.',
  },
  SLW_TARGET_FAILED: { category: 'failed', summary: 'A target operation (unpack, switch, exec) failed.' },
  SLW_TARGET_UNREACHABLE: {
    category: 'failed',
    summary: 'An SSH host could not be reached (connection refused, timed out, unknown name, no route).',
  },
  SLW_TARGET_DISCONNECTED: {
    category: 'failed',
    summary: 'The SSH connection to a host was lost during an operation (host died or left the network).',
  },
  SLW_AUTH_FAILED: {
    category: 'failed',
    summary: 'An SSH host refused the login, or the private key / agent could not be used.',
  },
  SLW_HOST_KEY_UNKNOWN: {
    category: 'failed',
    summary:
      'An SSH host is not in known_hosts (and `acceptNewHosts` is off); the message says how to add it.',
  },
  SLW_HOST_KEY_CHANGED: {
    category: 'failed',
    summary:
      'An SSH host offered a key other than the one in known_hosts (or a revoked one); always refused.',
  },
  SLW_ANALYSIS_DEGRADATION: {
    category: 'failed',
    summary:
      'A bake found a monitor worse than its baseline (or its limits) in too many intervals: rolled back.',
  },
  SLW_ANALYSIS_CRITICAL: {
    category: 'failed',
    summary: "A critical monitor's check failed repeatedly during a bake: rolled back.",
  },
  SLW_TRAFFIC_INVALID: {
    category: 'bad-input',
    summary:
      'Traffic weights name an unknown backend, a weight outside 0–100, or a server the load balancer lacks; nothing was changed.',
  },
  SLW_TRAFFIC_FAILED: {
    category: 'failed',
    summary: 'The load balancer refused or missed a traffic change (config test, reload, admin socket).',
  },
  SLW_BACKUP_FAILED: {
    category: 'failed',
    summary: 'A backup could not be taken (tool failed, disk full); no partial set was kept.',
  },
  SLW_BACKUP_CORRUPT: {
    category: 'failed',
    summary: 'A backup set failed verification (checksum, integrity check or row counts); it is not usable.',
  },
  SLW_BACKUP_NOT_FOUND: { category: 'not-found', summary: 'No backup set with that id in the backup store.' },
  SLW_NO_VERIFIED_BACKUP: {
    category: 'failed',
    summary: 'A phase needs a verified backup newer than its limit and there is none; it did not start.',
  },
  SLW_RESTORE_FAILED: {
    category: 'failed',
    summary: 'A restore failed; the database or files it was restoring into were left as they were.',
  },
  SLW_CONFIRMATION_REQUIRED: {
    category: 'bad-input',
    summary: 'A destructive command needs confirmation: answer the prompt, or pass --yes in scripts.',
  },
  SLW_STORE: { category: 'internal', summary: 'The store could not be opened or written.' },
  SLW_AUDIT_BROKEN: { category: 'failed', summary: 'The tamper-evident event chain does not verify.' },
  SLW_MIGRATION_INVALID: {
    category: 'bad-input',
    summary:
      'The migrations folder has a misnamed, duplicate or out-of-order migration; nothing was applied.',
  },
  SLW_MIGRATION_CHANGED: {
    category: 'failed',
    summary: 'An already-applied migration file was edited (checksum differs); nothing was applied.',
  },
  SLW_MIGRATION_FAILED: {
    category: 'failed',
    summary:
      'A migration failed; nothing of it was applied (earlier ones of the run stay, rollback undoes them).',
  },
  SLW_MIGRATION_LOCKED: {
    category: 'conflict',
    summary: 'Another runner held the migration lock for longer than the lock timeout.',
  },
  SLW_DATABASE_UNREACHABLE: {
    category: 'failed',
    summary: 'The database of a migrate or integrity step could not be opened or connected to.',
  },
  SLW_INTEGRITY_VIOLATION: {
    category: 'failed',
    summary: 'A data-integrity check failed after the deployment (a count dropped, a checksum changed, …).',
  },
  SLW_INTEGRITY_QUERY: { category: 'failed', summary: 'A data-integrity check query failed to run.' },
  SLW_INTERNAL: {
    category: 'internal',
    summary: 'A bug in Slipway; please report it with the output of `slipway logs`.',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface SlipwayErrorOptions {
  readonly hint?: string;
  readonly cause?: unknown;
  /** Structured details for `--json` output (never secrets). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: SlipwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlipwayError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get category(): ErrorCategory {
    return ERROR_CATALOGUE[this.code].category;
  }
}

/** One problem found in a process file, positioned for `file:line:col` output. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Dotted key path, e.g. `environments.production.target.root`. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

/** Raised by the config loader with every problem found, so a user fixes them all in one pass. */
export class ConfigError extends SlipwayError {
  readonly problems: readonly ConfigProblem[];

  constructor(code: 'SLW_CONFIG_SYNTAX' | 'SLW_CONFIG_INVALID', problems: readonly ConfigProblem[]) {
    super(code, problems.map(formatConfigProblem).join('\n'), {
      details: { problems },
    });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatConfigProblem(p: ConfigProblem): string {
  const where = `${p.file}:${p.line}:${p.col}`;
  const key = p.path === '' ? '' : ` ${p.path}:`;
  return `${where}${key} ${p.message}${p.hint ? ` (${p.hint})` : ''}`;
}

export function isSlipwayError(e: unknown): e is SlipwayError {
  return e instanceof SlipwayError;
}
