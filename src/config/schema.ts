/** The process file's schema: the one zod schema that validates slipway.yaml and emits its JSON Schema. */

import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { DEFAULTS, MAX_TIMEOUT_MS } from './defaults.js';
import { hostDefaultsSchema, hostSchema, sshDefaultsSchema, strategySchema } from './fleet-schema.js';
import { monitorsSchema } from './monitor-schema.js';
import { sshTargetSchema } from './ssh-target-schema.js';
import { trafficSchema } from './traffic-schema.js';

export const ID_PATTERN = /^[a-z][a-z0-9-]*$/;
export const APP_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** Names of vars, secrets and environment variables: usable as `$NAME` in a shell. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What `parseDuration` accepts (without surrounding spaces), so editors can check it via the JSON Schema. */
const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;

/** Template names, for descriptions; the compiler checks them. */
const TEMPLATES =
  'May use {{ app }}, {{ env }}, {{ release }}, {{ deployment.id }}, {{ vars.NAME }}, ' +
  '{{ target.root|current|shared|release }}; with hosts, {{ host.name|address|servicePort }}, and with ' +
  'blue-green or canary, {{ slot.name|port }}';

/** An error text starting after "expected …", so every message reads "expected X, found Y". */
const expected = (what: string) => ({ error: what });

const idOf = (what: string) =>
  z
    .string()
    .regex(ID_PATTERN, expected(`${what}: lowercase letters, digits and "-", starting with a letter`));
const stepId = idOf('a step id');
const envName = idOf('an environment name');
const roleName = idOf('a role name');
const nameKey = (what: string) =>
  z.string().regex(NAME_PATTERN, expected(`${what}: letters, digits and "_", not starting with a digit`));
const text = z.string().min(1);

const DURATION = 'a duration like 500ms, 30s, 5m or 1h30m, or a whole number of milliseconds';
// `abort`: a value that is no duration at all must not also be judged as a timeout below.
const duration = z.union(
  [
    z.string().regex(DURATION_PATTERN, { error: DURATION, abort: true }),
    z.int({ error: DURATION }).min(0, { error: DURATION, abort: true }),
  ],
  expected(DURATION),
);

/** Milliseconds of a value that passed `duration`. */
export function durationMs(value: string | number): number {
  return typeof value === 'number' ? value : (parseDuration(value) as number);
}

/** A duration above 0 and at most a week: `what` names it in the message ("a timeout above 0 …"). */
const boundedDuration = (what: string) =>
  duration.refine(
    (v) => {
      const ms = durationMs(v);
      return ms > 0 && ms <= MAX_TIMEOUT_MS;
    },
    expected(`${what} above 0 and at most 7d`),
  );
const timeout = boundedDuration('a timeout');
const positiveDuration = duration.refine((v) => durationMs(v) > 0, expected('a duration above 0'));

/** Also what schema-issues matches to add a "write 20% or 0.2" hint. */
export const PERCENT = 'a percentage like 20% or a fraction from 0 to 1 like 0.2';
const PERCENT_PATTERN = /^(\d+(\.\d+)?)%$/;
/** `'20%'` or `0.2`; a bare 20 is refused rather than read as 2000%. */
const percent = z.union(
  [
    z
      .string()
      .regex(PERCENT_PATTERN, { error: PERCENT, abort: true })
      .refine((v) => Number.parseFloat(v) <= 100, expected(PERCENT)),
    z.number({ error: PERCENT }).min(0, { error: PERCENT }).max(1, { error: PERCENT }),
  ],
  expected(PERCENT),
);

/** The fraction of a value that passed `percent`. */
export function fraction(value: string | number): number {
  return typeof value === 'number' ? value : Number.parseFloat(value) / 100;
}

const COUNT = 'a whole number, 0 or more';
const count = z.int(expected(COUNT)).min(0, expected(COUNT));
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Epoch ms of a `YYYY-MM-DD` date's UTC midnight, or undefined when there is no such day. */
export function utcDateMs(text: string): number | undefined {
  const m = DATE_PATTERN.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const date = new Date(ms);
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d
    ? ms
    : undefined;
}
const DATE = 'a date like 2027-01-31';
const date = z.string(expected(DATE)).refine((v) => utcDateMs(v) !== undefined, expected(DATE));

/** Scalars are accepted where a string is meant (`PORT: 4311`), and kept as written. */
const scalar = z.union([z.string(), z.number(), z.boolean()], expected('a string, number or true/false'));

const envMap = z
  .record(nameKey('an environment variable name'), scalar)
  .describe(`Environment variables. ${TEMPLATES}, and {{ secrets.NAME }}.`);

