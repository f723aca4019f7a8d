/**
 * A runner killed (SIGKILL) while a command runs on an SSH target, then resumed: the command's process group on
 * the host is stopped through the target (over SSH), and the resuming runner signals nothing on its own machine.
 * Real sshd on loopback; the killed runner is the CLI from source in a child process, the resume runs here.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readlink, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AnyStoredEvent } from '../src/core/events.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { DEV, type Workspace, workspace } from './engine-fixtures.js';
import { alive, killAll } from './fleet-app.js';
import { type SshdFleet, type SshdHost, startSshd } from './servers/sshd.js';
import { waitFor } from './wait-for.js';

/** The CLI from source (dist may be older than the code under test). */
const CLI = fileURLToPath(new URL('../src/cli/bin.ts', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');

/**
 * Runs once (a pid file marks the first run): starts a sleeping child in its own group and waits. A re-run after
 * the take-over finds the pid file and ends at once.
 */
const LONG_STEP = `      - id: long
        run: [sh, -c, 'if [ -e "$SLIPWAY_SHARED/long.pid" ]; then exit 0; fi; echo $$ > "$SLIPWAY_SHARED/long.pid"; sleep 300 & wait']
        on: target
        idempotent: true
`;

let sshd: SshdFleet;
let ws: Workspace | undefined;
let child: ChildProcess | undefined;
beforeAll(async () => {
  sshd = await startSshd(2);
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
});
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  killAll(sshd.hosts.map((h) => h.root));
  await ws?.cleanup();
  ws = undefined;
  // The next test starts from empty hosts.
  for (const h of sshd.hosts) {
    await rm(h.root, { recursive: true, force: true });
    await mkdir(h.root);
  }
});

function sshKeys(h: SshdHost): string {
  return `type: ssh, address: ${h.address}, port: ${h.port}, user: ${h.user}, identityFile: ${h.identityFile}, knownHosts: ${h.knownHostsFile}, root: ${h.root}`;
}

