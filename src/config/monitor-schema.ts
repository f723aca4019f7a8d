/** Schema pieces of an environment's `monitors:` list (checked further in monitor-rules, compiled in monitor-build). */

import { z } from 'zod';

const expected = (what: string) => ({ error: what });
const text = z.string().min(1);

/** The documented defaults of a monitor, applied by monitor-build and shown by the JSON Schema. */
export const MONITOR_DEFAULTS = {
  critical: false,
  direction: 'lower-is-better',
  /** The seed's "performance degradation > 20%". */
  maxDegradation: '20%',
  minSamples: 3,
  timeout: '5s',
  httpMethod: 'GET',
  authMethod: 'POST',
  expectStatus: 200,
  rangeAggregate: 'avg',
  commandOn: 'controller',
  commandValue: 'exit-code',
} as const;

/** A monitor's own timeout; a slower sample is a failed one. */
export const MAX_MONITOR_TIMEOUT_MS = 10 * 60_000;

const TEMPLATES =
  'May use {{ app }}, {{ env }}, {{ release }}, {{ deployment.id }}, {{ vars.NAME }}, ' +
  '{{ target.root|current|shared|release }}';
const DURATION = 'a duration like 500ms, 30s, 5m or 1h30m, or a whole number of milliseconds';
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;
const duration = z.union(
  [
    z.string().regex(DURATION_PATTERN, { error: DURATION, abort: true }),
    z.int({ error: DURATION }).min(1, { error: DURATION, abort: true }),
  ],
  expected(DURATION),
);
const PERCENT = 'a percentage like 20% or a fraction from 0 to 1 like 0.2';
const percent = z.union(
  [
    z
      .string()
      .regex(/^(\d+(\.\d+)?)%$/, { error: PERCENT, abort: true })
      .refine((v) => Number.parseFloat(v) <= 100, expected(PERCENT)),
    z.number({ error: PERCENT }).min(0, { error: PERCENT }).max(1, { error: PERCENT }),
  ],
  expected(PERCENT),
);
const scalar = z.union([z.string(), z.number(), z.boolean()], expected('a string, number or true/false'));
const STATUS = expected('an HTTP status code from 100 to 599');
const status = z.int(STATUS).min(100, STATUS).max(599, STATUS);
const statuses = z.union([status, z.array(status).min(1)], expected('an HTTP status code or a list of them'));
const url = (what: string, secrets: string) =>
  z
    .string()
    .regex(/^(https?:\/\/|\{\{)/, expected('an http:// or https:// URL'))
    .describe(`${what}. ${TEMPLATES}; ${secrets}.`);
const headers = z
  .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, expected('an HTTP header name')), scalar)
  .optional()
  .describe(`Request headers. ${TEMPLATES}, and {{ secrets.NAME }}.`);
const method = (fallback: string) =>
  z
    .enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
    .optional()
    .meta({ description: 'HTTP method.', default: fallback });
const body = z.string().optional().describe(`Request body. ${TEMPLATES}, and {{ secrets.NAME }}.`);
const maxLatency = duration.optional().describe('Fail the check when the response takes longer than this.');
const jsonPath = text.describe("A JSON path: $.a.b[0].c or $['odd key'].");
const command = z
  .union(
    [z.array(z.string()).min(1), text],
    expected('a command: an argv list like [node, check.cjs] or a shell string'),
  )
  .describe(
    'An argv list (no shell; templates allowed in its items) or a shell string run by /bin/sh -c ' +
      '(no templates: pass values as environment variables).',
  );
const envMap = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, expected('an environment variable name')), scalar)
  .optional()
  .describe(`Environment variables. ${TEMPLATES}, and {{ secrets.NAME }}.`);
const NUMBER = expected('a number');