const command = z
  .union(
    [z.array(z.string()).min(1), text],
    expected('a command: an argv list like [node, app.js] or a shell string'),
  )
  .describe(
    'An argv list (no shell; templates allowed in its items) or a shell string run by /bin/sh -c ' +
      '(no templates: pass values as environment variables, e.g. "$PORT").',
  );

const STATUS = expected('an HTTP status code from 100 to 599');
const status = z.int(STATUS).min(100, STATUS).max(599, STATUS);

const httpUrl = z
  .string()
  .regex(/^(https?:\/\/|\{\{)/, expected('an http:// or https:// URL'))
  .describe(`The URL to request. ${TEMPLATES}; not secrets (URLs end up in logs).`);
const httpMethod = z
  .enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
  .optional()
  .meta({ description: 'HTTP method.', default: DEFAULTS.httpMethod });
const httpHeaders = z
  .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, expected('an HTTP header name')), scalar)
  .optional()
  .describe(`Request headers. ${TEMPLATES}, and {{ secrets.NAME }}.`);
const httpBody = z.string().optional().describe(`Request body. ${TEMPLATES}, and {{ secrets.NAME }}.`);

const httpCheck = z
  .strictObject({
    url: httpUrl,
    method: httpMethod,
    headers: httpHeaders,
    body: httpBody,
    expect: z
      .strictObject({
        status: z
          .union([status, z.array(status).min(1)], expected('an HTTP status code or a list of them'))
          .optional()
          .meta({ description: 'Accepted response status(es).', default: DEFAULTS.expectStatus }),
        body: z
          .string()
          .optional()
          .describe(`Text the response body must contain, or /regex/flags. ${TEMPLATES}.`),
        maxLatency: duration.optional().describe('Fail when the response takes longer than this.'),
      })
      .optional()
      .describe('What counts as success.'),
  })
  .describe('An HTTP request and what its response must look like.');

const runFields = {
  run: command,
  env: envMap.optional(),
  cwd: z
    .string()
    .min(1)
    .optional()
    .describe(`Working folder; relative to the process file's folder on the controller. ${TEMPLATES}.`),
  on: z.enum(['controller', 'target']).optional().meta({
    description: "Where the command runs: this machine, or the environment's target.",
    default: DEFAULTS.runOn,
  }),
};

/** Keys every step has. */
const stepBase = {
  id: stepId.describe('Unique within the phase; used by `slipway approve`, `check`, logs and events.'),
  name: text.optional().describe('Label shown in plans and status. Defaults to the id.'),
};

/** Keys of steps that do work; gates wait for people and have none of these. */
const attemptFields = {
  timeout: timeout
    .optional()
    .describe(
      'How long one attempt may take (500ms, 30s, 5m, 1h30m or milliseconds; at most 7d). ' +
        'Default: run 10m, http 30s, restart 2m, other kinds 10m.',
    ),
  retries: z
    .int(expected('a whole number'))
    .min(0)
    .optional()
    .meta({ description: 'Extra attempts after a failure.', default: DEFAULTS.retries }),
  retryDelay: duration
    .optional()
    .meta({ description: 'Wait before the first retry; doubles each time.', default: DEFAULTS.retryDelay }),
  retryMaxDelay: duration
    .optional()
    .meta({ description: 'Longest wait between retries.', default: DEFAULTS.retryMaxDelay }),
  idempotent: z
    .boolean()
    .optional()
    .describe(
      'Whether running the step twice is harmless; after a crash only idempotent steps are re-run. ' +
        'Default: false for run, true for other kinds.',
    ),
};

/** `auto:` of a checklist item: `step` (same phase) or `phase.step`. */
const AUTO_PATTERN = /^([a-z][a-z0-9-]*\.)?[a-z][a-z0-9-]*$/;
const REQUIRE = 'all, any, or a number of approvers (1 or more)';
const RATE = 'a number of requests per second above 0';
const COVERAGE = 'a percentage from 0 to 100';
const coveragePercent = z.number(expected(COVERAGE)).min(0, expected(COVERAGE)).max(100, expected(COVERAGE));

const reportPath = (what: string) =>
  text.describe(`Path or glob of ${what}, relative to the process file's folder. ${TEMPLATES}.`);

/** Known findings accepted for a while; each needs a reason, or the exception cannot be audited. */
const allowList = (id: string) =>
  z
    .array(
      z.strictObject({
        id: text.describe(`What is allowed: ${id}.`),
        until: date.describe('The last day (UTC) the exception holds, e.g. 2027-01-31.'),
        reason: text.describe('Why it is accepted, e.g. "false positive, see SEC-12".'),
      }),
    )
    .optional()
    .describe('Findings that do not count against `max`, each until a date and with a reason.');

