/** The foundation's benchmarks: engine overhead per step, and `history --json` over many deployments. */

import { median, round } from '../bench-util.js';
import { benchEngine, STEPS } from '../engine-overhead.js';
import { benchHistory, DEPLOYMENTS } from '../history.js';
import type { BenchSection } from '../section.js';

const ENGINE_REPS = 3;
const HISTORY_RUNS = 5;
/** Target from the issue: engine overhead per step on this 2-core machine. */
const MAX_OVERHEAD_PER_STEP_MS = 3;
/** Target from the issue: `history --json` over 10,000 deployments, process start included. */
const MAX_HISTORY_MS = 300;

const ms = (v: number) => `${round(v, v < 10 ? 2 : 0)} ms`;
const ratio = (a: number, b: number) => `${round(a / b, 2)}×`;

export const engineSection: BenchSection = {
  name: 'engine',
  title: `engine overhead: ${STEPS} no-op steps × ${ENGINE_REPS} repetitions`,
  async run() {
    const reps = await benchEngine(ENGINE_REPS);
    const m = (pick: (r: (typeof reps)[number]) => number) => median(reps.map(pick));
    const engine = {
      steps: STEPS,
      repetitions: ENGINE_REPS,
      engineTotalMs: m((r) => r.engineTotalMs),
      shellLoopTotalMs: m((r) => r.shellLoopTotalMs),
      nodeSpawnTotalMs: m((r) => r.nodeSpawnTotalMs),
      enginePerStepMs: m((r) => r.enginePerStepMs),
      engineInStepMs: m((r) => r.engineInStepMs),
      engineBetweenStepsMs: m((r) => r.engineBetweenStepsMs),
      nodeSpawnPerStepMs: m((r) => r.nodeSpawnPerStepMs),
      overheadPerStepMs: m((r) => r.enginePerStepMs - r.nodeSpawnPerStepMs),
      maxOverheadPerStepMs: MAX_OVERHEAD_PER_STEP_MS,
      reps,
    };
    const ok = engine.overheadPerStepMs <= MAX_OVERHEAD_PER_STEP_MS;
    return {
      rows: [
        `| ${STEPS} no-op steps, total (Engine+SqliteStore+LocalTarget, in process) | ${ms(engine.engineTotalMs)} | shell loop of /bin/true ${ms(engine.shellLoopTotalMs)}; Node spawn ${ms(engine.nodeSpawnTotalMs)} | ${ratio(engine.engineTotalMs, engine.shellLoopTotalMs)} shell loop, ${ratio(engine.engineTotalMs, engine.nodeSpawnTotalMs)} Node spawn | — |`,
        `| one step (median step.started → next step.started) | ${ms(engine.enginePerStepMs)} | one awaited Node spawn ${ms(engine.nodeSpawnPerStepMs)}; shell loop ${ms(engine.shellLoopTotalMs / STEPS)} | ${ratio(engine.enginePerStepMs, engine.nodeSpawnPerStepMs)} Node spawn | — |`,
        `| engine overhead per step (engine step − Node spawn, median of ${ENGINE_REPS}) | ${ms(engine.overheadPerStepMs)} | — | ≤ ${MAX_OVERHEAD_PER_STEP_MS} ms | ${ok ? 'yes' : 'NO'} |`,
        `| … of which in the step (started → succeeded) / between steps (succeeded → next started) | ${ms(engine.engineInStepMs)} / ${ms(engine.engineBetweenStepsMs)} | — | — | — |`,
      ],
      json: engine,
      pass: { engineOverhead: ok },
    };
  },
};

export const historySection: BenchSection = {
  name: 'history',
  title: `history: ${DEPLOYMENTS} deployments, ${HISTORY_RUNS} runs`,
  async run() {
    const h = await benchHistory(HISTORY_RUNS);
    const history = {
      deployments: DEPLOYMENTS,
      rows: h.rows,
      outputBytes: h.outputBytes,
      fillMs: h.fillMs,
      historyMedianMs: median(h.historyMs),
      historyMaxMs: Math.max(...h.historyMs),
      nodeStartMedianMs: median(h.nodeStartMs),
      cliStartMedianMs: median(h.cliStartMs),
      maxHistoryMs: MAX_HISTORY_MS,
      historyMs: h.historyMs,
      nodeStartMs: h.nodeStartMs,
      cliStartMs: h.cliStartMs,
    };
    const ok = history.historyMaxMs < MAX_HISTORY_MS && history.rows === DEPLOYMENTS;
    return {
      rows: [
        `| \`history --json\`, ${DEPLOYMENTS} deployments, median of ${HISTORY_RUNS} | ${ms(history.historyMedianMs)} | \`node -e 0\` ${ms(history.nodeStartMedianMs)} | ${ratio(history.historyMedianMs, history.nodeStartMedianMs)} Node start; < ${MAX_HISTORY_MS} ms | ${history.historyMedianMs < MAX_HISTORY_MS ? 'yes' : 'NO'} |`,
        `| … of which CLI start-up (\`slipway --version\`, median) | ${ms(history.cliStartMedianMs)} | \`node -e 0\` ${ms(history.nodeStartMedianMs)} | listing itself ≈ ${ms(history.historyMedianMs - history.cliStartMedianMs)} | — |`,
        `| \`history --json\`, max of ${HISTORY_RUNS} (${history.rows} rows, ${round(history.outputBytes / 1e6, 1)} MB) | ${ms(history.historyMaxMs)} | — | < ${MAX_HISTORY_MS} ms, ${DEPLOYMENTS} rows | ${ok ? 'yes' : 'NO'} |`,
      ],
      json: history,
      pass: { history: ok },
    };
  },
};
