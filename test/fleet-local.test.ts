/**
 * Fleets on this machine: several `type: local` hosts (each its own root and real service processes) behind the
 * embedded proxy, deployed with every strategy by the real engine and a real SQLite store.
 */

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyStoredEvent } from '../src/core/events.js';
import type { Backend, TrafficSwitch } from '../src/core/ports.js';
import { startManualRollback } from '../src/engine/rollback.js';
import type { EngineHooks } from '../src/engine/run-context.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { EmbeddedProxy } from '../src/traffic/embedded/embedded-proxy.js';
import { BIN, slipway } from './cli-helpers.js';
import { DEV, type Workspace, workspace } from './engine-fixtures.js';
import { alive, appFiles, fleetYaml, killAll, pidOf, shipSteps, whoServes } from './fleet-app.js';
import { freePorts } from './servers/free-port.js';

interface Fleet {
  readonly ws: Workspace;
  readonly proxy: EmbeddedProxy;
  readonly roots: string[];
  readonly events: AnyStoredEvent[];
  /** Called before each weight change the engine asks for: a test makes the load balancer fail by throwing. */
  beforeSetWeights?: (weights: Readonly<Record<string, number>>) => void;
  /** Deploys `release` (the fleet app, plus `extra` files in the artifact) and runs it to its end. */
  deploy(
    release: string,
    signal?: AbortSignal,
    extra?: Readonly<Record<string, string>>,
  ): Promise<import('../src/core/deployment-view.js').DeploymentView>;
  root(host: string): string;
}

let fleet: Fleet | undefined;
let load: Load | undefined;
afterEach(async () => {
  await load?.stop();
  load = undefined;
  if (fleet) {
    killAll(fleet.roots);
    await fleet.proxy.close(100);
    await fleet.ws.cleanup();
  }
  fleet = undefined;
});

const HOSTS = ['web1', 'web2', 'web3', 'web4'];

/**
 * A workspace whose engine steers an in-process embedded proxy. `hostYaml(name, i)` gives each host's extra keys;
 * `backends` are the proxy's servers (weight 100 for hosts/blue, 0 for green at first).
 */
async function setup(opts: {
  hosts?: readonly string[];
  strategy: string;
  slots: boolean;
  phases?: string;
  hooks?: EngineHooks;
}): Promise<Fleet> {
  const names = opts.hosts ?? HOSTS;
  const free = await freePorts(names.length * 2);
  const ports = names.map((_, i) => [free[2 * i], free[2 * i + 1]] as [number, number]);
  const backends: (Backend & { weight: number })[] = names.flatMap((n, i) => {
    const [a, b] = ports[i] as readonly [number, number];
    return opts.slots
      ? [
          { id: `${n}-blue`, address: '127.0.0.1', port: a, weight: 100 },
          { id: `${n}-green`, address: '127.0.0.1', port: b, weight: 0 },
        ]
      : [{ id: n, address: '127.0.0.1', port: a, weight: 100 }];
  });
  const proxy = await EmbeddedProxy.start({ port: 0, backends });
  const events: AnyStoredEvent[] = [];
  const makeTrafficSwitch = (_spec: unknown, wanted: readonly Backend[]): TrafficSwitch => {
    // The engine's backends must be the ones the proxy was configured with.
    expect(wanted.map((b) => `${b.id}@${b.port}`).sort()).toEqual(
      backends.map((b) => `${b.id}@${b.port}`).sort(),
    );
    return {
      description: proxy.description,
      setWeights: async (w, s) => {
        f.beforeSetWeights?.(w);
        await proxy.setWeights(w, s);
      },
      weights: (s) => proxy.weights(s),
      drain: (id, t, s) => proxy.drain(id, t, s),
      close: async () => undefined,
    };
  };
  const ws = await workspace({
    fleet: { makeTrafficSwitch },
    hooks: {
      onEvent: (e, v) => {
        events.push(e);
        opts.hooks?.onEvent?.(e, v);
      },
    },
  });
  const hostLines = names
    .map((n, i) => {
      const [a, b] = ports[i] as readonly [number, number];
      const extra = opts.slots ? `slots: { blue: ${a}, green: ${b} }` : `servicePort: ${a}`;
      return `      - { name: ${n}, type: local, root: hosts/${n}, ${extra} }`;
    })
    .join('\n');
  const url = opts.slots
    ? 'http://{{ host.address }}:{{ slot.port }}/health'
    : 'http://{{ host.address }}:{{ host.servicePort }}/health';
  ws.yaml = fleetYaml({
    environment: 'prod',
    hosts: hostLines,
    strategy: opts.strategy,
    traffic: `{ type: embedded, listen: '127.0.0.1:${proxy.port}' }`,
    steps: shipSteps(url),
    ...(opts.phases ? { phases: opts.phases } : {}),
  });
  const roots = names.map((n) => path.join(ws.dir, 'hosts', n));
  const f: Fleet = {
    ws,
    proxy,
    roots,
    events,
    root: (host) => path.join(ws.dir, 'hosts', host),
    deploy: (release, signal, extra) => ws.deploy(release, { ...appFiles(release), ...extra }, signal),
  };
  fleet = f;
  return f;
}

