/** `slipway demo`: the seed's whole process on the bundled notes service — v1, v2 (config + schema change), slow v3 rolled back. */

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { compileProcess } from '../config/load-process.js';
import { formatChange, formatNumber } from '../core/analysis.js';
import { type DeploymentView, openGate } from '../core/deployment-view.js';
import { formatDuration } from '../core/duration.js';
import { SlipwayError } from '../core/errors.js';
import type { Actor } from '../core/events.js';
import type { Store } from '../core/ports.js';
import type { Process } from '../core/process.js';
import { Engine } from '../engine/engine.js';
import { decide } from '../engine/gates.js';
import type { EngineHooks } from '../engine/run-context.js';
import { startDeployment } from '../engine/start-deployment.js';
import { execLocal } from '../targets/local-exec.js';
import { sha256File } from '../targets/safe-archive.js';
import { type DemoPrometheus, findPrometheus, startDemoPrometheus } from './demo-prometheus.js';
import { startTraffic } from './demo-traffic.js';
import { freePort } from './free-port.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/notes/', import.meta.url));
const MARKER = '.slipway-demo';
const RELEASES = ['v1', 'v2', 'v3'] as const;
const STARTER: Actor = { user: 'dev', via: 'demo' };
/** How long the demo's freeze holds production v1: long enough to see, short enough for a one-minute demo. */
const FREEZE_MS = 4000;

export interface DemoOptions {
  /** Folder to build the demo in; replaced if it holds an earlier demo. */
  readonly dir: string;
  readonly openStore: (file: string) => Promise<Store>;
  readonly hooks: EngineHooks;
  /** A line of narration (who does what and why). */
  readonly say: (text: string) => void;
  /** Leave the sample services running at the end. */
  readonly keepRunning?: boolean;
}

export interface DemoDeployment {
  readonly id: number;
  readonly environment: string;
  readonly release: string;
  readonly state: string;
  readonly durationMs: number;
  readonly reason: string | null;
}

export interface DemoResult {
  readonly dir: string;
  readonly processFile: string;
  readonly store: string;
  readonly deployments: readonly DemoDeployment[];
  /** The gates worth pointing at: QA sign-off, security gate, the wait for the window. */
  readonly highlights: readonly string[];
  /** What production's /version answered after the rollback. */
  readonly productionAnswers: string;
  readonly productionUrl: string;
  readonly rollbackReason: string | null;
  /** What measured production for the bake: a real Prometheus, or (without one) the HTTP latency monitor. */
  readonly monitoring: { readonly source: 'prometheus' | 'http'; readonly detail: string };
  /** The regression the bake found in v3: the monitor's baseline, the measured value and the change. */
  readonly regression: {
    readonly monitor: string;
    readonly baseline?: number;
    readonly value?: number;
    readonly change?: number;
  } | null;
  readonly durationMs: number;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const dir = path.resolve(options.dir);
  await prepareFolder(dir);
  const ports = [await freePort(), await freePort()];
  const processFile = path.join(dir, 'slipway.yaml');
  // Prometheus starts while the artifacts are built: it scrapes production's notes service every second.
  const binary = findPrometheus();
  const prometheusStart = binary
    ? startDemoPrometheus(binary, path.join(dir, 'prometheus'), `127.0.0.1:${ports[1]}`).catch(
        (e: unknown) => e as Error,
      )
    : undefined;
  for (const release of RELEASES) await buildArtifact(dir, release);
  options.say(`built artifacts v1, v2, v3 in ${path.join(dir, 'artifacts')} (tar.gz + .sha256)`);
  const prom = await prometheusStart;
  const prometheus: DemoPrometheus | undefined = prom instanceof Error ? undefined : prom;
  const monitoring: DemoResult['monitoring'] = prometheus
    ? {
        source: 'prometheus',
        detail: `Prometheus ${prometheus.url} (${prometheus.binary}) scraping production every 1s`,
      }
    : {
        source: 'http',
        detail: binary
          ? `Prometheus (${binary}) did not start (${(prom as Error).message}): the bake times requests itself`
          : 'Prometheus is not installed (no /usr/bin/prometheus, none on PATH): the bake times requests itself (HTTP latency monitor)',
      };
  options.say(`production is watched by ${monitoring.detail}`);
  await writeProcessFile(processFile, ports, prometheus?.url);
  // Production's users: without traffic there is no request latency for Prometheus to measure.
  const traffic = startTraffic(`http://127.0.0.1:${ports[1]}/notes`);