const isSafeDest = (dest: string) => !/^([\\/]|[A-Za-z]:)/.test(dest) && !dest.split(/[\\/]/).includes('..');

const PG_URL = 'a postgres:// or postgresql:// URL without a password';
const optionalItem = z
  .boolean()
  .optional()
  .describe(
    'Skip the item (noted in the manifest) when the path does not exist yet, e.g. before the first deployment. Default: false.',
  );
/** One item of a backup step: exactly one of files, sqlite, postgres. */
const backupItem = z.union(
  [
    z.strictObject({
      files: text.describe(
        `A file or folder to archive (tar.gz), relative to the process file's folder. ${TEMPLATES}.`,
      ),
      optional: optionalItem,
    }),
    z.strictObject({
      sqlite: text.describe(`A SQLite database file, copied with the online backup API. ${TEMPLATES}.`),
      optional: optionalItem,
    }),
    z.strictObject({
      postgres: z.strictObject({
        url: z
          .string()
          .regex(/^(postgres(ql)?:\/\/|\{\{)/, expected(PG_URL))
          .refine((u) => !/^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(u), expected(PG_URL))
          .describe(`The database, e.g. postgresql://app@127.0.0.1:5432/app. ${TEMPLATES}; not secrets.`),
        password: z
          .string()
          .optional()
          .describe('The password, usually {{ secrets.NAME }}; it reaches pg_dump only as PGPASSWORD.'),
      }),
    }),
  ],
  expected('a backup item: { files: path }, { sqlite: path } or { postgres: { url, password? } }'),
);

const DB_URL = 'a postgres:// or postgresql:// URL without a password';
/** A database Slipway connects to itself (migrate, integrity): exactly one of sqlite, postgres. */
const database = z
  .union(
    [
      z.strictObject({
        sqlite: text.describe(
          `A SQLite database file on this machine, relative to the process file's folder. ${TEMPLATES}.`,
        ),
      }),
      z.strictObject({
        postgres: z.strictObject({
          url: z
            .string()
            .regex(/^(postgres(ql)?:\/\/|\{\{)/, expected(DB_URL))
            .refine((u) => !/^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(u), expected(DB_URL))
            .describe(`The database, e.g. postgresql://app@127.0.0.1:5432/app. ${TEMPLATES}; not secrets.`),
          password: z
            .string()
            .optional()
            .describe('The password, usually {{ secrets.NAME }}; never shown or stored.'),
        }),
      }),
    ],
    expected('a database: { sqlite: path } or { postgres: { url, password? } }'),
  )
  .describe('The database to connect to.');

const INTEGRITY_EXPECT = 'noDrop, unchanged, empty, or { min, max }';
const integrityCheck = z.strictObject({
  id: stepId.describe('Unique within the step; names the check in messages and details.'),
  query: text.describe("SQL whose first row's first column is the value (for `empty`: any rows)."),
  expect: z
    .union(
      [
        z.enum(['noDrop', 'unchanged', 'empty'], expected(INTEGRITY_EXPECT)),
        z
          .strictObject({
            min: z.number().optional().describe('Smallest value allowed after the deployment.'),
            max: z.number().optional().describe('Largest value allowed after the deployment.'),
          })
          .refine((r) => r.min !== undefined || r.max !== undefined, expected('{ min, max }: at least one')),
      ],
      expected(INTEGRITY_EXPECT),
    )
    .describe(
      'noDrop: a count that must not drop; unchanged: a sum or checksum that must not change; ' +
        'empty: the query must return no rows; { min, max }: bounds for the value after the deployment.',
    ),
});

/** One schema per step kind, in the order of `STEP_KINDS`: a step holds exactly one kind key. */
const stepKinds = {
  run: z.strictObject({ ...stepBase, ...attemptFields, ...runFields }).describe('Run a command.'),
  http: z.strictObject({ ...stepBase, ...attemptFields, http: httpCheck }).describe('Make one HTTP check.'),
  checklist: z
    .strictObject({
      ...stepBase,
      checklist: z.strictObject({
        item: text.describe('The checklist item, e.g. "Rollback plan prepared".'),
        role: roleName
          .optional()
          .describe('The role whose members may tick it (`slipway check`). Required unless `auto` is set.'),
        auto: z
          .string()
          .regex(AUTO_PATTERN, expected('a step id, or phase.step for a step of an earlier phase'))
          .optional()
          .describe(
            'Ticked by Slipway when this earlier step succeeds: a step id of the same phase, or phase.step. ' +
              'The step must run before the item in every environment the item does.',
          ),
      }),
    })
    .describe(
      'Wait until a checklist item is ticked: by a member of a role, or automatically by an earlier step.',
    ),
  approval: z
    .strictObject({
      ...stepBase,
      approval: z.strictObject({
        roles: z.array(roleName).min(1).describe('The roles whose members may approve.'),
        require: z
          .union(
            [z.enum(['all', 'any'], expected(REQUIRE)), z.int(expected(REQUIRE)).min(1, expected(REQUIRE))],
            expected(REQUIRE),
          )
          .optional()
          .meta({
            description:
              'all: one member of every listed role; any: one member of any of them; a number n: n different ' +
              'people holding any of the roles.',
            default: DEFAULTS.approvalRequire,
          }),
        expires: positiveDuration
          .optional()
          .describe(
            'Fail the deployment when the gate is not cleared this long after it opened. Default: never.',
          ),
      }),
    })
    .describe('Wait for approval by members of the listed roles.'),
  release: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      release: z
        .strictObject({
          keep: z
            .int(expected('a whole number'))
            .min(1)
            .optional()
            .meta({ description: 'Release directories kept on the target.', default: DEFAULTS.releaseKeep }),
        })
        .nullable(),
    })
    .describe('Unpack the artifact into a new release directory, verify it and switch `current` to it.'),
  config: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      config: z
        .array(
          z.strictObject({
            template: text.describe("Template file, relative to the process file's folder."),
            dest: text
              .refine(isSafeDest, expected('a path inside the release directory: relative, without ".."'))
              .describe('Where the rendered file goes, relative to the new release directory.'),
          }),
        )
        .min(1),
    })
    .describe('Render config file templates into the new release.'),
  restart: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      restart: z
        .strictObject({
          mode: z.enum(['restart', 'reload']).optional().meta({
            description: '`restart` runs service.stop then service.start; `reload` runs service.reload.',
            default: DEFAULTS.restartMode,
          }),
        })
        .nullable(),
    })
    .describe("Restart (or reload) the environment's service."),
  smoke: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      smoke: z
        .array(
          z.union(
            [
              z.strictObject({ id: stepId.describe('Unique within the step.'), http: httpCheck }),
              z.strictObject({ id: stepId.describe('Unique within the step.'), ...runFields }),
            ],
            expected('a check: { id, http: {...} } or { id, run: ... }'),
          ),
        )
        .min(1),
    })
    .describe('A group of quick checks that must all pass.'),
  junit: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      junit: z.strictObject({
        path: reportPath('JUnit XML report(s)'),
        minTests: count
          .optional()
          .meta({ description: 'Fewest tests that must have run.', default: DEFAULTS.junitMinTests }),
        maxFailures: count
          .optional()
          .meta({ description: 'Failed plus errored tests allowed.', default: DEFAULTS.junitMaxFailures }),
        maxSkipped: count.optional().describe('Skipped tests allowed. Default: not limited.'),
      }),
    })
    .describe('Gate on JUnit XML test reports: failures, skips and a minimum number of tests.'),
  sarif: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      sarif: z.strictObject({
        path: reportPath('a SARIF 2.1 log'),
        max: z
          .strictObject({ error: count.optional(), warning: count.optional(), note: count.optional() })
          .optional()
          .meta({
            description: 'Most findings allowed per level; a level not listed is not limited.',
            default: DEFAULTS.sarifMax,
          }),
        allow: allowList('a rule id, e.g. js/xss'),
      }),
    })
    .describe('Gate on the findings of a static analysis (SARIF) log.'),
  'npm-audit': z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      'npm-audit': z.strictObject({
        path: reportPath('the output of `npm audit --json`'),
        max: z
          .strictObject({
            critical: count.optional(),
            high: count.optional(),
            moderate: count.optional(),
            low: count.optional(),
            info: count.optional(),
          })
          .optional()
          .meta({
            description: 'Most vulnerabilities allowed per severity; a severity not listed is not limited.',
            default: DEFAULTS.npmAuditMax,
          }),
        allow: allowList('an advisory (GHSA-…, CVE-…, its number) or a package name'),
      }),
    })
    .describe('Gate on the vulnerabilities `npm audit --json` reported.'),
  benchmark: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      benchmark: z.strictObject({
        path: reportPath('benchmark results: [{ name, value, unit? }] or hyperfine --export-json'),
        better: z.enum(['smaller', 'bigger']).optional().meta({
          description: 'smaller for times, bigger for throughput.',
          default: DEFAULTS.benchmarkBetter,
        }),
        threshold: percent.optional().meta({
          description: "How much worse than the last good deployment's result a benchmark may get.",
          default: DEFAULTS.benchmarkThreshold,
        }),
      }),
    })
    .describe(
      "Compare benchmark results with the last good deployment's; a regression beyond the threshold fails.",
    ),
  coverage: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      coverage: z.strictObject({
        path: reportPath('an lcov (lcov.info) or Cobertura XML coverage report'),
        minLines: coveragePercent.describe('Least line coverage, in percent (0-100).'),
        minBranches: coveragePercent
          .optional()
          .describe('Least branch coverage, in percent. Default: not checked.'),
      }),
    })
    .describe('Gate on test coverage.'),
  load: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      load: z.strictObject({
        url: httpUrl,
        method: httpMethod,
        headers: httpHeaders,
        body: httpBody,
        rate: z.number(expected(RATE)).positive(expected(RATE)).describe('Requests per second.'),
        duration: boundedDuration('a duration').describe('How long to keep up the load.'),
        connections: z
          .int(expected('a whole number, 1 or more'))
          .min(1, expected('a whole number, 1 or more'))
          .optional()
          .meta({ description: 'Concurrent connections.', default: DEFAULTS.loadConnections }),
        maxP95: positiveDuration.optional().describe('Fail when the 95th percentile latency is higher.'),
        maxP99: positiveDuration.optional().describe('Fail when the 99th percentile latency is higher.'),
        maxErrorRate: percent.optional().meta({
          description: 'Share of requests that may fail (errors, non-2xx/3xx statuses).',
          default: DEFAULTS.loadMaxErrorRate,
        }),
        regression: percent.optional().meta({
          description:
            "How much worse than the last good deployment's run p95 latency and throughput may get.",
          default: DEFAULTS.loadRegression,
        }),
      }),
    })
    .describe("Drive a URL at a fixed rate; gate on limits and on the last good deployment's numbers."),
  backup: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      backup: z.strictObject({
        items: z
          .array(backupItem)
          .min(1)
          .describe('What to back up; each item becomes one file of the backup set.'),
      }),
    })
    .describe(
      "Back up files and databases into one backup set (with a manifest of SHA-256s and row counts) in the environment's backup store.",
    ),
  'verify-backup': z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      'verify-backup': z
        .strictObject({
          maxAge: positiveDuration
            .optional()
            .describe('Fail when the newest backup set is older than this. Default: any age.'),
        })
        .nullable(),
    })
    .describe(
      'Check every file of the newest backup set against its manifest and restore it into a scratch location (SQLite: integrity check and row counts; PostgreSQL: a temporary database); marks the set verified.',
    ),
  baseline: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      baseline: z
        .strictObject({
          duration: boundedDuration('a duration').optional().meta({
            description: 'How long to measure the release serving now.',
            default: DEFAULTS.baselineDuration,
          }),
          every: positiveDuration
            .optional()
            .meta({ description: 'Time between samples of each monitor.', default: DEFAULTS.baselineEvery }),
          monitors: z
            .array(stepId)
            .min(1)
            .optional()
            .describe("Ids of the environment's monitors to measure. Default: all of them."),
        })
        .nullable(),
    })
    .describe(
      "Measure the environment's monitors against the release serving now (place it before the restart): the baseline a later bake compares with.",
    ),
  bake: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      bake: z
        .strictObject({
          duration: boundedDuration('a duration')
            .optional()
            .meta({ description: 'How long to watch after the switch.', default: DEFAULTS.bakeDuration }),
          interval: positiveDuration.optional().meta({
            description: 'One analysis interval: the median of its samples is compared with the baseline.',
            default: DEFAULTS.bakeInterval,
          }),
          samples: z
            .int(expected('a whole number, 1 or more'))
            .min(1, expected('a whole number, 1 or more'))
            .optional()
            .meta({ description: 'Samples per monitor per interval.', default: DEFAULTS.bakeSamples }),
          failureLimit: z
            .int(expected('a whole number, 1 or more'))
            .min(1, expected('a whole number, 1 or more'))
            .optional()
            .meta({
              description: 'Failing intervals among the last `window` that trigger a rollback.',
              default: DEFAULTS.bakeFailureLimit,
            }),
          window: z
            .int(expected('a whole number, 1 or more'))
            .min(1, expected('a whole number, 1 or more'))
            .optional()
            .meta({
              description: 'How many recent intervals `failureLimit` counts in.',
              default: DEFAULTS.bakeWindow,
            }),
          criticalFailures: z
            .int(expected('a whole number, 1 or more'))
            .min(1, expected('a whole number, 1 or more'))
            .optional()
            .meta({
              description:
                'Consecutive failed samples of a critical monitor that trigger a rollback at once.',
              default: DEFAULTS.bakeCriticalFailures,
            }),
          monitors: z
            .array(stepId)
            .min(1)
            .optional()
            .describe("Ids of the environment's monitors to watch. Default: all of them."),
        })
        .nullable(),
    })
    .describe(
      'Watch the monitors after the switch and compare them with the baseline; a critical check failing or a degradation beyond the threshold fails the step, which rolls back.',
    ),
  migrate: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      migrate: z.strictObject({
        database,
        dir: text
          .refine(isSafeDest, expected('a folder inside the release: relative, without ".."'))
          .optional()
          .meta({
            description: 'Folder of the migration files inside the release (artifact).',
            default: DEFAULTS.migrateDir,
          }),
        lockTimeout: boundedDuration('a duration').optional().meta({
          description: "How long to wait for another runner's migration lock.",
          default: DEFAULTS.migrateLockTimeout,
        }),
      }),
    })
    .describe(
      "Apply the release's pending SQL migrations (<version>_<name>.up.sql), each in its own transaction, under a lock; recorded with checksums in the database's slipway_migrations table.",
    ),
  integrity: z
    .strictObject({
      ...stepBase,
      ...attemptFields,
      integrity: z.union(
        [
          z.strictObject({
            capture: z
              .strictObject({
                database,
                checks: z
                  .array(integrityCheck)
                  .min(1)
                  .describe('The checks, measured now and again by verify.'),
              })
              .describe('Measure the checks now (before the release is switched).'),
          }),
          z.strictObject({
            verify: z
              .string()
              .regex(AUTO_PATTERN, expected('the id of a capture step: step (same phase) or phase.step'))
              .describe('The capture step whose values are the "before"; measure again and judge.'),
          }),
        ],
        expected('{ capture: { database, checks } } or { verify: <capture step id> }'),
      ),
    })
    .describe(
      'Data-integrity checks: capture SQL values before the switch, verify them after; a violation fails the step (and rolls back).',
    ),
} as const;