/**
 * Slow POSTs through the proxy (100 ms each, never retried by it), back to back on 4 connections, for as long as it
 * runs: a backend stopped with requests in flight fails some of them.
 */
interface Load {
  stop(): Promise<{ ok: number; failed: number; errors: string[]; versions: Set<string> }>;
}
function startLoad(url: string): Load {
  let running = true;
  const stats = { ok: 0, failed: 0, errors: [] as string[], versions: new Set<string>() };
  const worker = async () => {
    while (running) {
      try {
        const res = await fetch(`${url}/slow`, { method: 'POST' });
        const text = await res.text();
        if (res.status === 200) {
          stats.ok++;
          stats.versions.add((JSON.parse(text) as { version: string }).version);
        } else {
          stats.failed++;
          stats.errors.push(`${res.status} ${text.slice(0, 80)}`);
        }
      } catch (e) {
        stats.failed++;
        stats.errors.push(String((e as Error).cause ?? e));
      }
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return stats;
    },
  };
}

/** A phase after the rollout that fails while the file named by the `MARK` variable exists. */
const VERIFY_PHASE = `  - id: verify
    steps:
      - id: check
        run: [sh, -c, 'test ! -e "$MARK"']
        env: { MARK: '{{ vars.MARK }}' }
`;

/** Adds top-level `vars` to the fleet's process file. */
function withVars(f: Fleet, vars: Readonly<Record<string, string>>): void {
  const lines = Object.entries(vars).map(([k, v]) => `  ${k}: ${v}\n`);
  f.ws.yaml = f.ws.yaml.replace('app: shop\n', `app: shop\nvars:\n${lines.join('')}`);
}

const hostEvents = (events: readonly AnyStoredEvent[], type: string, host: string) =>
  events.filter((e) => e.type === type && (e.payload as { host?: string }).host === host);

