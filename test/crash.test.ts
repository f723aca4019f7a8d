/**
 * Crash test: the built CLI deploys a demo-like process and is killed with SIGKILL at every step boundary and in
 * the middle of every step, then resumed (`slipway resume`, or `slipway deploy` again). Each run must end
 * succeeded or rolled back (or failed with the target untouched, when a non-idempotent step before the switch was
 * cut short), with a consistent, verifiable log, and no non-idempotent command may ever have started twice.
 *
 * How each kill point is hit — by observation only, nothing in src/ knows it is being tested:
 * - "boundary": a SQLite trigger installed in the test's own store copy holds the insert of the event after X
 *   (busy work inside the writer's transaction, ~2 s); the test polls the store read-only every 5 ms, sees X
 *   committed and kills. The log then ends exactly at X. Checked after the kill, not assumed.
 * - "marker": the step's command appends a line to its marker file and then sleeps 0.3 s; the test polls for the
 *   line and kills while the command runs. The log ends at that step's step.started.
 * - "file + held output": built-in steps (release, config) have no command of their own; the test waits for
 *   their work to appear on disk while a trigger holds the step's output event (written at its end), so the
 *   kill lands after the work and before the verdict — the most dangerous moment of an idempotent step.
 * Commands run in their own process group, so they outlive the killed runner. The test resumes at once,
 * while they still run: the resume must stop them (recorded process groups) before it decides anything,
 * and afterwards none may still be running.
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import {
  type CrashWorkspace,
  copyWorkspace,
  createWorkspace,
  currentRelease,
  exited,
  markerCount,
  orphanPids,
  removeWorkspace,
  requireBuiltCli,
  runCli,
  runningVersion,
  STEPS,
  startCli,
} from './crash/crash-workspace.js';
import { logProblems, tail } from './crash/log-check.js';
import {
  describeMatch,
  type EventMatch,
  installHold,
  type LoggedEvent,
  matches,
  removeHold,
  StoreWatch,
} from './crash/store-watch.js';

type Final = 'succeeded' | 'rolled-back' | 'failed';

interface KillPoint {
  readonly name: string;
  readonly release: 'v2' | 'v3';
  /** How the kill point is reached (see the file comment). */
  readonly how: 'boundary' | 'marker' | 'file + held output';
  readonly hold?: { readonly after?: EventMatch; readonly insertOf?: EventMatch };
  readonly waitEvent?: EventMatch;
  readonly waitMarker?: { readonly release: string; readonly name: string; readonly count: number };
  readonly waitFile?: string;
  /** The last event (not counting output) the log must end with at the kill: proves the point was hit. */
  readonly lastAtKill: EventMatch;
  readonly currentAtKill?: string;
  readonly final: Final;
  readonly resumeWith: 'resume' | 'deploy';
}

const EXIT_FOR: Record<Final, number> = { succeeded: 0, failed: 1, 'rolled-back': 4 };
const KILL_WAIT_MS = 20_000;

const boundaries: KillPoint[] = [
  {
    name: 'after deployment.created',
    release: 'v2',
    how: 'boundary',
    hold: { after: { type: 'deployment.created' } },
    waitEvent: { type: 'deployment.created' },
    lastAtKill: { type: 'deployment.created' },
    final: 'succeeded',
    resumeWith: 'deploy',
  },
  ...STEPS.map(
    (s, i): KillPoint => ({
      name: `after step.succeeded(${s.id})`,
      release: 'v2',
      how: 'boundary',
      hold: { after: { type: 'step.succeeded', step: s.id } },
      waitEvent: { type: 'step.succeeded', step: s.id },
      lastAtKill: { type: 'step.succeeded', step: s.id },
      final: 'succeeded',
      resumeWith: i % 2 === 0 ? 'resume' : 'deploy',
    }),
  ),
];

