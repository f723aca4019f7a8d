/**
 * Engine overhead: 500 no-op `run` steps through the real Engine, SqliteStore and LocalTarget, in process,
 * against the same 500 process spawns from a shell loop and from plain Node.
 */

import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { loadProcess } from '../src/config/load-process.js';
import { Engine } from '../src/engine/engine.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { median, timeProcess, withTempDir } from './bench-util.js';

export const STEPS = 500;

export interface EngineRep {
  /** engine.run() from call to return: every step, event and the runner's own start and end. */
  readonly engineTotalMs: number;
  /** Median time from one step.started to the next: the whole cost of one step as the engine runs it. */
  readonly enginePerStepMs: number;
  /** Median step.started → step.succeeded: spawning, waiting for and recording the command. */
  readonly engineInStepMs: number;
  /** Median step.succeeded → next step.started: deciding and recording between steps. */
  readonly engineBetweenStepsMs: number;
  readonly shellLoopTotalMs: number;
  readonly nodeSpawnTotalMs: number;
  /** Median of one awaited spawn of `true` with the engine's stdio (pipes) and its own process group. */
  readonly nodeSpawnPerStepMs: number;
}

function processYaml(): string {
  const steps = Array.from(
    { length: STEPS },
    (_, i) => `      - id: s${i + 1}\n        run: ['true']\n`,
  ).join('');
  return `version: 1
app: bench
artifact:
  path: artifacts/app-{{ release }}.tar.gz
environments:
  prod:
    target: { type: local, root: target }
phases:
  - id: noop
    steps:
${steps}`;
}

/** One spawn of `true` set up as the engine's local exec does it (pipes, own process group), awaited to close. */
function spawnTrue(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('true', [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.once('error', reject);
    child.once('close', () => resolve(performance.now() - started));
  });
}

async function nodeSpawns(): Promise<{ totalMs: number; perStepMs: number }> {
  const each: number[] = [];
  const started = performance.now();
  for (let i = 0; i < STEPS; i++) each.push(await spawnTrue());
  return { totalMs: performance.now() - started, perStepMs: median(each) };
}

async function shellLoop(): Promise<number> {
  // `true` is a shell builtin; /bin/true spawns a process per iteration, as the engine does.
  const run = await timeProcess('sh', ['-c', `for i in $(seq ${STEPS}); do /bin/true; done`]);
  if (run.code !== 0) throw new Error(`shell loop failed: ${run.stderr}`);
  return run.ms;
}

/** Runs the repetitions interleaved (engine, shell loop, Node spawns), so that machine noise hits all three alike. */
export async function benchEngine(reps: number): Promise<EngineRep[]> {
  return withTempDir('slipway-bench-engine-', async (dir) => {
    const file = path.join(dir, 'slipway.yaml');
    await writeFile(file, processYaml());
    const store = await openSqliteStore(path.join(dir, '.slipway', 'slipway.db'));
    const compiled = await loadProcess(file);
    // Warm up the spawn path and the JIT a little so the first repetition is not all start-up.
    for (let i = 0; i < 20; i++) await spawnTrue();
    const results: EngineRep[] = [];
    try {
      for (let rep = 1; rep <= reps; rep++) {
        const release = `r${rep}`;
        const src = path.join(dir, 'src');
        await mkdir(src, { recursive: true });
        await writeFile(path.join(src, 'VERSION'), release);
        await mkdir(path.join(dir, 'artifacts'), { recursive: true });
        await tar.create(
          { gzip: true, file: path.join(dir, 'artifacts', `app-${release}.tar.gz`), cwd: src },
          ['.'],
        );

        const startedAt: number[] = [];
        const succeededAt: number[] = [];
        const engine = new Engine({
          store,
          hooks: {
            onEvent(e) {
              if (e.type === 'step.started') startedAt.push(performance.now());
              else if (e.type === 'step.succeeded') succeededAt.push(performance.now());
            },
          },
        });
        const { deployment } = await startDeployment(store, {
          process: compiled,
          environment: 'prod',
          release,
          actor: { user: 'bench', via: 'env' },
        });
        const t0 = performance.now();
        const view = await engine.run(deployment.id);
        const engineTotalMs = performance.now() - t0;
        if (view.state !== 'succeeded' || startedAt.length !== STEPS || succeededAt.length !== STEPS) {
          throw new Error(`bench deployment ended ${view.state} after ${succeededAt.length} steps`);
        }
        const perStep = startedAt.slice(1).map((t, i) => t - startedAt[i]!);
        const inStep = succeededAt.map((t, i) => t - startedAt[i]!);
        const between = startedAt.slice(1).map((t, i) => t - succeededAt[i]!);

        const shellLoopTotalMs = await shellLoop();
        const spawns = await nodeSpawns();
        results.push({
          engineTotalMs,
          enginePerStepMs: median(perStep),
          engineInStepMs: median(inStep),
          engineBetweenStepsMs: median(between),
          shellLoopTotalMs,
          nodeSpawnTotalMs: spawns.totalMs,
          nodeSpawnPerStepMs: spawns.perStepMs,
        });
      }
    } finally {
      await store.close();
    }
    return results;
  });
}