describe('fleet: rolling', () => {
  it('updates batch after batch, each host out of the balancer while it restarts: no failed request', async () => {
    const f = await setup({ strategy: '{ type: rolling, batch: 50% }', slots: false });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    load = startLoad(f.proxy.url);
    const view = await f.deploy('v2');
    const stats = await load.stop();
    load = undefined;
    expect(view.state).toBe('succeeded');
    expect(stats.failed, stats.errors.slice(0, 5).join('\n')).toBe(0);
    expect(stats.ok).toBeGreaterThan(10);
    expect(stats.versions).toEqual(new Set(['v1', 'v2']));
    for (const host of HOSTS) {
      expect(await readlink(path.join(f.root(host), 'current'))).toBe('releases/v2-d2');
      expect(
        (await whoServes(`http://127.0.0.1:${f.proxy.status().find((b) => b.id === host)?.port}/`)).version,
      ).toBe('v2');
    }
    // Two batches of two, in host order; every host taken out (0) and put back (100).
    const batches = f.events.filter((e) => e.type === 'rollout.batch' && e.deploymentId === view.id);
    expect(batches.map((e) => (e.payload as unknown as { hosts: string[] }).hosts)).toEqual([
      ['web1', 'web2'],
      ['web3', 'web4'],
    ]);
    expect(await f.proxy.weights()).toEqual({ web1: 100, web2: 100, web3: 100, web4: 100 });
    const shifts = f.events
      .filter((e) => e.type === 'traffic.shifted' && e.deploymentId === view.id)
      .map(
        (e) => e.payload as unknown as { weights: Record<string, number>; drained?: Record<string, number> },
      );
    for (const host of HOSTS) {
      const mine = shifts.filter((p) => host in p.weights).map((p) => p.weights[host]);
      expect(mine).toEqual([0, 100]);
      expect(shifts.find((p) => p.weights[host] === 0)?.drained).toEqual({ [host]: 0 });
    }
    expect(view.fleet?.hosts.map((h) => [h.name, h.state, h.done, h.total])).toEqual(
      HOSTS.map((h) => [h, 'succeeded', 3, 3]),
    );
    expect((await f.ws.store.verifyChain()).ok).toBe(true);
  });

  it('a host failing mid-rollout stops it: the switched hosts go back, the others are never touched', async () => {
    const f = await setup({ strategy: '{ type: rolling, batch: 1 }', slots: false });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    const before = Object.fromEntries(HOSTS.map((h) => [h, pidOf(f.root(h))]));
    await writeFile(path.join(f.root('web2'), 'shared', 'broken-v2'), '');
    const view = await f.deploy('v2');
    expect(view.state).toBe('rolled-back');
    expect(view.outcome).toMatch(/rollout stopped: 1 host failed, 0 allowed — web2: smoke/);
    expect(view.outcome).toContain('not started: web3, web4');
    // web1 (done) and web2 (failed after its restart) are back on v1, serving.
    for (const host of ['web1', 'web2']) {
      expect(await readlink(path.join(f.root(host), 'current'))).toBe('releases/v1-d1');
      expect(pidOf(f.root(host))).not.toBe(before[host]);
      expect(alive(pidOf(f.root(host)))).toBe(true);
    }
    // web3 and web4 never restarted: same process, same release, never in a host event.
    for (const host of ['web3', 'web4']) {
      expect(await readlink(path.join(f.root(host), 'current'))).toBe('releases/v1-d1');
      expect(pidOf(f.root(host))).toBe(before[host]);
      expect(alive(before[host])).toBe(true);
      expect(
        hostEvents(f.events, 'host.step.started', host).filter((e) => e.deploymentId === view.id),
      ).toEqual([]);
    }
    const restored = f.events.filter((e) => e.type === 'host.restored' && e.deploymentId === view.id);
    expect(
      restored.map((e) => [(e.payload as { host: string }).host, (e.payload as { ok: boolean }).ok]).sort(),
    ).toEqual([
      ['web1', true],
      ['web2', true],
    ]);
    expect(view.rollback?.actions.at(-1)?.detail).toBe('restored web1, web2; untouched web3, web4');
    expect(view.fleet?.hosts.map((h) => h.state)).toEqual(['restored', 'restored', 'pending', 'pending']);
    expect(await f.proxy.weights()).toEqual({ web1: 100, web2: 100, web3: 100, web4: 100 });
    const who = await whoServes(f.proxy.url);
    expect(who.version).toBe('v1');
  });

  it('maxFailed lets a host fail: it goes back alone and the rollout finishes', async () => {
    const f = await setup({
      hosts: ['web1', 'web2', 'web3'],
      strategy: '{ type: rolling, batch: 1, maxFailed: 1 }',
      slots: false,
    });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    await writeFile(path.join(f.root('web2'), 'shared', 'broken-v2'), '');
    const view = await f.deploy('v2');
    expect(view.state).toBe('succeeded');
    expect(await readlink(path.join(f.root('web1'), 'current'))).toBe('releases/v2-d2');
    expect(await readlink(path.join(f.root('web2'), 'current'))).toBe('releases/v1-d1');
    expect(await readlink(path.join(f.root('web3'), 'current'))).toBe('releases/v2-d2');
    expect(view.phases[0]?.steps[0]?.result).toContain(
      '2/3 hosts updated; web2 failed within maxFailed 1 and went back',
    );
  });
});

