/** Builds the compiled `Process` from a validated, cross-checked process file: defaults applied, paths resolved, durations in ms. */

import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type {
  AllowEntry,
  BackupItemSpec,
  CommandSpec,
  DatabaseSpec,
  EnvironmentSpec,
  FreezeSpec,
  HttpCheckSpec,
  IncludedFile,
  IntegrityCheckSpec,
  PhaseSpec,
  Process,
  RunCheckSpec,
  ServiceSpec,
  SmokeCheckSpec,
  StepSpec,
  WindowSpec,
} from '../core/process.js';
import { DEFAULT_TIMEOUT_MS, DEFAULTS, defaultIdempotent } from './defaults.js';
import { environmentTargets } from './fleet-build.js';
import { buildMonitors } from './monitor-build.js';
import {
  durationMs,
  fraction,
  type ProcessFile,
  STEP_KIND_KEYS,
  type StepInput,
  utcDateMs,
} from './schema.js';
import { freezeBounds, freezeTimezone, isWindowed } from './window-rules.js';
import type { KeyPath } from './yaml-positions.js';

type Scalar = string | number | boolean;
type Command = string | readonly string[];

export interface BuildContext {
  /** Absolute path of the process file. */
  readonly file: string;
  readonly source: string;
  /** A scalar's text as written in the file, when it was a plain scalar. */
  readonly sourceText: (path: KeyPath) => string | undefined;
  /** Files read besides the process file (inventories). @default [] */
  readonly includes?: readonly IncludedFile[];
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
      ...environmentTargets(env, baseDir),
      ...(env.inventory === undefined ? {} : { inventory: env.inventory }),
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
      windows: (env.windows ?? []).map(
        (w): WindowSpec => ({
          ...('cron' in w ? { cron: w.cron } : { rrule: w.rrule }),
          durationMs: durationMs(w.duration),
          timezone: w.timezone,
        }),
      ),
      freezes: (env.freezes ?? []).map((f): FreezeSpec => {
        // The checks have made sure both bounds parse.
        const { fromMs, toMs } = freezeBounds(f, freezeTimezone(env));
        return { fromMs: fromMs as number, toMs: toMs as number, reason: f.reason };
      }),
      emergencyApprovers: env.emergency?.approvers ?? [...DEFAULTS.emergencyApprovers],
      backups: {
        dir: resolve(baseDir, env.backups?.dir ?? DEFAULTS.backupDir),
        keep: env.backups?.keep ?? DEFAULTS.backupKeep,
        maxAgeMs: durationMs(env.backups?.maxAge ?? DEFAULTS.backupMaxAge),
      },
      monitors: buildMonitors(env.monitors, path, ctx.sourceText),
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