export type StepKindKey = keyof typeof stepKinds;
/** In the order of the `step` union's branches (and of core's `STEP_KINDS`). */
export const STEP_KIND_KEYS = Object.keys(stepKinds) as StepKindKey[];
/** Kind keys of a smoke check and of a secret source, in the order of their unions below. */
export const SMOKE_CHECK_KINDS = ['http', 'run'] as const;
export const SECRET_SOURCE_KINDS = ['env', 'file'] as const;
/** A window's schedule keys, in the order of its union's branches. */
export const WINDOW_SCHEDULE_KINDS = ['cron', 'rrule'] as const;

/** Every key some step kind allows, for "`timeout` belongs to other kinds" hints. */
export const STEP_KEYS_BY_KIND: Readonly<Record<StepKindKey, readonly string[]>> = Object.fromEntries(
  STEP_KIND_KEYS.map((k) => [k, Object.keys(stepKinds[k].shape)]),
) as Record<StepKindKey, string[]>;

/** The keys inside each kind's own mapping (`approval: { roles, require, expires }`), for "belongs inside" hints. */
export const KIND_KEYS_BY_KIND: Readonly<Record<StepKindKey, readonly string[]>> = Object.fromEntries(
  STEP_KIND_KEYS.map((k) => {
    let inner = (stepKinds[k].shape as Record<string, z.ZodType>)[k];
    // `release:` and `restart:` may be empty, `config:` is a list of mappings.
    if (inner instanceof z.ZodNullable) inner = inner.unwrap() as z.ZodType;
    if (inner instanceof z.ZodArray) inner = inner.element as z.ZodType;
    return [k, inner instanceof z.ZodObject ? Object.keys(inner.shape) : []];
  }),
) as Record<StepKindKey, string[]>;