  // The sample app's API token is a secret: it reaches the service and is redacted from every log.
  process.env.NOTES_API_TOKEN ??= randomBytes(16).toString('hex');
  const source = await readFile(processFile, 'utf8');
  const processDef = compileProcess(source, processFile);
  const storeFile = path.join(dir, '.slipway', 'slipway.db');
  const store = await options.openStore(storeFile);
  const engine = new Engine({ store, hooks: options.hooks });
  const deployments: DemoDeployment[] = [];
  try {
    const steps: [string, (typeof RELEASES)[number], string][] = [
      ['staging', 'v1', 'first release: through plan, tests, staging and UAT'],
      ['production', 'v1', 'promoted to production after devops go-ahead'],
      ['staging', 'v2', 'v2 carries a config change (page size, title) and a schema change (notes.author)'],
      ['production', 'v2', 'v2 to production: migration runs before the restart'],
      ['staging', 'v3', 'v3 adds search; staging runs with the search flag off'],
      [
        'production',
        'v3',
        'production has search on: v3 answers /notes slowly there; the bake must roll it back',
      ],
    ];
    let current = processDef;
    const highlights: string[] = [];
    for (const [environment, release, story] of steps) {
      options.say(`\n━━ ${release} → ${environment}: ${story}`);
      if (environment === 'production' && release === 'v1') {
        // A person's change to the process, as it happens: the PM freezes production for a few seconds.
        const until = Math.ceil((Date.now() + FREEZE_MS) / 1000) * 1000;
        await addFreeze(processFile, until, 'the v1 launch announcement goes out first');
        current = compileProcess(await readFile(processFile, 'utf8'), processFile);
        options.say(`  pat (pm) freezes production until ${new Date(until).toISOString().slice(11, 19)} UTC`);
      }
      const view = await deployThroughGates(engine, store, current, environment, release, options.say);
      highlights.push(...highlightsOf(view), ...(await windowWait(store, view)));
      deployments.push({
        id: view.id,
        environment,
        release,
        state: view.state,
        durationMs: Date.parse(view.finishedAt ?? new Date().toISOString()) - Date.parse(view.createdAt),
        reason: view.outcome ?? null,
      });
    }
    const productionUrl = `http://127.0.0.1:${ports[1]}`;
    const productionAnswers = (await (await fetch(`${productionUrl}/version`)).text()).trim();
    options.say(`\nproduction ${productionUrl}/version answers: ${productionAnswers}`);
    const last = deployments.at(-1);
    const rollback = last
      ? (await store.readEvents(last.id)).find((e) => e.type === 'rollback.started')
      : undefined;
    const analysis = rollback?.type === 'rollback.started' ? rollback.payload.analysis : undefined;
    return {
      dir,
      processFile,
      store: storeFile,
      deployments,
      highlights,
      productionAnswers,
      productionUrl,
      rollbackReason: last?.state === 'rolled-back' ? last.reason : null,
      monitoring,
      regression: analysis
        ? {
            monitor: analysis.monitor,
            ...(analysis.baseline === undefined ? {} : { baseline: analysis.baseline }),
            ...(analysis.value === undefined ? {} : { value: analysis.value }),
            ...(analysis.change === undefined ? {} : { change: analysis.change }),
          }
        : null,
      durationMs: Date.now() - started,
    };
  } finally {
    traffic.stop();
    await store.close();
    if (!options.keepRunning) await stopServices(dir);
    await prometheus?.stop();
  }
}