describe('fleet: all-at-once, and resuming a cut-short rollout', () => {
  it('after a crash mid-rollout, the next runner carries on with the hosts not done', async () => {
    const controller = new AbortController();
    const f = await setup({
      hosts: ['web1', 'web2', 'web3'],
      strategy: '{ type: rolling, batch: 1 }',
      slots: false,
      hooks: {
        onEvent: (e) => {
          // Stop the runner as soon as web1 is done with its last step (as a crash would).
          if (e.type === 'host.step.succeeded' && e.payload.host === 'web1' && e.payload.step === 'smoke')
            controller.abort(new Error('simulated crash'));
        },
      },
    });
    await expect(f.deploy('v1', controller.signal)).rejects.toThrow();
    const id = f.events[0]?.deploymentId as number;
    const cut = await f.ws.engine.view(id);
    expect(cut.state).toBe('running');
    expect(cut.fleet?.hosts.map((h) => h.state)).toEqual(['succeeded', 'pending', 'pending']);
    const view = await f.ws.engine.run(id);
    expect(view.state).toBe('succeeded');
    // web1 ran each step once; the others once, after the resume.
    for (const host of ['web1', 'web2', 'web3'])
      expect(
        hostEvents(f.events, 'host.step.started', host).map((e) => (e.payload as { step: string }).step),
      ).toEqual(['ship', 'restart', 'smoke']);
    expect(view.resumes).toBe(1);
    for (const root of f.roots) expect(await readlink(path.join(root, 'current'))).toBe('releases/v1-d1');
  });

  it('all-at-once with ssh.concurrency 1: one host at a time, in order', async () => {
    const f = await setup({
      hosts: ['web1', 'web2', 'web3'],
      strategy: '{ type: all-at-once }',
      slots: false,
    });
    f.ws.yaml = f.ws.yaml.replace('    strategy:', '    ssh: { concurrency: 1 }\n    strategy:');
    expect((await f.deploy('v1')).state).toBe('succeeded');
    const order = f.events
      .filter((e) => e.type === 'host.step.started')
      .map((e) => (e.payload as { host: string }).host);
    expect(order).toEqual(['web1', 'web1', 'web1', 'web2', 'web2', 'web2', 'web3', 'web3', 'web3']);
  });

  it('all-at-once: every host together', async () => {
    const f = await setup({
      hosts: ['web1', 'web2', 'web3'],
      strategy: '{ type: all-at-once }',
      slots: false,
    });
    const view = await f.deploy('v1');
    expect(view.state).toBe('succeeded');
    expect(view.fleet?.batches).toEqual([['web1', 'web2', 'web3']]);
    for (const root of f.roots) expect(alive(pidOf(root))).toBe(true);
  });
});

describe('fleet: blue-green', () => {
  it('starts the new release beside the old, switches traffic, stops the old; a rollback switches back without a restart', async () => {
    const f = await setup({
      hosts: ['web1', 'web2', 'web3'],
      strategy: '{ type: blue-green }',
      slots: true,
      phases: VERIFY_PHASE,
    });
    withVars(f, { MARK: path.join(f.ws.dir, 'fail-verify') });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    expect((await whoServes(f.proxy.url)).slot).toBe('blue');
    const blue = Object.fromEntries(['web1', 'web2', 'web3'].map((h) => [h, pidOf(f.root(h), 'blue')]));

    load = startLoad(f.proxy.url);
    const v2 = await f.deploy('v2');
    expect(v2.state).toBe('succeeded');
    expect(await f.proxy.weights()).toMatchObject({ 'web1-green': 100, 'web1-blue': 0, 'web3-green': 100 });
    // The old slots were stopped once the deployment succeeded (scaleDownDelay 0).
    for (const h of ['web1', 'web2', 'web3']) {
      expect(alive(blue[h])).toBe(false);
      expect(alive(pidOf(f.root(h), 'green'))).toBe(true);
    }
    const green = Object.fromEntries(['web1', 'web2', 'web3'].map((h) => [h, pidOf(f.root(h), 'green')]));

    // v3 fails after the switch: traffic goes back to green, whose processes were never restarted.
    await writeFile(path.join(f.ws.dir, 'fail-verify'), '');
    const v3 = await f.deploy('v3');
    const stats = await load.stop();
    load = undefined;
    expect(v3.state).toBe('rolled-back');
    expect(await f.proxy.weights()).toMatchObject({
      'web1-green': 100,
      'web1-blue': 0,
      'web2-green': 100,
      'web2-blue': 0,
    });
    for (const h of ['web1', 'web2', 'web3']) {
      expect(pidOf(f.root(h), 'green')).toBe(green[h]);
      expect(alive(green[h])).toBe(true);
      // The new (blue) slot of v3 was stopped, and `current` points at v2 again.
      expect(alive(pidOf(f.root(h), 'blue'))).toBe(false);
      expect(await readlink(path.join(f.root(h), 'current'))).toBe('releases/v2-d2');
    }
    expect((await whoServes(f.proxy.url)).version).toBe('v2');
    const rollbackActions = v3.rollback?.actions.map((a) => a.action);
    expect(rollbackActions).toEqual(['hosts']);
    expect(
      f.events
        .filter((e) => e.deploymentId === v3.id && e.type === 'host.restored')
        .map((e) => (e.payload as { detail: string }).detail),
    ).toEqual(expect.arrayContaining([expect.stringContaining('traffic back on green (never stopped)')]));
    // Switching (both ways) under load dropped nothing.
    expect(stats.failed, stats.errors.slice(0, 5).join('\n')).toBe(0);
    expect(stats.versions.has('v1') && stats.versions.has('v2')).toBe(true);
  });
});