/** What resuming must end in: a cut-short idempotent step is re-run; a non-idempotent one fails the deployment. */
const midSteps: KillPoint[] = [
  mid('prepare', 'succeeded', 'deploy'),
  mid('announce', 'failed', 'resume'),
  {
    name: 'during ship (installed, verdict not recorded)',
    release: 'v2',
    how: 'file + held output',
    hold: { insertOf: { type: 'step.output', step: 'ship' } },
    waitEvent: { type: 'step.started', step: 'ship' },
    waitFile: 'target/releases/v2-d2/.slipway-release',
    lastAtKill: { type: 'step.started', step: 'ship' },
    currentAtKill: 'v1-d1',
    final: 'succeeded',
    resumeWith: 'deploy',
  },
  {
    name: 'during configure (file written, verdict not recorded)',
    release: 'v2',
    how: 'file + held output',
    hold: { insertOf: { type: 'step.output', step: 'configure' } },
    waitEvent: { type: 'step.started', step: 'configure' },
    waitFile: 'target/releases/v2-d2/config/app.conf',
    lastAtKill: { type: 'step.started', step: 'configure' },
    final: 'succeeded',
    resumeWith: 'resume',
  },
  // migrate runs on the target but before the switch: cut short, it fails the deployment; v1 stays live.
  mid('migrate', 'failed', 'deploy'),
  {
    ...mid('restart', 'succeeded', 'resume', 'svc-stop'),
    name: 'during restart, in service.stop (current still v1)',
    currentAtKill: 'v1-d1',
  },
  {
    ...mid('restart', 'succeeded', 'deploy', 'svc-start'),
    name: 'during restart, in service.start (current already v2)',
    currentAtKill: 'v2-d2',
  },
  mid('smoke', 'succeeded', 'resume'),
  // record is not idempotent and comes after the restart: cut short, the deployment rolls back to v1.
  mid('record', 'rolled-back', 'deploy'),
];

function mid(step: string, final: Final, resumeWith: 'resume' | 'deploy', marker = step): KillPoint {
  return {
    name: `during ${step}`,
    release: 'v2',
    how: 'marker',
    waitMarker: { release: 'v2', name: marker, count: 1 },
    lastAtKill: { type: 'step.started', step },
    final,
    resumeWith,
  };
}

/** v3 fails its smoke check, so it rolls back to v1; the rollback itself is cut short. */
const duringRollback: KillPoint[] = [
  {
    // Rollback actions are recorded when they end, so no event separates rollback.started from the first one.
    name: 'v3 rollback: after rollback.started, during service.stop of v3',
    release: 'v3',
    how: 'marker',
    waitEvent: { type: 'rollback.started' },
    // The rollback's commands see the release rolled back to (v1), so its stop counts as v1-svc-stop.
    waitMarker: { release: 'v1', name: 'svc-stop', count: 1 },
    lastAtKill: { type: 'rollback.started' },
    final: 'rolled-back',
    resumeWith: 'resume',
  },
  {
    name: 'v3 rollback: during service.start of v1 (after the switch back)',
    release: 'v3',
    how: 'marker',
    // v1's own deployment started the service once; the rollback's start is the second line.
    waitMarker: { release: 'v1', name: 'svc-start', count: 2 },
    lastAtKill: { type: 'rollback.step', action: 'switch' },
    currentAtKill: 'v1-d1',
    final: 'rolled-back',
    resumeWith: 'deploy',
  },
];

interface Row {
  readonly point: string;
  readonly how: string;
  readonly lastAtKill: string;
  readonly resumedBy: string;
  readonly final: string;
  readonly orphans: number;
  readonly nonIdempotentRuns: string;
}

const rows: Row[] = [];
let base: CrashWorkspace;
const started = Date.now();

beforeAll(async () => {
  requireBuiltCli();
  base = await createWorkspace();
  // A previous good release to roll back to.
  const v1 = await runCli(base, ['deploy', 'prod', '--release', 'v1', '--json']);
  if (v1.code !== 0) throw new Error(`deploying v1 failed (exit ${v1.code}):\n${v1.stderr}`);
});

afterAll(async () => {
  if (base) await removeWorkspace(base);
  if (rows.length === 0) return;
  const lines = rows
    .map(
      (r) =>
        `| ${r.point} | ${r.how} | ${r.lastAtKill} | ${r.resumedBy} | ${r.final} | ${r.orphans} | ${r.nonIdempotentRuns} |`,
    )
    .join('\n');
  console.log(
    `crash test: ${rows.length} kill points in ${((Date.now() - started) / 1000).toFixed(1)}s\n` +
      '| kill point | hit by | log ended at | resumed by | final | orphans | non-idempotent runs |\n|---|---|---|---|---|---|---|\n' +
      lines,
  );
});

const RESUMER_TEST =
  'the resumer itself, right after it took over from a runner killed during announce [boundary]: announce never runs twice';