/** Runs one deployment, clearing each gate as the role member the process names, like people would with the CLI. */
async function deployThroughGates(
  engine: Engine,
  store: Store,
  processDef: Process,
  environment: string,
  release: string,
  say: (text: string) => void,
): Promise<DeploymentView> {
  const { deployment } = await startDeployment(store, {
    process: processDef,
    environment,
    release,
    actor: STARTER,
  });
  let view = await engine.run(deployment.id);
  while (view.state === 'waiting') {
    const gate = openGate(view);
    const role = gate?.awaiting?.[0];
    const member = role ? processDef.roles[role]?.find((u) => u !== STARTER.user) : undefined;
    if (!gate || !role || !member) throw new Error(`demo cannot clear gate ${gate?.id ?? '?'}`);
    const comment =
      gate.kind === 'checklist' ? 'done, see the release ticket' : `${release} looks good to ${role}`;
    say(`  ${member} (${role}) ${gate.kind === 'checklist' ? 'ticks' : 'approves'} ${gate.phase}.${gate.id}`);
    await decide(store, view.id, gate.kind === 'checklist' ? 'check' : 'approve', {
      actor: { user: member, via: 'demo' },
      comment,
    });
    view = await engine.run(view.id);
  }
  return view;
}

/** Adds a freeze to the production environment of the demo's process file. */
async function addFreeze(file: string, untilMs: number, reason: string): Promise<void> {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const text = await readFile(file, 'utf8');
  const anchor = "      - { cron: '0 * * * *', duration: 1h, timezone: UTC }\n";
  if (!text.includes(anchor))
    throw new Error('the demo process file has no production window to add a freeze next to');
  const freeze = `    freezes:\n      - { from: '${iso(untilMs - 3_600_000)}', to: '${iso(untilMs)}', reason: '${reason}' }\n`;
  await writeFile(file, text.replace(anchor, anchor + freeze));
}

/** How long the deployment waited for its maintenance window, and why, if it did. */
async function windowWait(store: Store, view: DeploymentView): Promise<string[]> {
  const events = await store.readEvents(view.id);
  const waited = events.find((e) => e.type === 'window.waiting');
  const opened = events.find((e) => e.type === 'window.opened');
  if (waited?.type !== 'window.waiting' || !opened) return [];
  const ms = Date.parse(opened.at) - Date.parse(waited.at);
  return [
    `${view.release} → ${view.environment}: waited ${formatDuration(ms)} for its window (${waited.payload.reason})`,
  ];
}

/** One line per deployment naming the gates the demo is about: parsed test and security results, sign-offs. */
function highlightsOf(view: DeploymentView): string[] {
  const parts: string[] = [];
  for (const step of view.phases.flatMap((p) => p.steps)) {
    if (step.kind === 'junit' && step.result) parts.push(`tests (JUnit) ${step.result}`);
    if (step.kind === 'sarif' && step.result)
      parts.push(`security scan (SARIF) ${step.result.replace(/ \[.*\]$/, '')}`);
    const d = step.decisions[0];
    if (step.id === 'uat' && d) parts.push(`UAT signed off by ${d.actor.user} (${d.role}): "${d.comment}"`);
  }
  return parts.length ? [`${view.release} → ${view.environment}: ${parts.join(' · ')}`] : [];
}

async function prepareFolder(dir: string): Promise<void> {
  if (existsSync(dir)) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new SlipwayError('SLW_USAGE', `${dir} exists and is not a Slipway demo folder`, {
        hint: 'choose another folder with --dir',
      });
    }
    await stopServices(dir);
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, MARKER), 'made by slipway demo; safe to delete\n');
  await cp(path.join(EXAMPLE_DIR, 'app'), path.join(dir, 'app'), { recursive: true });
}

/**
 * The example process with this machine's free ports, the path to Slipway's node_modules (the app uses
 * better-sqlite3), and, with a Prometheus, production's latency monitor as a query of it.
 */