  const step = (path: KeyPath, phaseId: string, s: StepInput): StepSpec => {
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
    if ('checklist' in s) {
      const { item, role, auto } = s.checklist;
      return {
        ...base,
        kind: 'checklist',
        item,
        ...(role === undefined ? {} : { role }),
        ...(auto === undefined ? {} : { auto: autoRef(phaseId, auto) }),
      };
    }
    if ('approval' in s) {
      const { roles, require = DEFAULTS.approvalRequire, expires } = s.approval;
      return {
        ...base,
        kind: 'approval',
        roles,
        rule: typeof require === 'number' ? { mode: 'count', count: require } : { mode: require },
        ...(expires === undefined ? {} : { expiresMs: durationMs(expires) }),
      };
    }
    if ('release' in s) return { ...base, kind: 'release', keep: s.release?.keep ?? DEFAULTS.releaseKeep };
    if ('config' in s)
      return {
        ...base,
        kind: 'config',
        files: s.config.map((f) => ({ template: f.template, dest: f.dest })),
      };
    if ('restart' in s) return { ...base, kind: 'restart', mode: s.restart?.mode ?? DEFAULTS.restartMode };
    if ('smoke' in s) {
      const checks = s.smoke.map(
        (c, i): SmokeCheckSpec =>
          'http' in c
            ? { id: c.id, kind: 'http', http: http([...path, 'smoke', i, 'http'], c.http) }
            : { id: c.id, kind: 'run', run: run([...path, 'smoke', i], c) },
      );
      return { ...base, kind: 'smoke', checks };
    }
    if ('junit' in s) {
      const j = s.junit;
      return {
        ...base,
        kind: 'junit',
        path: j.path,
        minTests: j.minTests ?? DEFAULTS.junitMinTests,
        maxFailures: j.maxFailures ?? DEFAULTS.junitMaxFailures,
        ...(j.maxSkipped === undefined ? {} : { maxSkipped: j.maxSkipped }),
      };
    }
    if ('sarif' in s) {
      const { path: file, max = DEFAULTS.sarifMax, allow } = s.sarif;
      return { ...base, kind: 'sarif', path: file, max: limits(max), allow: allowEntries(allow) };
    }
    if ('npm-audit' in s) {
      const { path: file, max = DEFAULTS.npmAuditMax, allow } = s['npm-audit'];
      return { ...base, kind: 'npm-audit', path: file, max: limits(max), allow: allowEntries(allow) };
    }
    if ('benchmark' in s) {
      const b = s.benchmark;
      return {
        ...base,
        kind: 'benchmark',
        path: b.path,
        better: b.better ?? DEFAULTS.benchmarkBetter,
        threshold: fraction(b.threshold ?? DEFAULTS.benchmarkThreshold),
      };
    }
    if ('coverage' in s) {
      const c = s.coverage;
      return {
        ...base,
        kind: 'coverage',
        path: c.path,
        minLines: c.minLines,
        ...(c.minBranches === undefined ? {} : { minBranches: c.minBranches }),
      };
    }
    if ('backup' in s) {
      const items = s.backup.items.map(
        (item): BackupItemSpec =>
          'files' in item
            ? { kind: 'files', path: item.files, optional: item.optional ?? false }
            : 'sqlite' in item
              ? { kind: 'sqlite', path: item.sqlite, optional: item.optional ?? false }
              : {
                  kind: 'postgres',
                  url: item.postgres.url,
                  ...(item.postgres.password === undefined ? {} : { password: item.postgres.password }),
                },
      );
      return { ...base, kind: 'backup', items };
    }
    if ('verify-backup' in s) {
      const maxAge = s['verify-backup']?.maxAge;
      return {
        ...base,
        kind: 'verify-backup',
        ...(maxAge === undefined ? {} : { maxAgeMs: durationMs(maxAge) }),
      };
    }
    if ('baseline' in s) {
      const b = s.baseline;
      const duration = durationMs(b?.duration ?? DEFAULTS.baselineDuration);
      return {
        ...base,
        // A measurement takes its duration: the default timeout is on top of it.
        timeoutMs: attempt.timeout === undefined ? duration + DEFAULT_TIMEOUT_MS.baseline : base.timeoutMs,
        kind: 'baseline',
        durationMs: duration,
        everyMs: durationMs(b?.every ?? DEFAULTS.baselineEvery),
        monitors: b?.monitors ?? [],
      };
    }
    if ('bake' in s) {
      const b = s.bake;
      const duration = durationMs(b?.duration ?? DEFAULTS.bakeDuration);
      return {
        ...base,
        timeoutMs: attempt.timeout === undefined ? duration + DEFAULT_TIMEOUT_MS.bake : base.timeoutMs,
        kind: 'bake',
        durationMs: duration,
        intervalMs: durationMs(b?.interval ?? DEFAULTS.bakeInterval),
        samplesPerInterval: b?.samples ?? DEFAULTS.bakeSamples,
        failureLimit: b?.failureLimit ?? DEFAULTS.bakeFailureLimit,
        window: b?.window ?? DEFAULTS.bakeWindow,
        criticalFailures: b?.criticalFailures ?? DEFAULTS.bakeCriticalFailures,
        monitors: b?.monitors ?? [],
      };
    }
    if ('migrate' in s) {
      const m = s.migrate;
      return {
        ...base,
        kind: 'migrate',
        database: databaseSpec(m.database),
        dir: m.dir ?? DEFAULTS.migrateDir,
        lockTimeoutMs: durationMs(m.lockTimeout ?? DEFAULTS.migrateLockTimeout),
      };
    }
    if ('integrity' in s) {
      if ('capture' in s.integrity) {
        const { database, checks } = s.integrity.capture;
        return { ...base, kind: 'integrity', mode: 'capture', ...integrityChecks(database, checks) };
      }
      // verify measures exactly what its capture step measured: copy it (the cross-checks made sure it exists).
      const capture = autoRef(phaseId, s.integrity.verify);
      const source = input.phases
        .find((p) => p.id === capture.phase)
        ?.steps.find((c) => c.id === capture.step);
      if (!source || !('integrity' in source) || !('capture' in source.integrity)) {
        throw new Error(`integrity verify: no capture step ${capture.phase}.${capture.step}`);
      }
      const { database, checks } = source.integrity.capture;
      return { ...base, kind: 'integrity', mode: 'verify', ...integrityChecks(database, checks), capture };
    }
    const l = s.load;
    return {
      ...base,
      kind: 'load',
      url: l.url,
      method: l.method ?? DEFAULTS.httpMethod,
      headers: strings([...path, 'load', 'headers'], l.headers),
      ...(l.body === undefined ? {} : { body: l.body }),
      rate: l.rate,
      durationMs: durationMs(l.duration),
      connections: l.connections ?? DEFAULTS.loadConnections,
      ...(l.maxP95 === undefined ? {} : { maxP95Ms: durationMs(l.maxP95) }),
      ...(l.maxP99 === undefined ? {} : { maxP99Ms: durationMs(l.maxP99) }),
      maxErrorRate: fraction(l.maxErrorRate ?? DEFAULTS.loadMaxErrorRate),
      regression: fraction(l.regression ?? DEFAULTS.loadRegression),
    };
  };