describe('fleet: manual rollback of a finished blue-green deployment', () => {
  it('starts the stopped old slots again, checks them, then switches traffic back and stops the new ones', async () => {
    const f = await setup({ hosts: ['web1', 'web2'], strategy: '{ type: blue-green }', slots: true });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    const v2 = await f.deploy('v2');
    expect(v2.state).toBe('succeeded');
    expect(alive(pidOf(f.root('web1'), 'blue'))).toBe(false);
    const live = await f.ws.store.getDeployment(v2.id);
    await startManualRollback(f.ws.store, live as NonNullable<typeof live>, DEV, 'bad numbers');
    const view = await f.ws.engine.run(v2.id);
    expect(view.state).toBe('rolled-back');
    expect(await f.proxy.weights()).toMatchObject({
      'web1-blue': 100,
      'web1-green': 0,
      'web2-blue': 100,
      'web2-green': 0,
    });
    for (const h of ['web1', 'web2']) {
      expect(alive(pidOf(f.root(h), 'blue'))).toBe(true);
      expect(alive(pidOf(f.root(h), 'green'))).toBe(false);
      expect(await readlink(path.join(f.root(h), 'current'))).toBe('releases/v1-d1');
    }
    expect((await whoServes(f.proxy.url)).version).toBe('v1');
    expect(view.fleet?.hosts.map((h) => [h.state, h.restored?.detail])).toEqual([
      ['restored', expect.stringContaining('traffic back on blue (started again)')],
      ['restored', expect.stringContaining('traffic back on blue (started again)')],
    ]);
  });
});

describe('fleet: canary', () => {
  it('shifts weight in steps with checks between them; a failed check puts the new slots back to 0 and stops them', async () => {
    const f = await setup({
      hosts: ['web1', 'web2'],
      strategy: '{ type: canary, steps: [10, 50, 100], pause: 2s }',
      slots: true,
    });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    const v2 = await f.deploy('v2');
    expect(v2.state).toBe('succeeded');
    const shifts = f.events
      .filter((e) => e.type === 'traffic.shifted' && e.deploymentId === v2.id)
      .map((e) => (e.payload as { percent?: number }).percent)
      .filter((p) => p !== undefined);
    expect(shifts).toEqual([10, 50, 100]);
    const green = pidOf(f.root('web1'), 'green');

    // v3 turns unhealthy 1.5 s after it starts: its first checks pass, the one after the 10% step does not.
    for (const h of ['web1', 'web2']) await writeFile(path.join(f.root(h), 'shared', 'degrades-v3'), '');
    const v3 = await f.deploy('v3');
    expect(v3.state).toBe('rolled-back');
    expect(v3.outcome).toMatch(/canary stopped at 10%/);
    expect(await f.proxy.weights()).toMatchObject({
      'web1-blue': 0,
      'web1-green': 100,
      'web2-blue': 0,
      'web2-green': 100,
    });
    expect(pidOf(f.root('web1'), 'green')).toBe(green);
    expect(alive(pidOf(f.root('web1'), 'blue'))).toBe(false);
    expect(existsSync(path.join(f.root('web1'), 'shared', 'pid-blue'))).toBe(false);
    expect((await whoServes(f.proxy.url)).version).toBe('v2');
  });
});