/** Live (not zombie) processes of process group `pgid` on this machine, which is also where the sshd "hosts" run. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Starts `slipway deploy prod --release <release>` in a child process; once `ready` holds, SIGKILLs it. */
async function deployAndKill(
  w: Workspace,
  ready: (events: readonly AnyStoredEvent[]) => boolean,
  release = 'v1',
  deploymentId = 1,
): Promise<AnyStoredEvent[]> {
  child = spawn(process.execPath, ['--import', TSX, CLI, 'deploy', 'prod', '--release', release], {
    cwd: w.dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      SLIPWAY_USER: DEV.user,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let events: AnyStoredEvent[] = [];
  try {
    await waitFor(
      'the remote command to start',
      async () => {
        if (child?.exitCode !== null) return true;
        events = (await w.store.readEvents(deploymentId).catch(() => [])) as AnyStoredEvent[];
        return ready(events);
      },
      30_000,
    );
    if (child?.exitCode !== null) throw new Error('the runner ended before the command started');
  } catch (e) {
    const log = events.map((x) => `${x.type} ${JSON.stringify(x.payload)}`).join('\n');
    throw new Error(`${(e as Error).message}\nrunner output:\n${out}\nevents:\n${log}`);
  }
  const exited = new Promise((r) => child?.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  child = undefined;
  return events;
}

const processes = (events: readonly AnyStoredEvent[]) =>
  events.flatMap((e) =>
    e.type === 'step.process'
      ? [e.payload as { phase: string; step: string; host: string; pid: number; fleetHost?: string }]
      : [],
  );

describe('a runner killed while a command runs on an SSH target', () => {
  it('the resuming runner stops the remote process group over SSH and signals nothing here', async () => {
    const h = sshd.hosts[0] as SshdHost;
    ws = await workspace();
    const w = ws;
    w.yaml = `version: 1
app: shop
artifact:
  path: artifacts/app-{{ release }}.tar.gz
environments:
  prod:
    target: { ${sshKeys(h)} }
phases:
  - id: deploy
    steps:
      - id: ship
        release: {}
${LONG_STEP}`;
    await w.process(w.yaml);
    await w.artifact('v1', { VERSION: 'v1' });
    const pidFile = path.join(h.root, 'shared', 'long.pid');
    const atKill = await deployAndKill(w, (events) => processes(events).some((p) => p.step === 'long'));
    await waitFor(
      'the pid file on the host',
      async () => (await readFile(pidFile, 'utf8').catch(() => '')) !== '',
    );
    const pgid = Number((await readFile(pidFile, 'utf8')).trim());
    // Recorded under the target, not under this machine's name: the number is the host's.
    const recorded = processes(atKill).find((p) => p.step === 'long');
    expect(recorded).toEqual({
      phase: 'deploy',
      step: 'long',
      host: `ssh:${h.user}@127.0.0.1:${h.port}${h.root}`,
      pid: pgid,
    });
    expect(recorded?.host).not.toBe(hostname());
    // The killed runner's command lives on, on the host.
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(2);

    const kill = vi.spyOn(process, 'kill');
    try {
      const view = await w.engine.run(1);
      expect(view.state).toBe('succeeded');
      // Nothing was signalled from this process: no kill(-pgid) nor kill(pgid), not even the probe (signal 0).
      expect(kill.mock.calls.filter(([pid]) => Math.abs(pid) === pgid)).toEqual([]);
    } finally {
      kill.mockRestore();
    }
    expect(groupMembers(pgid)).toEqual([]);
    const runner = (await w.store.readEvents(1)).filter((e) => e.type === 'deployment.runner').at(-1);
    expect(runner?.payload).toMatchObject({ resumed: true, stoppedLeftovers: [pgid] });
  }, 90_000);
});

describe('a runner killed while a fleet step runs on two SSH hosts', () => {
  it("stops each host's cut-short command over SSH, but not the service an earlier, finished step started", async () => {
    const hosts = sshd.hosts.slice(0, 2);
    ws = await workspace();
    const w = ws;
    // The service's start leaves a process in the start command's own group: only a finished step's record
    // being forgotten keeps the next runner from stopping it.
    w.yaml = `version: 1
app: shop
artifact:
  path: artifacts/app-{{ release }}.tar.gz
service:
  start: [sh, -c, 'sleep 600 >/dev/null 2>&1 </dev/null & echo $! > "$SLIPWAY_SHARED/service.pid"']
  stop: [sh, -c, 'true']
environments:
  prod:
    hosts:
${hosts.map((h, i) => `      - { name: web${i + 1}, ${sshKeys(h)} }`).join('\n')}
    strategy: { type: all-at-once }
phases:
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: restart
        restart: {}
${LONG_STEP}`;
    await w.process(w.yaml);
    await w.artifact('v1', { VERSION: 'v1' });
    const longOf = (events: readonly AnyStoredEvent[]) =>
      processes(events).filter((p) => p.step === 'long' && p.fleetHost !== undefined);
    const atKill = await deployAndKill(w, (events) => longOf(events).length === 2);
    const pidIn = async (h: SshdHost, file: string) => {
      const at = path.join(h.root, 'shared', file);
      await waitFor(at, async () => (await readFile(at, 'utf8').catch(() => '')) !== '');
      return Number((await readFile(at, 'utf8')).trim());
    };
    const groups = await Promise.all(hosts.map((h) => pidIn(h, 'long.pid')));
    const services = await Promise.all(hosts.map((h) => pidIn(h, 'service.pid')));
    // Each host's command is recorded under that host's target, with the fleet host's name.
    expect(
      longOf(atKill)
        .map((p) => [p.fleetHost, p.host, p.pid])
        .sort(),
    ).toEqual(hosts.map((h, i) => [`web${i + 1}`, `ssh:${h.user}@127.0.0.1:${h.port}${h.root}`, groups[i]]));
    for (const g of groups) expect(groupMembers(g).length).toBeGreaterThanOrEqual(2);

    const kill = vi.spyOn(process, 'kill');
    try {
      const view = await w.engine.run(1);
      expect(view.state).toBe('succeeded');
      const mine = [...groups, ...services];
      expect(kill.mock.calls.filter(([pid]) => mine.includes(Math.abs(pid)))).toEqual([]);
    } finally {
      kill.mockRestore();
    }
    for (const g of groups) expect(groupMembers(g)).toEqual([]);
    // The services the finished restart step started still run.
    for (const s of services) expect(alive(s)).toBe(true);
    const runner = (await w.store.readEvents(1)).filter((e) => e.type === 'deployment.runner').at(-1);
    const stopped = runner?.type === 'deployment.runner' ? (runner.payload.stoppedLeftovers ?? []) : [];
    expect([...stopped].sort()).toEqual([...groups].sort());
    for (const s of services) process.kill(s, 'SIGKILL');
  }, 90_000);
});

describe('a runner killed while it restores a fleet host (rollback)', () => {
  it('the next runner stops the cut-short restore command before restoring the host again', async () => {
    ws = await workspace();
    const w = ws;
    const root = path.join(w.dir, 'hosts', 'web1');
    const hang = path.join(root, 'shared', 'hang-on-start');
    // The service's start hangs once, while the hang file exists: the rollback's start (v2's failing check makes it).
    w.yaml = `version: 1
app: shop
artifact:
  path: artifacts/app-{{ release }}.tar.gz
service:
  start: [sh, -c, 'if [ -e "$SLIPWAY_SHARED/hang-on-start" ]; then rm "$SLIPWAY_SHARED/hang-on-start"; echo $$ > "$SLIPWAY_SHARED/restore.pid"; sleep 300 & wait; fi']
  stop: [sh, -c, 'true']
environments:
  prod:
    hosts:
      - { name: web1, type: local, root: hosts/web1 }
    strategy: { type: rolling, batch: 1 }
phases:
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: restart
        restart: {}
  - id: verify
    steps:
      - id: check
        run: [sh, -c, '[ "$SLIPWAY_RELEASE" = v1 ] && exit 0; touch "$HANG"; exit 1']
        env: { HANG: '${hang}' }
`;
    const process1 = await w.process(w.yaml);
    await w.artifact('v1', { VERSION: 'v1' });
    await w.artifact('v2', { VERSION: 'v2' });
    const { deployment } = await startDeployment(w.store, {
      process: process1,
      environment: 'prod',
      release: 'v1',
      actor: DEV,
    });
    expect((await w.engine.run(deployment.id)).state).toBe('succeeded');

    const pidFile = path.join(root, 'shared', 'restore.pid');
    const startedPgid = () => {
      try {
        return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
      } catch {
        return undefined;
      }
    };
    // Killed once the restore's (hanging) start runs and is recorded.
    await deployAndKill(
      w,
      (events) =>
        processes(events).some(
          (p) => p.phase === 'rollback' && p.fleetHost === 'web1' && p.pid === startedPgid(),
        ),
      'v2',
      2,
    );
    const pgid = startedPgid() as number;
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(2);

    const view = await w.engine.run(2);
    expect(view.state).toBe('rolled-back');
    expect(view.fleet?.hosts.map((h) => h.state)).toEqual(['restored']);
    expect(groupMembers(pgid)).toEqual([]);
    const runner = (await w.store.readEvents(2)).filter((e) => e.type === 'deployment.runner').at(-1);
    const stopped = runner?.type === 'deployment.runner' ? (runner.payload.stoppedLeftovers ?? []) : [];
    expect(stopped).toContain(pgid);
    expect(await readlink(path.join(root, 'current'))).toBe('releases/v1-d1');
  }, 90_000);
});