// The resumer is killed once its own runner event is stored, with the append that records the interrupted
// announce held inside its transaction: the log ends at that runner event either way, and the next resume
// must still see announce as cut short and not idempotent.
const RESUMER_KILL: KillPoint = {
  name: 'the resumer, after it took over',
  release: 'v2',
  how: 'boundary',
  hold: { insertOf: { type: 'step.interrupted', step: 'announce' } },
  waitEvent: { type: 'deployment.runner', nth: 2 },
  lastAtKill: { type: 'deployment.runner' },
  final: 'failed',
  resumeWith: 'resume',
};

/** Problems with the resumer kill point ('' when it was hit), or undefined when that test did not get there. */
let resumerKill: string | undefined;

describe('crash: SIGKILL at every step boundary and in the middle of every step, then resume', () => {
  for (const kp of [...boundaries, ...midSteps, ...duringRollback]) {
    it.concurrent(`${kp.name} [${kp.how}]`, async ({ expect }) => {
      const ws = await copyWorkspace(base);
      const watch = new StoreWatch(ws.store);
      try {
        const kill = await runAndKill(ws, watch, ['deploy', 'prod', '--release', kp.release, '--json'], kp);
        expect(kill.problem, kill.problem).toBeUndefined();
        if (kp.currentAtKill) expect(await currentRelease(ws), 'current at the kill').toBe(kp.currentAtKill);
        const row = await resumeAndCheck(ws, watch, kp, kill, expect);
        rows.push(row);
      } finally {
        watch.close();
        await removeWorkspace(ws);
      }
    });
  }

  // The resume itself is killed (see RESUMER_KILL). A resumer that recorded "interrupted" and "failed" in two
  // appends once let a kill between them turn into a second run of the non-idempotent step.
  it.concurrent(RESUMER_TEST, async ({ expect }) => {
    const ws = await copyWorkspace(base);
    const watch = new StoreWatch(ws.store);
    try {
      const deploy = ['deploy', 'prod', '--release', 'v2', '--json'];
      const first = await runAndKill(ws, watch, deploy, midSteps[1]!);
      const second = await runAndKill(ws, watch, ['resume', '--json'], RESUMER_KILL);
      resumerKill = [first.problem, second.problem].filter((p) => p !== undefined).join('\n');
      rows.push(await resumeAndCheck(ws, watch, RESUMER_KILL, second, expect));
    } finally {
      watch.close();
      await removeWorkspace(ws);
    }
  });

  it('the resumer kill above landed where it was meant to', ({ expect }) => {
    expect(resumerKill, resumerKill).toBe('');
  });
});

interface Kill {
  readonly deploymentId: number;
  readonly atKill: readonly LoggedEvent[];
  /** The last event at the kill, not counting output. */
  readonly last: LoggedEvent | undefined;
  readonly orphans: number;
  /** Set when the kill did not land where the point says. */
  readonly problem?: string;
}

/** Runs `slipway <args>` and SIGKILLs it at `kp`; then waits for its orphaned commands and removes the hold. */
async function runAndKill(
  ws: CrashWorkspace,
  watch: StoreWatch,
  args: readonly string[],
  kp: KillPoint,
): Promise<Kill> {
  if (kp.hold) installHold(ws.store, kp.hold);
  const child = startCli(ws, args);
  const exit = exited(child);
  let gone: string | undefined;
  void exit.then((x) => {
    gone = `slipway ${args[0]} ended before the kill point (exit ${x.code}, signal ${x.signal}):\n${x.stderr.slice(-2000)}`;
  });
  const deadline = Date.now() + KILL_WAIT_MS;
  const stop = () => gone ?? (Date.now() > deadline ? `no kill point after ${KILL_WAIT_MS}ms` : undefined);
  try {
    const { deploymentId } = await watch.waitFor(
      kp.release,
      kp.waitEvent ?? { type: 'deployment.created' },
      stop,
    );
    if (kp.waitMarker) {
      const { release, name, count } = kp.waitMarker;
      await until(
        async () => (await markerCount(ws, release, name)) >= count,
        stop,
        `marker ${release}-${name}`,
      );
    }
    if (kp.waitFile) {
      const file = path.join(ws.dir, kp.waitFile);
      await until(async () => existsSync(file), stop, kp.waitFile);
    }
    child.kill('SIGKILL');
    const killed = await exit;
    // Left running on purpose: the resume must stop them itself before it decides anything.
    const orphans = (await orphanPids(ws)).length;
    if (kp.hold) removeHold(ws.store);
    const atKill = watch.events(deploymentId);
    // Output and process records are what a running step writes; the point is about step and runner events.
    const last = atKill.filter((e) => e.type !== 'step.output' && e.type !== 'step.process').at(-1);
    const problem =
      killed.signal !== 'SIGKILL'
        ? `slipway was not killed (exit ${killed.code})`
        : last === undefined || !matches(last, kp.lastAtKill)
          ? `the kill missed: expected the log to end at ${describeMatch(kp.lastAtKill)}, it ends:\n${tail(atKill)}`
          : undefined;
    return { deploymentId, atKill, last, orphans, ...(problem ? { problem } : {}) };
  } catch (e) {
    child.kill('SIGKILL');
    await exit;
    throw e;
  }
}