describe('fleet: a runner killed mid-rollout (SIGKILL), then `slipway resume`', () => {
  it('carries on with the hosts not done; the finished host is not touched again', async () => {
    const ws = await workspace();
    const roots = ['web1', 'web2', 'web3'].map((h) => path.join(ws.dir, 'hosts', h));
    try {
      await ws.store.close();
      const ports = await freePorts(roots.length);
      ws.yaml = fleetYaml({
        environment: 'prod',
        hosts: roots
          .map(
            (_, i) =>
              `      - { name: web${i + 1}, type: local, root: hosts/web${i + 1}, servicePort: ${ports[i]} }`,
          )
          .join('\n'),
        strategy: '{ type: rolling, batch: 1 }',
        steps: `      - id: ship
        release: {}
      - id: restart
        restart: {}
      - id: settle
        run: [sleep, '0.4']
        on: target
`,
      });
      await ws.process(ws.yaml);
      await ws.artifact('v1', appFiles('v1'));
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        SLIPWAY_USER: 'dev',
      };
      const child = spawn(process.execPath, [BIN, 'deploy', 'prod', '--release', 'v1'], { cwd: ws.dir, env });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`web1 never finished:\n${out}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          // Killed the moment web1 is done: web2 is on its way.
          if (out.includes('[web1] ✓ settle')) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            resolve();
          }
        });
      });
      await new Promise((r) => child.once('exit', r));
      expect(out).toContain('[web1] ✓ ship');
      const resumed = await slipway(['resume', '1'], {
        cwd: ws.dir,
        env: { SLIPWAY_USER: 'dev' },
        timeoutMs: 60_000,
      });
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const logs = await slipway(['logs', '1', '--json'], { cwd: ws.dir, env: {} });
      const events = logs.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; payload: { host?: string; step?: string } });
      const startsOn = (host: string) =>
        events
          .filter((e) => e.type === 'host.step.started' && e.payload.host === host)
          .map((e) => e.payload.step);
      expect(startsOn('web1')).toEqual(['ship', 'restart', 'settle']);
      // web3 ran each step once, after the resume; web2 may have had one step cut short and run again.
      expect(startsOn('web3')).toEqual(['ship', 'restart', 'settle']);
      expect(new Set(startsOn('web2'))).toEqual(new Set(['ship', 'restart', 'settle']));
      expect(events.at(-1)?.type).toBe('deployment.succeeded');
      for (const root of roots) {
        expect(await readlink(path.join(root, 'current'))).toBe('releases/v1-d1');
        expect(alive(pidOf(root))).toBe(true);
      }
    } finally {
      killAll(roots);
      await rm(ws.dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('fleet: a full disk on one host', () => {
  it("ends as that host's clear error; the rollout stops and nothing is half-installed there", async () => {
    const f = await setup({
      hosts: ['web1', 'web2', 'web3'],
      strategy: '{ type: rolling, batch: 1 }',
      slots: false,
    });
    const small = f.root('web2');
    await mkdir(small, { recursive: true });
    // A 2 MB disk (tmpfs, as root): v1 fits, v2 with its 3 MB of incompressible data does not.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
    try {
      expect((await f.deploy('v1')).state).toBe('succeeded');
      await f.ws.artifact('v2', {
        ...appFiles('v2'),
        'payload.bin': randomBytes(3 * 1024 * 1024).toString('base64'),
      });
      const process = await f.ws.process(f.ws.yaml);
      const { deployment } = await startDeployment(f.ws.store, {
        process,
        environment: 'prod',
        release: 'v2',
        actor: DEV,
      });
      const view = await f.ws.engine.run(deployment.id);
      expect(view.state).toBe('rolled-back');
      const web2 = view.fleet?.hosts.find((h) => h.name === 'web2');
      expect(web2?.error).toMatchObject({ step: 'ship', code: 'SLW_TARGET_FAILED' });
      expect(web2?.error?.message).toMatch(/no space left on device|the disk is full/);
      expect(view.fleet?.hosts.map((h) => h.state)).toEqual(['restored', 'failed', 'pending']);
      // web2 kept serving v1 (it was never restarted) and has no trace of v2.
      expect(await readlink(path.join(small, 'current'))).toBe('releases/v1-d1');
      expect(existsSync(path.join(small, 'releases', 'v2-d2'))).toBe(false);
      expect(
        (await whoServes(`http://127.0.0.1:${f.proxy.status().find((b) => b.id === 'web2')?.port}/`)).version,
      ).toBe('v1');
      expect(await readlink(path.join(f.root('web1'), 'current'))).toBe('releases/v1-d1');
      // web2 was taken out of the balancer for its update; it still serves v1, so it is back in.
      expect(await f.proxy.weights()).toEqual({ web1: 100, web2: 100, web3: 100 });
    } finally {
      killAll(f.roots);
      execFileSync('umount', ['-l', small]);
    }
  });
});