/** One schema per monitor kind; a monitor holds exactly one kind key. In the order of core's MONITOR_KINDS. */
const probes = {
  http: z
    .strictObject({
      url: url('The URL to request', 'not secrets (URLs end up in logs)'),
      method: method(MONITOR_DEFAULTS.httpMethod),
      headers,
      body,
      expect: z
        .strictObject({
          status: statuses
            .optional()
            .meta({ description: 'Accepted status(es).', default: MONITOR_DEFAULTS.expectStatus }),
          body: z.string().optional().describe(`Text the body must contain, or /regex/flags. ${TEMPLATES}.`),
          json: z
            .record(z.string(), z.union([scalar, z.null()], expected('a string, number, true/false or null')))
            .optional()
            .describe('JSON path → the value the JSON body must hold there, e.g. { "$.status": ok }.'),
          maxLatency,
        })
        .optional()
        .describe('What counts as a passing check.'),
      maxLatency,
    })
    .describe('An HTTP request and what its answer must look like; the value is its latency in ms.'),
  prometheus: z
    .strictObject({
      url: url('Base URL of the Prometheus server, e.g. http://127.0.0.1:9090', 'not secrets'),
      headers,
      query: text
        .optional()
        .describe('A PromQL instant query returning one number (one series, or a scalar).'),
      range: z
        .strictObject({
          query: text.describe('A PromQL query evaluated over the window.'),
          window: duration.describe('How far back the range reaches, e.g. 1m.'),
          step: duration.describe('Resolution of the range, e.g. 5s.'),
          aggregate: z.enum(['avg', 'max', 'min', 'last']).optional().meta({
            description: 'How the points of the range become one number.',
            default: MONITOR_DEFAULTS.rangeAggregate,
          }),
        })
        .optional()
        .describe('A range query, aggregated to one number (instead of `query`).'),
    })
    .describe('A PromQL query against the Prometheus HTTP API: `query` (instant) or `range`.'),
  json: z
    .strictObject({
      url: url('The URL of a JSON document', 'not secrets'),
      headers,
      path: jsonPath.describe('Where the number is, e.g. $.queue.depth.'),
    })
    .describe('A number read from a JSON endpoint.'),
  sql: z
    .strictObject({
      driver: z.enum(['postgres', 'sqlite']).describe('Which database.'),
      url: text
        .optional()
        .describe(
          'postgres: the connection string, e.g. postgresql://app@127.0.0.1:5432/app or {{ secrets.DB_URL }}; never shown.',
        ),
      password: z
        .string()
        .optional()
        .describe('postgres: the password, usually {{ secrets.NAME }}; never shown.'),
      path: text
        .optional()
        .describe(`sqlite: the database file, relative to the process file's folder. ${TEMPLATES}.`),
      query: text.describe('A read-only query; the first column of the first row is the value.'),
    })
    .describe('A SQL query (opened read-only): the first column of the first row is the value.'),
  auth: z
    .strictObject({
      url: url('The login or token URL', 'not secrets'),
      method: method(MONITOR_DEFAULTS.authMethod),
      headers,
      body,
      expect: z
        .strictObject({
          status: statuses
            .optional()
            .meta({ description: 'Accepted status(es).', default: MONITOR_DEFAULTS.expectStatus }),
          body: z.string().optional().describe('Text the body must contain, or /regex/flags.'),
        })
        .optional(),
      tokenPath: jsonPath
        .optional()
        .describe('Where the token is in the JSON answer, e.g. $.token; a missing or empty one fails.'),
      maxLatency,
    })
    .describe('A login or token request that must succeed; the value is its latency in ms.'),
  command: z
    .strictObject({
      run: command,
      env: envMap,
      cwd: text
        .optional()
        .describe(`Working folder; relative to the process file's folder on the controller. ${TEMPLATES}.`),
      on: z.enum(['controller', 'target']).optional().meta({
        description: "Where the command runs: this machine, or the environment's target.",
        default: MONITOR_DEFAULTS.commandOn,
      }),
      value: z.enum(['exit-code', 'stdout-number']).optional().meta({
        description:
          'exit-code: the check passes on exit 0; stdout-number: also, the last output line is the value.',
        default: MONITOR_DEFAULTS.commandValue,
      }),
    })
    .describe('A command that must exit 0.'),
} as const;

export type MonitorKindKey = keyof typeof probes;
/** In the order of the monitor union's branches below. */
export const MONITOR_KIND_KEYS = Object.keys(probes) as MonitorKindKey[];

const common = {
  id: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]*$/,
      expected('a monitor id: lowercase letters, digits and "-", starting with a letter'),
    )
    .describe('Unique in the environment; names the monitor in baselines, triggers and reports.'),
  critical: z.boolean().optional().meta({
    description: 'A failing check is a critical-functionality failure: it triggers a rollback.',
    default: MONITOR_DEFAULTS.critical,
  }),
  compare: z
    .strictObject({
      direction: z.enum(['lower-is-better', 'higher-is-better']).optional().meta({
        description: 'Which way is worse: latency and error rates are lower-is-better.',
        default: MONITOR_DEFAULTS.direction,
      }),
      maxDegradation: percent.optional().meta({
        description: 'How much worse than the baseline the value may get.',
        default: MONITOR_DEFAULTS.maxDegradation,
      }),
      max: z.number(NUMBER).optional().describe('Absolute upper limit, whatever the baseline.'),
      min: z.number(NUMBER).optional().describe('Absolute lower limit, whatever the baseline.'),
      minChange: z
        .number(NUMBER)
        .min(0, NUMBER)
        .optional()
        .describe(
          "Smallest change against the baseline, in the value's unit, that can be a degradation (e.g. 5 for 5 ms): a 0.3 ms baseline going to 0.6 ms is +100% but noise. Default: 0.",
        ),
    })
    .optional()
    .describe('How the value is judged against its baseline and absolute limits.'),
  minSamples: z
    .int(expected('a whole number, 1 or more'))
    .min(1, expected('a whole number, 1 or more'))
    .optional()
    .meta({
      description: 'Fewest samples (baseline, and after) before the value is compared.',
      default: MONITOR_DEFAULTS.minSamples,
    }),
  timeout: duration
    .optional()
    .meta({ description: 'How long one sample may take (at most 10m).', default: MONITOR_DEFAULTS.timeout }),
};

export const monitorSchema = z.union(
  [
    z.strictObject({ ...common, http: probes.http }),
    z.strictObject({ ...common, prometheus: probes.prometheus }),
    z.strictObject({ ...common, json: probes.json }),
    z.strictObject({ ...common, sql: probes.sql }),
    z.strictObject({ ...common, auth: probes.auth }),
    z.strictObject({ ...common, command: probes.command }),
  ],
  expected(`a monitor: a mapping with an id and one of ${MONITOR_KIND_KEYS.join(', ')}`),
);

export const monitorsSchema = z
  .array(monitorSchema)
  .optional()
  .describe(
    'What is measured before the switch (baseline) and after it (bake): HTTP checks, Prometheus queries, ' +
      'JSON metrics, SQL checks, authentication checks and commands.',
  );

export type MonitorInput = z.output<typeof monitorSchema>;
