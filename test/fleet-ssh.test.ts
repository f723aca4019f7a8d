/**
 * Fleets over real SSH: three OpenSSH sshd hosts on loopback, behind real nginx (blue-green, through the CLI) and
 * real HAProxy (rolling, a host killed mid-deploy). The service is the fleet test app, started over SSH.
 */

import { readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/core/ports.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { slipway } from './cli-helpers.js';
import { DEV, type Workspace, workspace } from './engine-fixtures.js';
import { alive, appFiles, fleetYaml, killAll, pidOf, shipSteps, whoServes } from './fleet-app.js';
import { freePorts } from './servers/free-port.js';
import { type HaproxyServer, startHaproxy } from './servers/haproxy.js';
import { type NginxServer, startNginx } from './servers/nginx.js';
import { type SshdFleet, startSshd } from './servers/sshd.js';
import { startLoad } from './traffic-backends.js';

const NAMES = ['web1', 'web2', 'web3'];

function hostsYaml(sshd: SshdFleet, extra: (i: number) => string): string {
  return sshd.hosts
    .map(
      (h, i) =>
        `      - { name: ${NAMES[i]}, type: ssh, address: ${h.address}, port: ${h.port}, user: ${h.user}, identityFile: ${h.identityFile}, knownHosts: ${h.knownHostsFile}, root: ${h.root}, ${extra(i)} }`,
    )
    .join('\n');
}

/** A blue and a green backend per host on distinct free ports, and each host's `slots:` setting. */
async function slotBackends(): Promise<{ backends: Backend[]; slots: string[] }> {
  const ports = await freePorts(NAMES.length * 2);
  const backends: Backend[] = [];
  const slots: string[] = [];
  NAMES.forEach((name, i) => {
    const [blue, green] = [ports[2 * i] as number, ports[2 * i + 1] as number];
    backends.push({ id: `${name}-blue`, address: '127.0.0.1', port: blue });
    backends.push({ id: `${name}-green`, address: '127.0.0.1', port: green });
    slots.push(`slots: { blue: ${blue}, green: ${green} }`);
  });
  return { backends, slots };
}

function processYaml(hosts: string, strategy: string, traffic: string, url: string): string {
  return fleetYaml({ environment: 'production', hosts, strategy, traffic, steps: shipSteps(url) });
}

/** Creates a deployment of `release` (the fleet app) and runs it to its end in this process. */
async function deploy(ws: Workspace, release: string) {
  await ws.artifact(release, appFiles(release));
  const process = await ws.process(ws.yaml);
  const { deployment } = await startDeployment(ws.store, {
    process,
    environment: 'production',
    release,
    actor: DEV,
  });
  return ws.engine.run(deployment.id);
}

describe('fleet over SSH: blue-green behind nginx, from the CLI', () => {
  let sshd: SshdFleet;
  let nginx: NginxServer;
  let dir: string;
  const roots: string[] = [];
  const env = { SLIPWAY_USER: 'dev', NO_COLOR: '1' };

  beforeAll(async () => {
    sshd = await startSshd(3);
    roots.push(...sshd.hosts.map((h) => h.root));
    const { backends, slots } = await slotBackends();
    nginx = await startNginx({
      backends,
      weights: Object.fromEntries(backends.map((b) => [b.id, b.id.endsWith('blue') ? 100 : 0])),
    });
    const ws = await workspace();
    dir = ws.dir;
    await ws.store.close();
    for (const release of ['v1', 'v2']) await ws.artifact(release, appFiles(release));
    ws.yaml = processYaml(
      hostsYaml(sshd, (i) => slots[i] as string),
      '{ type: blue-green }',
      `{ type: nginx, upstreamFile: ${nginx.upstreamFile}, upstream: ${nginx.upstream}, config: ${nginx.config}, pidFile: ${nginx.pidFile} }`,
      'http://{{ host.address }}:{{ slot.port }}/health',
    );
    await ws.process(ws.yaml);
  }, 60_000);

  afterAll(async () => {
    killAll(roots);
    await nginx?.stop();
    await sshd?.stop();
  });

  it('deploys to every host with per-host progress, switches nginx with no failed request, and status shows each host', async () => {
    const first = await slipway(['deploy', 'production', '--release', 'v1'], {
      cwd: dir,
      env,
      timeoutMs: 120_000,
    });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    for (const name of NAMES) {
      expect(first.stdout).toContain(`[${name}] ✓ ship`);
      expect(first.stdout).toContain(`[${name}] ✓ restart`);
    }
    expect((await whoServes(nginx.url)).version).toBe('v1');

    const load = startLoad(nginx.url, 4);
    const second = await slipway(['deploy', 'production', '--release', 'v2'], {
      cwd: dir,
      env,
      timeoutMs: 120_000,
    });
    const result = await load.stop();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/⇄ all traffic to the new slots \[web1-green=100 web1-blue=0/);
    expect(second.stdout).toMatch(/old slots drained/);
    expect(result.failed, JSON.stringify(result).slice(0, 400)).toBe(0);
    expect(result.ok).toBeGreaterThan(20);
    expect((await whoServes(nginx.url)).version).toBe('v2');
    for (const [i, root] of roots.entries()) {
      expect(await readlink(path.join(root, 'current'))).toBe('releases/v2-d2');
      expect(alive(pidOf(root, 'green')), NAMES[i]).toBe(true);
      expect(alive(pidOf(root, 'blue')), NAMES[i]).toBe(false);
    }

    const status = await slipway(['status', '2'], { cwd: dir, env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('hosts (blue-green, 100% on the new slots):');
    for (const name of NAMES)
      expect(status.stdout).toMatch(new RegExp(`${name}\\s+succeeded\\s+v2-d2\\s+3/3`));

    const logs = await slipway(['logs', '2', '--host', 'web2'], { cwd: dir, env });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('[web2] deploy.ship succeeded');
    expect(logs.stdout).not.toContain('[web1]');
    expect(logs.stdout).not.toContain('[web3]');
    const typo = await slipway(['logs', '2', '--host', 'wbe2'], { cwd: dir, env });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--host wbe2: deployment 2 has no host "wbe2"');
    expect(typo.stderr).toContain('did you mean "web2"?');
  }, 180_000);
});

describe('fleet over SSH: rolling behind HAProxy, a host dies mid-deploy', () => {
  let sshd: SshdFleet;
  let haproxy: HaproxyServer;
  const roots: string[] = [];

  beforeAll(async () => {
    sshd = await startSshd(3);
    roots.push(...sshd.hosts.map((h) => h.root));
  }, 60_000);

  afterAll(async () => {
    killAll(roots);
    await haproxy?.stop();
    await sshd?.stop();
  });

  it('records the dead host with a clear error, stops, and returns only the switched host', async () => {
    const ports = await freePorts(NAMES.length);
    const backends: Backend[] = NAMES.map((id, i) => ({
      id,
      address: '127.0.0.1',
      port: ports[i] as number,
    }));
    haproxy = await startHaproxy({ backends, weights: { web1: 100, web2: 100, web3: 100 } });
    const dead = sshd.hosts[1];
    const ws = await workspace({
      hooks: {
        onEvent: (e) => {
          // web2 dies the moment its turn starts: its release upload meets a dead host.
          if (
            e.type === 'host.step.started' &&
            e.payload.host === 'web2' &&
            e.payload.step === 'ship' &&
            e.deploymentId === 2
          )
            void dead?.kill();
        },
      },
    });
    try {
      ws.yaml = processYaml(
        hostsYaml(sshd, (i) => `servicePort: ${ports[i]}`),
        '{ type: rolling, batch: 1 }',
        `{ type: haproxy, socket: ${haproxy.socket}, backend: ${haproxy.backend} }`,
        'http://{{ host.address }}:{{ host.servicePort }}/health',
      );
      expect((await deploy(ws, 'v1')).state).toBe('succeeded');
      const web3Pid = pidOf(roots[2] as string);
      const load = startLoad(haproxy.url, 4);
      const view = await deploy(ws, 'v2');
      const result = await load.stop();
      // Each host left the balancer before its update and came back only when it worked: nobody noticed.
      expect(result.failed, JSON.stringify(result).slice(0, 400)).toBe(0);

      expect(view.state).toBe('rolled-back');
      const web2 = view.fleet?.hosts.find((h) => h.name === 'web2');
      expect(web2?.state).toBe('failed');
      expect(web2?.error?.step).toBe('ship');
      expect(web2?.error?.code).toMatch(/^SLW_/);
      expect(web2?.error?.message).toContain(`127.0.0.1:${dead?.port}`);
      expect(view.outcome).toContain('rollout stopped: 1 host failed, 0 allowed — web2: ship');
      // web1 had switched: back on v1, serving; web3 was never touched.
      expect(view.fleet?.hosts.map((h) => h.state)).toEqual(['restored', 'failed', 'pending']);
      expect(await readlink(path.join(roots[0] as string, 'current'))).toBe('releases/v1-d1');
      expect(await readlink(path.join(roots[2] as string, 'current'))).toBe('releases/v1-d1');
      expect(pidOf(roots[2] as string)).toBe(web3Pid);
      expect(alive(web3Pid)).toBe(true);
      // HAProxy still serves v1 from web1 and web3 (web2 is down; HAProxy retries elsewhere).
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await whoServes(haproxy.url)).version);
      expect(seen).toEqual(new Set(['v1']));
    } finally {
      await ws.cleanup();
    }
  }, 180_000);
});

describe('fleet over SSH: blue-green behind HAProxy, a later phase fails', () => {
  let sshd: SshdFleet;
  let haproxy: HaproxyServer;
  const roots: string[] = [];

  beforeAll(async () => {
    sshd = await startSshd(3);
    roots.push(...sshd.hosts.map((h) => h.root));
  }, 60_000);

  afterAll(async () => {
    killAll(roots);
    await haproxy?.stop();
    await sshd?.stop();
  });

  it('switches traffic back to the old slots without restarting them, under load, with no failed request', async () => {
    const { backends, slots } = await slotBackends();
    haproxy = await startHaproxy({
      backends,
      weights: Object.fromEntries(backends.map((b) => [b.id, b.id.endsWith('blue') ? 100 : 0])),
    });
    const ws = await workspace();
    try {
      const mark = path.join(ws.dir, 'fail-verify');
      ws.yaml = `${processYaml(
        hostsYaml(sshd, (i) => slots[i] as string),
        '{ type: blue-green }',
        `{ type: haproxy, socket: ${haproxy.socket}, backend: ${haproxy.backend} }`,
        'http://{{ host.address }}:{{ slot.port }}/health',
      )}  - id: verify
    steps:
      - id: check
        run: [sh, -c, 'test ! -e "$MARK"']
        env: { MARK: '${mark}' }
`;
      expect((await deploy(ws, 'v1')).state).toBe('succeeded');
      const blue = roots.map((r) => pidOf(r, 'blue'));
      expect(blue.every(alive)).toBe(true);

      await writeFile(mark, '');
      const load = startLoad(haproxy.url, 4);
      const view = await deploy(ws, 'v2');
      const result = await load.stop();
      expect(view.state).toBe('rolled-back');
      expect(view.outcome).toContain('verify.check failed');
      // The old slots never stopped: same processes, serving again; the new slots are gone.
      expect(roots.map((r) => pidOf(r, 'blue'))).toEqual(blue);
      expect(blue.every(alive)).toBe(true);
      for (const root of roots) {
        expect(alive(pidOf(root, 'green'))).toBe(false);
        expect(await readlink(path.join(root, 'current'))).toBe('releases/v1-d1');
      }
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await whoServes(haproxy.url)).version);
      expect(seen).toEqual(new Set(['v1']));
      expect(result.failed, JSON.stringify(result).slice(0, 400)).toBe(0);
      expect(result.ok).toBeGreaterThan(20);
    } finally {
      await ws.cleanup();
    }
  }, 180_000);
});