describe('fleet: a rollback also undoes the migrations (down), then restores the hosts', () => {
  const V1_MIGRATIONS = {
    'migrations/0001_create_notes.up.sql':
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);\nINSERT INTO notes (id, text) VALUES (1, 'a');",
    'migrations/0001_create_notes.down.sql': 'DROP TABLE notes;',
  };
  const addAuthor = (down: string) => ({
    ...V1_MIGRATIONS,
    'migrations/0002_add_author.up.sql': "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anon';",
    'migrations/0002_add_author.down.sql': down,
  });

  /** Two local hosts, rolling; a `db` phase migrates a SQLite file; `verify` fails while $MARK exists. */
  async function migratingFleet(): Promise<{ f: Fleet; db: string; mark: string }> {
    const f = await setup({
      hosts: ['web1', 'web2'],
      strategy: '{ type: rolling, batch: 1 }',
      slots: false,
      phases: `  - id: db
    steps:
      - id: migrate
        migrate: { database: { sqlite: '{{ vars.DB }}' }, lockTimeout: 5s }
${VERIFY_PHASE}`,
    });
    const db = path.join(f.ws.dir, 'app.db');
    const mark = path.join(f.ws.dir, 'fail-verify');
    withVars(f, { DB: db, MARK: mark });
    return { f, db, mark };
  }
  const columns = (file: string) => {
    const conn = new Database(file, { readonly: true });
    try {
      return (conn.prepare('PRAGMA table_info(notes)').all() as { name: string }[]).map((c) => c.name);
    } finally {
      conn.close();
    }
  };

  it('a later failure runs the down migration, and both hosts are back on the old release', async () => {
    const { f, db, mark } = await migratingFleet();
    expect((await f.deploy('v1', undefined, V1_MIGRATIONS)).state).toBe('succeeded');
    await writeFile(mark, '');
    const v2 = await f.deploy('v2', undefined, addAuthor('ALTER TABLE notes DROP COLUMN author;'));
    expect(v2.state).toBe('rolled-back');
    expect(v2.rollback?.actions.map((a) => [a.action, a.ok])).toEqual([
      ['undo db.migrate', true],
      ['hosts', true],
    ]);
    expect(columns(db)).toEqual(['id', 'text']);
    for (const h of ['web1', 'web2']) {
      expect(await readlink(path.join(f.root(h), 'current'))).toBe('releases/v1-d1');
      expect(alive(pidOf(f.root(h)))).toBe(true);
    }
    expect(v2.rollback?.actions.at(-1)?.detail).toBe('restored web1, web2');
    expect((await whoServes(f.proxy.url)).version).toBe('v1');
  });

  it('a failed undo stops the rollback: the record names no host as restored, and the hosts stay as they are', async () => {
    const { f, db, mark } = await migratingFleet();
    expect((await f.deploy('v1', undefined, V1_MIGRATIONS)).state).toBe('succeeded');
    await writeFile(mark, '');
    const v2 = await f.deploy('v2', undefined, addAuthor('DROP TABLE no_such_table;'));
    expect(v2.state).toBe('failed');
    expect(v2.rollback?.status).toBe('failed');
    const [undo, hosts] = v2.rollback?.actions ?? [];
    expect(undo).toMatchObject({ action: 'undo db.migrate', ok: false });
    expect(hosts?.ok).toBe(false);
    expect(hosts?.detail).toMatch(/^restored none; not tried web1, web2: undo db\.migrate failed/);
    expect(v2.fleet?.hosts.map((h) => h.state)).toEqual(['succeeded', 'succeeded']);
    // The schema still has v2's column, and the hosts still run v2, which needs it.
    expect(columns(db)).toEqual(['id', 'text', 'author']);
    for (const h of ['web1', 'web2'])
      expect(await readlink(path.join(f.root(h), 'current'))).toBe('releases/v2-d2');
  });

  it('a load balancer failing mid-rollback: hosts whose traffic never came back are not recorded as restored', async () => {
    const f = await setup({
      hosts: ['web1', 'web2'],
      strategy: '{ type: blue-green }',
      slots: true,
      phases: VERIFY_PHASE,
    });
    const mark = path.join(f.ws.dir, 'fail-verify');
    withVars(f, { MARK: mark });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    await writeFile(mark, '');
    // The switch-back (new slots to 0, old to 100) is refused by the load balancer.
    f.beforeSetWeights = (w) => {
      if (f.events.some((e) => e.type === 'rollback.started') && Object.values(w).includes(100))
        throw new Error('load balancer unreachable');
    };
    const v2 = await f.deploy('v2');
    expect(v2.state).toBe('failed');
    const hosts = v2.rollback?.actions.at(-1);
    expect(hosts).toMatchObject({ action: 'hosts', ok: false });
    expect(hosts?.detail).toMatch(/^restored none; .*load balancer unreachable/);
    expect(hosts?.detail).toContain('FAILED web1, web2');
    expect(v2.fleet?.hosts.map((h) => h.state)).not.toContain('restored');
  });
});

