/** The crash test's world: a demo-like process whose commands count their own runs in marker files, and the built CLI. */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';

export const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

/** How long every command-backed step sleeps after writing its marker: "the middle of a step" is a real moment. */
export const STEP_SLEEP = '0.3';

/**
 * Appends one line to `markers/<release>-<name>` (beside the target root), then sleeps. Written by the command
 * itself, so a line means "this command really started", whoever ran it (a killed runner or a resumed one).
 */
function marked(name: string, then = ''): string {
  return `echo "d$SLIPWAY_DEPLOYMENT_ID" >> "$SLIPWAY_SHARED/../../markers/$SLIPWAY_RELEASE-${name}"; sleep ${STEP_SLEEP}${then}`;
}

/** Steps of the process in plan order, with whether Slipway may run them again after a crash. */
export const STEPS = [
  { phase: 'build', id: 'prepare', idempotent: true, marker: 'prepare' },
  { phase: 'build', id: 'announce', idempotent: false, marker: 'announce' },
  { phase: 'deploy', id: 'ship', idempotent: true, marker: null },
  { phase: 'deploy', id: 'configure', idempotent: true, marker: null },
  { phase: 'deploy', id: 'migrate', idempotent: false, marker: 'migrate' },
  { phase: 'deploy', id: 'restart', idempotent: true, marker: 'svc-start' },
  { phase: 'deploy', id: 'smoke', idempotent: true, marker: 'smoke' },
  { phase: 'deploy', id: 'record', idempotent: false, marker: 'record' },
] as const;

/**
 * Like the notes demo, minus gates and HTTP: build steps, release, config, a migration on the target, a
 * restart of a "service" (start records which release runs, stop removes that), a smoke check that the
 * running release is the one deployed, and a final bookkeeping step. No retries, so every re-run is a resume.
 */
export const PROCESS_YAML = `version: 1
app: crashdemo
artifact:
  path: artifacts/app-{{ release }}.tar.gz
service:
  start: '${marked('svc-start', '; cat "$SLIPWAY_CURRENT/VERSION" > "$SLIPWAY_SHARED/running"')}'
  stop: '${marked('svc-stop', '; rm -f "$SLIPWAY_SHARED/running"')}'
environments:
  prod:
    target: { type: local, root: target }
    rollback: { auto: true }
phases:
  - id: build
    steps:
      - id: prepare
        run: '${marked('prepare')}'
        idempotent: true
      - id: announce
        run: '${marked('announce')}'
  - id: deploy
    steps:
      - id: ship
        release: { keep: 3 }
      - id: configure
        config:
          - { template: config/app.conf.tmpl, dest: config/app.conf }
      - id: migrate
        on: target
        run: '${marked('migrate')}'
      - id: restart
        restart: {}
      - id: smoke
        smoke:
          - id: version
            run: '${marked('smoke', '; test "$(cat "$SLIPWAY_SHARED/running")" = "$SLIPWAY_RELEASE"')}'
      - id: record
        run: '${marked('record')}'
`;

export interface CrashWorkspace {
  readonly dir: string;
  readonly file: string;
  readonly store: string;
}

export function workspaceAt(dir: string): CrashWorkspace {
  return { dir, file: path.join(dir, 'slipway.yaml'), store: path.join(dir, '.slipway', 'slipway.db') };
}

export function requireBuiltCli(): void {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} is missing: run "npm run build" first (npm test builds before running vitest)`);
  }
}

/** A fresh workspace with the process file, a config template and artifacts v1, v2 and a broken v3. */
export async function createWorkspace(): Promise<CrashWorkspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-crash-'));
  const ws = workspaceAt(dir);
  await writeFile(ws.file, PROCESS_YAML);
  await mkdir(path.join(dir, 'config'));
  await writeFile(path.join(dir, 'config', 'app.conf.tmpl'), 'release={{ release }}\n');
  // Markers live beside the target; `shared/` exists from the start so steps before the release can reach them.
  await mkdir(path.join(dir, 'markers'));
  await mkdir(path.join(dir, 'target', 'shared'), { recursive: true });
  // v3 reports a version that is not its release id: its smoke check fails, which forces a rollback.
  for (const [release, version] of [
    ['v1', 'v1'],
    ['v2', 'v2'],
    ['v3', 'v3-broken'],
  ] as const) {
    const src = path.join(dir, 'src', release);
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'VERSION'), version);
    await mkdir(path.join(dir, 'artifacts'), { recursive: true });
    await tar.create(
      { gzip: true, file: path.join(dir, 'artifacts', `app-${release}.tar.gz`), cwd: src, portable: true },
      ['.'],
    );
  }
  return ws;
}

/** Copies a workspace (store, target with its `current` symlink, markers) so each kill point starts from the same state. */
export async function copyWorkspace(from: CrashWorkspace): Promise<CrashWorkspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-crash-'));
  await cp(from.dir, dir, { recursive: true, verbatimSymlinks: true });
  return workspaceAt(dir);
}

export async function removeWorkspace(ws: CrashWorkspace): Promise<void> {
  await rm(ws.dir, { recursive: true, force: true });
}

/** Starts `slipway <args> -f <file> --store <store>` in the workspace; the caller may kill it. */
export function startCli(ws: CrashWorkspace, args: readonly string[]): ChildProcess {
  requireBuiltCli();
  return spawn(process.execPath, [BIN, ...args, '-f', ws.file, '--store', ws.store], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', SLIPWAY_USER: 'dev' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves when the child has exited and been reaped (so its pid no longer counts as alive). */
export function exited(child: ChildProcess): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export async function runCli(ws: CrashWorkspace, args: readonly string[]): Promise<Exit> {
  return exited(startCli(ws, args));
}

/** Lines in `markers/<release>-<name>`: how many times that command started. */
export async function markerCount(ws: CrashWorkspace, release: string, name: string): Promise<number> {
  const text = await readFile(path.join(ws.dir, 'markers', `${release}-${name}`), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').length;
}

/** The release folder `current` points at, e.g. `v1-d1`, or null. */
export async function currentRelease(ws: CrashWorkspace): Promise<string | null> {
  const link = await readlink(path.join(ws.dir, 'target', 'current')).catch(() => null);
  return link === null ? null : path.basename(link);
}

/** What the fake service says it runs (written by `service.start`), or null when stopped. */
export async function runningVersion(ws: CrashWorkspace): Promise<string | null> {
  return readFile(path.join(ws.dir, 'target', 'shared', 'running'), 'utf8').catch(() => null);
}

/**
 * Processes started by the workspace's commands that outlived the killed runner. Commands run in their own
 * process group, so SIGKILL of Slipway leaves them running; they are found by the SLIPWAY_SHARED they carry.
 */
export async function orphanPids(ws: CrashWorkspace): Promise<number[]> {
  const needle = `SLIPWAY_SHARED=${path.join(ws.dir, 'target', 'shared')}\0`;
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}
