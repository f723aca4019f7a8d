/** The process file's schema: the one zod schema that validates slipway.yaml and emits its JSON Schema. */

import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { DEFAULTS, MAX_TIMEOUT_MS } from './defaults.js';

export const ID_PATTERN = /^[a-z][a-z0-9-]*$/;
export const APP_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** Names of vars, secrets and environment variables: usable as `$NAME` in a shell. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What `parseDuration` accepts (without surrounding spaces), so editors can check it via the JSON Schema. */
const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;

/** Template names, for descriptions; the compiler checks them. */
const TEMPLATES =
  'May use {{ app }}, {{ env }}, {{ release }}, {{ deployment.id }}, {{ vars.NAME }}, ' +
  '{{ target.root|current|shared|release }}';

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

const timeout = duration.refine((v) => {
  const ms = durationMs(v);
  return ms > 0 && ms <= MAX_TIMEOUT_MS;
}, expected('a timeout above 0 and at most 7d'));

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

const httpCheck = z
  .strictObject({
    url: z
      .string()
      .regex(/^(https?:\/\/|\{\{)/, expected('an http:// or https:// URL'))
      .describe(`The URL to request. ${TEMPLATES}; not secrets (URLs end up in logs).`),
    method: z
      .enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
      .optional()
      .meta({ description: 'HTTP method.', default: DEFAULTS.httpMethod }),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, expected('an HTTP header name')), scalar)
      .optional()
      .describe(`Request headers. ${TEMPLATES}, and {{ secrets.NAME }}.`),
    body: z.string().optional().describe(`Request body. ${TEMPLATES}, and {{ secrets.NAME }}.`),
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

const isSafeDest = (dest: string) => !/^([\\/]|[A-Za-z]:)/.test(dest) && !dest.split(/[\\/]/).includes('..');

/** One schema per step kind, in the order of `STEP_KINDS`: a step holds exactly one kind key. */
const stepKinds = {
  run: z.strictObject({ ...stepBase, ...attemptFields, ...runFields }).describe('Run a command.'),
  http: z.strictObject({ ...stepBase, ...attemptFields, http: httpCheck }).describe('Make one HTTP check.'),
  checklist: z
    .strictObject({
      ...stepBase,
      checklist: z.strictObject({
        item: text.describe('The checklist item, e.g. "Rollback plan prepared".'),
        role: roleName.describe('The role whose members may tick it (`slipway check`).'),
      }),
    })
    .describe('Wait until a member of a role ticks a checklist item.'),
  approval: z
    .strictObject({
      ...stepBase,
      approval: z.strictObject({
        roles: z.array(roleName).min(1).describe('Every listed role must approve (one member each).'),
      }),
    })
    .describe('Wait for approval by one member of each listed role.'),
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
} as const;

export type StepKindKey = keyof typeof stepKinds;
/** In the order of the `step` union's branches (and of core's `STEP_KINDS`). */
export const STEP_KIND_KEYS = Object.keys(stepKinds) as StepKindKey[];
/** Kind keys of a smoke check and of a secret source, in the order of their unions below. */
export const SMOKE_CHECK_KINDS = ['http', 'run'] as const;
export const SECRET_SOURCE_KINDS = ['env', 'file'] as const;

/** Every key some step kind allows, for "`timeout` belongs to other kinds" hints. */
export const STEP_KEYS_BY_KIND: Readonly<Record<StepKindKey, readonly string[]>> = Object.fromEntries(
  STEP_KIND_KEYS.map((k) => [k, Object.keys(stepKinds[k].shape)]),
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

const environment = z.strictObject({
  target: z
    .strictObject({
      type: z
        .enum(['local'])
        .optional()
        .meta({ description: 'Where the releases live.', default: DEFAULTS.targetType }),
      root: text.describe(
        "Folder holding releases/, current and shared/. Relative paths start at the process file's folder.",
      ),
    })
    .describe('Where this environment is deployed.'),
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
});

const phase = z.strictObject({
  id: idOf('a phase id').describe('Unique in the file.'),
  name: text.optional().describe('Label shown in plans and status. Defaults to the id.'),
  environments: z
    .array(envName)
    .min(1)
    .optional()
    .describe('Environments this phase runs for. Default: all.'),
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