const step = z.union(
  [
    stepKinds.run,
    stepKinds.http,
    stepKinds.checklist,
    stepKinds.approval,
    stepKinds.release,
    stepKinds.config,
    stepKinds.restart,
    stepKinds.smoke,
    stepKinds.junit,
    stepKinds.sarif,
    stepKinds['npm-audit'],
    stepKinds.benchmark,
    stepKinds.coverage,
    stepKinds.load,
    stepKinds.backup,
    stepKinds['verify-backup'],
    stepKinds.baseline,
    stepKinds.bake,
    stepKinds.migrate,
    stepKinds.integrity,
  ],
  expected(`a step: a mapping with an id and one of ${Object.keys(stepKinds).join(', ')}`),
);

const service = z
  .strictObject({
    start: command.optional().describe('Starts the service (used by restart steps and rollback).'),
    stop: command.optional().describe('Stops the service.'),
    reload: command.optional().describe('Reloads the service without a restart (restart mode: reload).'),
    env: envMap.optional(),
  })
  .describe(
    "How the service is started and stopped on a target. An environment's `service` is merged over the top-level one key by key.",
  );

const vars = z
  .record(nameKey('a var name'), scalar)
  .describe('Values for {{ vars.NAME }}; numbers and booleans are kept as written.');

const timezone = text.describe('An IANA timezone, e.g. Europe/Berlin, America/New_York or UTC.');
const INSTANT = 'a date like 2026-12-20, or a date and time like 2026-12-20T18:00';
const instant = z.string(expected(INSTANT)).min(1, expected(INSTANT));