describe('fleet: a rolling deployment cancelled mid-rollout', () => {
  /**
   * Deploys v1, then v2 with the runner stopped as `stopAt`'s update begins (it is out of the balancer, nothing
   * changed on it yet), then cancels v2.
   */
  async function cancelAt(hosts: readonly string[], stopAt: string) {
    const controller = new AbortController();
    const f = await setup({
      hosts,
      strategy: '{ type: rolling, batch: 1 }',
      slots: false,
      hooks: {
        onEvent: (e) => {
          if (e.type === 'host.step.started' && e.payload.host === stopAt && e.deploymentId === 2)
            controller.abort(new Error('runner stopped'));
        },
      },
    });
    expect((await f.deploy('v1')).state).toBe('succeeded');
    await expect(f.deploy('v2', controller.signal)).rejects.toThrow();
    expect(await f.proxy.weights()).toMatchObject({ [stopAt]: 0 });
    return { f, view: await f.ws.engine.cancel(2, DEV, 'stop it') };
  }

  it('returns the switched host, and puts back in the balancer the host whose update had not begun', async () => {
    const { f, view } = await cancelAt(['web1', 'web2', 'web3'], 'web2');
    expect(view.state).toBe('rolled-back');
    expect(view.fleet?.hosts.map((h) => h.state)).toEqual(['restored', 'running', 'pending']);
    expect(await f.proxy.weights()).toEqual({ web1: 100, web2: 100, web3: 100 });
    for (const h of ['web1', 'web2', 'web3'])
      expect(await readlink(path.join(f.root(h), 'current'))).toBe('releases/v1-d1');
    expect((await whoServes(f.proxy.url)).version).toBe('v1');
  });

  it('with no host changed yet, it fails without a rollback and the host taken out is back in', async () => {
    const { f, view } = await cancelAt(['web1', 'web2'], 'web1');
    expect(view.state).toBe('failed');
    expect(view.rollback).toBeUndefined();
    expect(await f.proxy.weights()).toEqual({ web1: 100, web2: 100 });
  });
});
