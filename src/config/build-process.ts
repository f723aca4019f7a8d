/** Builds the compiled `Process` from a validated, cross-checked process file: defaults applied, paths resolved, durations in ms. */

import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type {
  CommandSpec,
  EnvironmentSpec,
  HttpCheckSpec,
  PhaseSpec,
  Process,
  RunCheckSpec,
  ServiceSpec,
  SmokeCheckSpec,
  StepSpec,
} from '../core/process.js';
import { DEFAULT_TIMEOUT_MS, DEFAULTS, defaultIdempotent } from './defaults.js';
import { durationMs, type ProcessFile, STEP_KIND_KEYS, type StepInput } from './schema.js';
import type { KeyPath } from './yaml-positions.js';

type Scalar = string | number | boolean;
type Command = string | readonly string[];

export interface BuildContext {
  /** Absolute path of the process file. */
  readonly file: string;
  readonly source: string;
  /** A scalar's text as written in the file, when it was a plain scalar. */
  readonly sourceText: (path: KeyPath) => string | undefined;
}

export function buildProcess(input: ProcessFile, ctx: BuildContext): Process {
  const baseDir = dirname(ctx.file);
  // Numbers and booleans become the text the user wrote: `VERSION: 1.10` must not turn into "1.1".
  const strings = (
    path: KeyPath,
    record: Readonly<Record<string, Scalar>> | undefined,
  ): Record<string, string> =>
    Object.fromEntries(
      Object.entries(record ?? {}).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : (ctx.sourceText([...path, k]) ?? String(v)),
      ]),
    );

  const service = (path: KeyPath, top: ProcessFile['service'], own: ProcessFile['service']): ServiceSpec => {
    const spec: { -readonly [K in keyof ServiceSpec]: ServiceSpec[K] } = {
      env: { ...strings(['service', 'env'], top?.env), ...strings([...path, 'env'], own?.env) },
    };
    for (const key of ['start', 'stop', 'reload'] as const) {
      const cmd = own?.[key] ?? top?.[key];
      if (cmd !== undefined) spec[key] = command(cmd);
    }
    return spec;
  };

  const environments: Record<string, EnvironmentSpec> = {};
  for (const [name, env] of Object.entries(input.environments)) {
    const path = ['environments', name];
    environments[name] = {
      name,
      target: { type: env.target.type ?? DEFAULTS.targetType, root: resolve(baseDir, env.target.root) },
      vars: { ...strings(['vars'], input.vars), ...strings([...path, 'vars'], env.vars) },
      secrets: Object.fromEntries(
        Object.entries(env.secrets ?? {}).map(([k, s]) => [
          k,
          'env' in s ? { env: s.env } : { file: s.file },
        ]),
      ),
      requires: env.requires ?? [],
      rollback: { auto: env.rollback?.auto ?? DEFAULTS.rollbackAuto },
      service: service([...path, 'service'], input.service, env.service),
      windows: [],
      freezes: [],
      emergencyApprovers: ['devops', 'pm'],
    };
  }

  const run = (path: KeyPath, r: RunInput): RunCheckSpec => ({
    command: command(r.run),
    env: strings([...path, 'env'], r.env),
    // A relative controller cwd is resolved against baseDir when the step runs, after rendering.
    ...(r.cwd === undefined ? {} : { cwd: r.cwd }),
    on: r.on ?? DEFAULTS.runOn,
  });
  const http = (path: KeyPath, h: HttpInput): HttpCheckSpec => {
    const status = h.expect?.status ?? DEFAULTS.expectStatus;
    return {
      url: h.url,
      method: h.method ?? DEFAULTS.httpMethod,
      headers: strings([...path, 'headers'], h.headers),
      ...(h.body === undefined ? {} : { body: h.body }),
      expectStatus: typeof status === 'number' ? [status] : status,
      ...(h.expect?.body === undefined ? {} : { expectBody: h.expect.body }),
      ...(h.expect?.maxLatency === undefined ? {} : { maxLatencyMs: durationMs(h.expect.maxLatency) }),
    };
  };

  const step = (path: KeyPath, s: StepInput): StepSpec => {
    const kind = STEP_KIND_KEYS.find((k) => Object.hasOwn(s, k)) as StepSpec['kind'];
    const attempt: AttemptInput = 'checklist' in s || 'approval' in s ? {} : s;
    const base = {
      id: s.id,
      name: s.name ?? s.id,
      timeoutMs: attempt.timeout === undefined ? DEFAULT_TIMEOUT_MS[kind] : durationMs(attempt.timeout),
      retry: {
        count: attempt.retries ?? DEFAULTS.retries,
        delayMs: durationMs(attempt.retryDelay ?? DEFAULTS.retryDelay),
        maxDelayMs: durationMs(attempt.retryMaxDelay ?? DEFAULTS.retryMaxDelay),
      },
      idempotent: attempt.idempotent ?? defaultIdempotent(kind),
    };
    if ('run' in s) return { ...base, kind: 'run', ...run(path, s) };
    if ('http' in s) return { ...base, kind: 'http', http: http([...path, 'http'], s.http) };
    if ('checklist' in s)
      return { ...base, kind: 'checklist', item: s.checklist.item, role: s.checklist.role };
    if ('approval' in s) return { ...base, kind: 'approval', roles: s.approval.roles, rule: { mode: 'all' } };
    if ('release' in s) return { ...base, kind: 'release', keep: s.release?.keep ?? DEFAULTS.releaseKeep };
    if ('config' in s)
      return {
        ...base,
        kind: 'config',
        files: s.config.map((f) => ({ template: f.template, dest: f.dest })),
      };
    if ('restart' in s) return { ...base, kind: 'restart', mode: s.restart?.mode ?? DEFAULTS.restartMode };
    const checks = s.smoke.map(
      (c, i): SmokeCheckSpec =>
        'http' in c
          ? { id: c.id, kind: 'http', http: http([...path, 'smoke', i, 'http'], c.http) }
          : { id: c.id, kind: 'run', run: run([...path, 'smoke', i], c) },
    );
    return { ...base, kind: 'smoke', checks };
  };

  const phases = input.phases.map(
    (p, i): PhaseSpec => ({
      id: p.id,
      name: p.name ?? p.id,
      ...(p.environments === undefined ? {} : { environments: p.environments }),
      windowed: false,
      steps: p.steps.map((s, j) => step(['phases', i, 'steps', j], s)),
    }),
  );

  return {
    file: ctx.file,
    baseDir,
    source: ctx.source,
    sourceHash: createHash('sha256').update(ctx.source).digest('hex'),
    version: 1,
    app: input.app,
    roles: input.roles ?? {},
    policy: { starterCannotApprove: true, onePersonOneRole: true },
    artifact: {
      path: input.artifact.path,
      ...(input.artifact.sha256File === undefined ? {} : { sha256File: input.artifact.sha256File }),
    },
    environments,
    phases,
  };
}

type RunInput = Extract<StepInput, { run: unknown }>;
/** Gates have none of these keys. */
type AttemptInput = Partial<
  Pick<RunInput, 'timeout' | 'retries' | 'retryDelay' | 'retryMaxDelay' | 'idempotent'>
>;
type HttpInput = Extract<StepInput, { http: unknown }>['http'];

function command(cmd: Command): CommandSpec {
  return typeof cmd === 'string' ? { shell: cmd } : { argv: [...cmd] };
}