const windowFields = {
  duration: boundedDuration('a window length').describe('How long the window stays open, e.g. 4h.'),
  timezone: timezone.describe('The IANA timezone the schedule is read in, e.g. Europe/Berlin or UTC.'),
};
/** A window opens on a cron schedule or an RRULE: exactly one of the two, as a union of two shapes. */
const window = z.union(
  [
    z.strictObject({
      cron: text.describe(
        'When the window opens: minute hour day-of-month month day-of-week, e.g. "0 22 * * 1-5".',
      ),
      ...windowFields,
    }),
    z.strictObject({
      rrule: text.describe(
        'When the window opens, as an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=SA;BYHOUR=2.',
      ),
      ...windowFields,
    }),
  ],
  expected('a window: { cron, duration, timezone } or { rrule, duration, timezone }'),
);

const environment = z.strictObject({
  target: z
    .discriminatedUnion(
      'type',
      [
        z.strictObject({
          type: z
            .enum(['local'])
            .optional()
            .meta({ description: 'Where the releases live.', default: DEFAULTS.targetType }),
          root: text.describe(
            "Folder holding releases/, current and shared/. Relative paths start at the process file's folder.",
          ),
        }),
        sshTargetSchema,
      ],
      expected('a target type: local (this machine, the default) or ssh'),
    )
    .optional()
    .describe('Where this environment is deployed (one machine). Use `hosts` for several.'),
  hosts: z
    .array(hostSchema)
    .min(1)
    .optional()
    .describe('The machines of this environment, instead of `target`: each gets the release per `strategy`.'),
  inventory: text
    .optional()
    .describe(
      'An inventory file listing the hosts instead of `hosts` (relative to the process file): a list of hosts, { hosts, groups }, or Ansible YAML.',
    ),
  hostDefaults: hostDefaultsSchema.optional(),
  ssh: sshDefaultsSchema.optional(),
  traffic: trafficSchema.optional(),
  strategy: strategySchema
    .optional()
    .meta({ description: 'How the release reaches the hosts.', default: { type: 'all-at-once' } }),
  vars: vars.optional().describe('Vars for this environment; they win over the top-level ones.'),
  secrets: z
    .record(
      nameKey('a secret name'),
      z.union(
        [
          z.strictObject({
            env: nameKey('an environment variable name').describe('Read from this variable.'),
          }),
          z.strictObject({ file: text.describe('Read from this file.') }),
        ],
        expected('a secret source: { env: VARIABLE } or { file: path }'),
      ),
    )
    .optional()
    .describe(
      'Where {{ secrets.NAME }} values come from at run time. Values are never stored or printed; ' +
        'secrets may be used in env values, HTTP headers and bodies, and config templates only.',
    ),
  requires: z
    .array(envName)
    .optional()
    .describe('Environments in which the same release must have succeeded first (promotion).'),
  rollback: z
    .strictObject({
      auto: z.boolean().optional().meta({
        description: 'Roll back automatically when a step fails after the release was switched.',
        default: DEFAULTS.rollbackAuto,
      }),
    })
    .optional(),
  service: service.optional(),
  windows: z
    .array(window)
    .optional()
    .describe('Maintenance windows: target-changing phases run only inside one. Default: any time.'),
  freezes: z
    .array(
      z.strictObject({
        from: instant.describe('First moment of the freeze. A date alone means its start.'),
        to: instant.describe(
          'When the freeze ends. A date alone means the end of that day: it is frozen too.',
        ),
        reason: text.describe('Why, e.g. "Year-end freeze"; shown to whoever tries to deploy.'),
      }),
    )
    .optional()
    .describe('Periods in which nothing is deployed, except as an approved emergency.'),
  freezeTimezone: timezone
    .optional()
    .describe(
      "How freeze dates and times without an offset are read. Default: the first window's timezone, else UTC.",
    ),
  emergency: z
    .strictObject({
      approvers: z.array(roleName).min(1).optional().meta({
        description: 'Roles that must all approve a deployment outside a window or during a freeze.',
        default: DEFAULTS.emergencyApprovers,
      }),
    })
    .optional()
    .describe('Deploying outside the windows or during a freeze.'),
  backups: z
    .strictObject({
      dir: text.optional().meta({
        description:
          "The backup store folder (sets go to <dir>/<environment>/); relative paths start at the process file's folder.",
        default: DEFAULTS.backupDir,
      }),
      keep: z
        .int(expected('a whole number, 1 or more'))
        .min(1, expected('a whole number, 1 or more'))
        .optional()
        .meta({ description: 'Backup sets kept: the newest this many.', default: DEFAULTS.backupKeep }),
      maxAge: positiveDuration.optional().meta({
        description: 'Older backup sets are deleted; the newest verified set always stays.',
        default: DEFAULTS.backupMaxAge,
      }),
    })
    .optional()
    .describe('Where backup steps put backup sets, and how long they are kept.'),
  monitors: monitorsSchema,
});