async function writeProcessFile(file: string, ports: number[], prometheusUrl?: string): Promise<void> {
  const nodeModules = path.dirname(
    path.dirname(path.dirname(createRequire(import.meta.url).resolve('better-sqlite3'))),
  );
  const text = (await readFile(path.join(EXAMPLE_DIR, 'slipway.yaml'), 'utf8'))
    .replace("PORT: '4311'", `PORT: '${ports[0]}'`)
    .replace("PORT: '4312'", `PORT: '${ports[1]}'`)
    .replace("NODE_PATH: ''", `NODE_PATH: '${nodeModules.replace(/'/g, "''")}'`);
  await writeFile(file, prometheusUrl ? withPrometheusMonitor(text, prometheusUrl) : text);
}

/** Mean answer time of /notes over the last 3 s, in ms, as Prometheus computes it from the service's histogram. */
export const NOTES_LATENCY_QUERY =
  '1000 * sum(rate(notes_http_request_duration_seconds_sum{route="/notes"}[3s])) / ' +
  'sum(rate(notes_http_request_duration_seconds_count{route="/notes"}[3s]))';

function withPrometheusMonitor(text: string, url: string): string {
  const anchor = "        http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/notes' }\n";
  const at = text.indexOf(`      - id: notes-latency\n${anchor}`);
  if (at === -1) throw new Error('the demo process file has no notes-latency monitor to point at Prometheus');
  const monitor = `        prometheus: { url: '${url}', query: '${NOTES_LATENCY_QUERY}' }\n`;
  return text.replace(`      - id: notes-latency\n${anchor}`, `      - id: notes-latency\n${monitor}`);
}

async function buildArtifact(dir: string, release: string): Promise<void> {
  const out = path.join(dir, 'artifacts', `notes-${release}.tar.gz`);
  await mkdir(path.dirname(out), { recursive: true });
  await tar.create({ gzip: true, file: out, cwd: path.join(dir, 'app', release), portable: true }, ['.']);
  await writeFile(`${out}.sha256`, `${await sha256File(out)}  notes-${release}.tar.gz\n`);
}

async function stopServices(dir: string): Promise<void> {
  for (const env of ['staging', 'production']) {
    const ctl = path.join(dir, 'targets', env, 'current', 'ctl.cjs');
    if (!existsSync(ctl)) continue;
    await execLocal(
      { argv: [process.execPath, ctl, 'stop'] },
      { env: { NOTES_DATA: path.join(dir, 'targets', env, 'shared') }, timeoutMs: 15_000 },
    ).catch(() => undefined);
  }
}

export function summarizeDemo(result: DemoResult): string[] {
  const lines = ['', 'Summary', '  ID  ENV         RELEASE  OUTCOME       TOOK'];
  for (const d of result.deployments) {
    lines.push(
      `  ${String(d.id).padStart(2)}  ${d.environment.padEnd(11)} ${d.release.padEnd(8)} ${d.state.padEnd(13)} ${formatDuration(d.durationMs)}`,
    );
  }
  if (result.highlights.length) lines.push('', 'Gates', ...result.highlights.map((h) => `  ${h}`));
  if (result.rollbackReason) lines.push('', `Why v3 was rolled back: ${result.rollbackReason}`);
  const r = result.regression;
  if (r) {
    const unit = r.monitor === 'notes-latency' ? ' ms' : '';
    lines.push(
      `v3's regression (${result.monitoring.source === 'prometheus' ? 'measured by Prometheus' : 'timed by the HTTP latency monitor'}): ${r.monitor} baseline ${
        r.baseline === undefined ? '?' : `${formatNumber(r.baseline)}${unit}`
      } → ${r.value === undefined ? '?' : `${formatNumber(r.value)}${unit}`}${
        r.change === undefined ? '' : ` (${formatChange(r.change)}, limit +20%)`
      }`,
    );
  }
  lines.push(`monitoring: ${result.monitoring.detail}`);
  lines.push(
    '',
    `production still answers on v2: ${result.productionUrl}/version → ${result.productionAnswers}`,
    `demo finished in ${formatDuration(result.durationMs)}. Everything is recorded; try:`,
    `  cd ${path.relative(process.cwd(), result.dir) || '.'} && npx slipway history`,
    `  npx slipway status ${result.deployments.at(-1)?.id ?? 1}     npx slipway logs ${result.deployments.at(-1)?.id ?? 1}     npx slipway audit verify`,
  );
  return lines;
}