/** Resumes the killed deployment as `kp` says and checks the outcome, the log, the markers and what is live. */
async function resumeAndCheck(
  ws: CrashWorkspace,
  watch: StoreWatch,
  kp: KillPoint,
  kill: Kill,
  expect: ExpectStatic,
): Promise<Row> {
  const { deploymentId, atKill, last } = kill;
  const resumeArgs =
    kp.resumeWith === 'resume' ? ['resume', '--json'] : ['deploy', 'prod', '--release', kp.release, '--json'];
  const resumed = await runCli(ws, resumeArgs);
  const events = watch.events(deploymentId);
  const state = watch.state(deploymentId);
  const context = `after a kill ${kp.name}, resumed by "${resumeArgs[0]}" (exit ${resumed.code}):\n${tail(events, 14)}\n${resumed.stderr.slice(-1500)}`;

  // 1. Ends as expected, and the exit code, the projection and the last event agree.
  expect(state, context).toBe(kp.final);
  expect(resumed.code, context).toBe(EXIT_FOR[kp.final]);
  expect(events.at(-1)?.type, context).toBe(`deployment.${kp.final}`);

  // 2. The log is consistent, verifiable, and nobody holds the deployment any more.
  expect(logProblems(events, STEPS), context).toEqual([]);
  const runners = (log: readonly LoggedEvent[]) => log.filter((e) => e.type === 'deployment.runner').length;
  expect(runners(events), `one more runner than at the kill\n${context}`).toBe(runners(atKill) + 1);
  expect(watch.leases(), 'no lease is left behind').toBe(0);
  expect(await orphanPids(ws), "the killed runner's commands were stopped, none still runs").toEqual([]);
  const audit = await runCli(ws, ['audit', 'verify', '--json']);
  expect(audit.code, `audit verify: ${audit.stdout}${audit.stderr}`).toBe(0);

  // 3. No non-idempotent command ever started twice; one that succeeded started exactly once.
  const runs: string[] = [];
  for (const step of STEPS.filter((s) => !s.idempotent)) {
    // Each non-idempotent step's command writes the marker named after the step.
    const count = await markerCount(ws, kp.release, step.id);
    runs.push(`${step.id}=${count}`);
    expect(count, `${kp.release}-${step.id} started ${count} times\n${context}`).toBeLessThanOrEqual(1);
    if (events.some((e) => e.type === 'step.succeeded' && e.payload.step === step.id)) {
      expect(count, `${step.id} succeeded, so it started exactly once`).toBe(1);
    }
  }

  // 4. What is live matches the outcome: the new release, or v1 again (rolled back, or never left).
  const live =
    kp.final === 'succeeded'
      ? { dir: `${kp.release}-d${deploymentId}`, version: kp.release }
      : { dir: 'v1-d1', version: 'v1' };
  expect(await currentRelease(ws), `current ${context}`).toBe(live.dir);
  expect(await runningVersion(ws), `running ${context}`).toBe(live.version);
  if (kp.final === 'failed') {
    expect(events.at(-1)?.payload.reason, 'a failure that leaves v1 live says so').toContain(
      'the live release was not changed',
    );
  }
  const step = last?.payload?.step ?? last?.payload?.action;
  return {
    point: kp.name,
    how: kp.how,
    lastAtKill: `${last?.seq} ${last?.type}${step ? `(${step})` : ''}`,
    resumedBy: resumeArgs[0] ?? '',
    final: kp.final,
    orphans: kill.orphans,
    nonIdempotentRuns: runs.join(' '),
  };
}

async function until(
  check: () => Promise<boolean>,
  stop: () => string | undefined,
  what: string,
): Promise<void> {
  for (;;) {
    if (await check()) return;
    const why = stop();
    if (why !== undefined) throw new Error(`gave up waiting for ${what}: ${why}`);
    await sleep(5);
  }
}