  const phases = input.phases.map(
    (p, i): PhaseSpec => ({
      id: p.id,
      name: p.name ?? p.id,
      ...(p.environments === undefined ? {} : { environments: p.environments }),
      windowed: isWindowed(p),
      ...(p.expectedDuration === undefined ? {} : { expectedDurationMs: durationMs(p.expectedDuration) }),
      ...(p.requireVerifiedBackup === undefined
        ? {}
        : { requireVerifiedBackupMs: durationMs(p.requireVerifiedBackup) }),
      steps: p.steps.map((s, j) => step(['phases', i, 'steps', j], p.id, s)),
    }),
  );

  return {
    file: ctx.file,
    baseDir,
    source: ctx.source,
    sourceHash: createHash('sha256').update(ctx.source).digest('hex'),
    includes: ctx.includes ?? [],
    version: 1,
    app: input.app,
    roles: input.roles ?? {},
    identities: input.identities ?? {},
    policy: {
      starterCannotApprove: input.policy?.starterCannotApprove ?? DEFAULTS.starterCannotApprove,
      onePersonOneRole: input.policy?.onePersonOneRole ?? DEFAULTS.onePersonOneRole,
    },
    artifact: {
      path: input.artifact.path,
      ...(input.artifact.sha256File === undefined ? {} : { sha256File: input.artifact.sha256File }),
    },
    environments,
    phases,
  };
}

type DatabaseInput = Extract<StepInput, { migrate: unknown }>['migrate']['database'];
type IntegrityCaptureInput = Extract<
  Extract<StepInput, { integrity: unknown }>['integrity'],
  { capture: unknown }
>['capture'];

function databaseSpec(db: DatabaseInput): DatabaseSpec {
  if ('sqlite' in db) return { kind: 'sqlite', path: db.sqlite };
  const { url, password } = db.postgres;
  return { kind: 'postgres', url, ...(password === undefined ? {} : { password }) };
}

function integrityChecks(
  database: DatabaseInput,
  checks: IntegrityCaptureInput['checks'],
): { database: DatabaseSpec; checks: IntegrityCheckSpec[] } {
  return {
    database: databaseSpec(database),
    checks: checks.map(
      (c): IntegrityCheckSpec => ({
        id: c.id,
        query: c.query,
        expect:
          typeof c.expect === 'string'
            ? { kind: c.expect }
            : {
                kind: 'range',
                ...(c.expect.min === undefined ? {} : { min: c.expect.min }),
                ...(c.expect.max === undefined ? {} : { max: c.expect.max }),
              },
      }),
    ),
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

/** `auto: step` names a step of the item's own phase; `auto: phase.step` one of an earlier phase. */
function autoRef(phaseId: string, ref: string): { phase: string; step: string } {
  const dot = ref.indexOf('.');
  return dot === -1 ? { phase: phaseId, step: ref } : { phase: ref.slice(0, dot), step: ref.slice(dot + 1) };
}

/** Limits as written, without the keys YAML left undefined. */
function limits<K extends string>(
  max: Readonly<Partial<Record<K, number | undefined>>>,
): Partial<Record<K, number>> {
  return Object.fromEntries(Object.entries(max).filter(([, n]) => n !== undefined)) as Partial<
    Record<K, number>
  >;
}

type AllowInput = readonly { id: string; until: string; reason: string }[] | undefined;

/** `until` is the last day the exception holds: it lapses at the start of the next day, UTC. */
function allowEntries(allow: AllowInput): AllowEntry[] {
  return (allow ?? []).map((a) => ({
    id: a.id,
    untilMs: (utcDateMs(a.until) as number) + DAY_MS,
    reason: a.reason,
  }));
}

const DAY_MS = 86_400_000;