const phase = z.strictObject({
  id: idOf('a phase id').describe('Unique in the file.'),
  name: text.optional().describe('Label shown in plans and status. Defaults to the id.'),
  environments: z
    .array(envName)
    .min(1)
    .optional()
    .describe('Environments this phase runs for. Default: all.'),
  window: z
    .boolean()
    .optional()
    .describe(
      "Whether the phase runs only inside the environment's maintenance windows and outside its freezes. " +
        'Default: true when it changes the target (a release, config or restart step, or a run step on: target).',
    ),
  expectedDuration: boundedDuration('a duration')
    .optional()
    .describe('How long the phase takes: it starts only when the window stays open that long.'),
  requireVerifiedBackup: positiveDuration
    .optional()
    .describe(
      'Final backup verification: the phase does no work (beyond backup and verify-backup steps) unless a backup set of the environment, verified, at most this old exists, e.g. 6h.',
    ),
  steps: z.array(step).min(1).describe('Run in order; each step holds exactly one kind key.'),
});

export const processSchema = z
  .strictObject({
    version: z.literal(1, expected('1 (the process file format this Slipway reads)')),
    app: z
      .string()
      .regex(APP_PATTERN, expected('an app name: lowercase letters, digits and "-"'))
      .describe('The application this process deploys.'),
    roles: z
      .record(roleName, z.array(text).describe('User names (OS user or SLIPWAY_USER).'))
      .optional()
      .describe('Who may tick checklist items and approve: role name → members.'),
    identities: z
      .record(text, text)
      .optional()
      .describe(
        'OS login → Slipway user name, for people whose login differs from the name used in roles ' +
          '(SLIPWAY_USER, when set, wins and is recorded as such).',
      ),
    policy: z
      .strictObject({
        starterCannotApprove: z.boolean().optional().meta({
          description: 'Whoever started a deployment cannot approve it.',
          default: DEFAULTS.starterCannotApprove,
        }),
        onePersonOneRole: z.boolean().optional().meta({
          description: 'One person fills only one role of an approval gate.',
          default: DEFAULTS.onePersonOneRole,
        }),
      })
      .optional()
      .describe('Separation of duties for approvals.'),
    artifact: z
      .strictObject({
        path: text.describe(
          `Release tarball, relative to the process file, e.g. dist/app-{{ release }}.tar.gz. ${TEMPLATES}.`,
        ),
        sha256File: text.optional().describe('A sha256sum-style file to verify the artifact against.'),
      })
      .describe('What a release is built from.'),
    vars: vars.optional(),
    service: service.optional(),
    environments: z
      .record(envName, environment)
      .refine((envs) => Object.keys(envs).length > 0, expected('at least one environment'))
      .describe('Where the app is deployed, by name.'),
    phases: z
      .array(phase)
      .min(1)
      .describe('The process, in order; a deployment runs every phase that applies to its environment.'),
  })
  .describe('A Slipway process file (slipway.yaml).');

/** A process file that passed the schema: still in the user's words (no defaults, durations as written). */
export type ProcessFile = z.output<typeof processSchema>;
export type StepInput = z.output<(typeof stepKinds)[StepKindKey]>;
