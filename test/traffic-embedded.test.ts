/** The embedded proxy: the contract in-process and as its own file-driven process, plus retries, 502s and bad state. */

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedProxy } from '../src/traffic/embedded/embedded-proxy.js';
import { EmbeddedSwitch } from '../src/traffic/embedded/embedded-switch.js';
import {
  distribution,
  freePort,
  get,
  type NamedBackend,
  startNamedBackends,
  stopAll,
} from './traffic-backends.js';
import { describeTrafficSwitchContract } from './traffic-contract.js';
import { waitFor } from './wait-for.js';

describeTrafficSwitchContract('embedded (in-process)', async (backends) => {
  const proxy = await EmbeddedProxy.start({
    port: 0,
    backends: backends.map((b, i) => ({ ...b, weight: i === 0 ? 100 : 0 })),
  });
  return { trafficSwitch: proxy, url: proxy.url, stop: () => proxy.close() };
});

describeTrafficSwitchContract('embedded (own process, state file)', async (backends) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-proxy-'));
  const listen = `127.0.0.1:${await freePort()}`;
  const sw = new EmbeddedSwitch({ listen, stateFile: path.join(dir, 'proxy.json'), backends });
  return {
    trafficSwitch: sw,
    url: `http://${listen}`,
    async stop() {
      await sw.stopProxy();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('EmbeddedProxy specifics', () => {
  let backends: NamedBackend[];
  let proxy: EmbeddedProxy | undefined;
  beforeAll(async () => {
    backends = await startNamedBackends(['blue', 'green']);
  });
  afterAll(async () => {
    await stopAll(backends ?? []);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('sends a request elsewhere when a backend refuses the connection, so no client sees it', async () => {
    const dead = { id: 'dead', address: '127.0.0.1', port: await freePort(), weight: 50 };
    proxy = await EmbeddedProxy.start({ port: 0, backends: [dead, { ...backends[0]!.backend, weight: 50 }] });
    expect(await distribution(proxy.url, 40)).toEqual({ blue: 40 });
  });

  it('answers 502 with a body saying why when every backend is down', async () => {
    const dead = { id: 'dead', address: '127.0.0.1', port: await freePort(), weight: 100 };
    proxy = await EmbeddedProxy.start({ port: 0, backends: [dead] });
    const r = await get(proxy.url);
    expect(r.status).toBe(502);
    expect(r.body).toContain('dead: ECONNREFUSED');
    await proxy.setWeights({ dead: 0 });
    expect((await get(proxy.url)).body).toContain('no backend has a weight above 0');
  });

  it('passes POST bodies, statuses and headers through and counts nothing left in flight', async () => {
    const echo = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(201, {
          'x-echo': req.headers['x-test'] ?? '',
          'x-ff': req.headers['x-forwarded-for'] ?? '',
        });
        res.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as { port: number }).port;
    proxy = await EmbeddedProxy.start({
      port: 0,
      backends: [{ id: 'echo', address: '127.0.0.1', port, weight: 1 }],
    });
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          `${proxy!.url}/x`,
          { method: 'POST', headers: { 'x-test': 'hi' } },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          },
        );
        req.on('error', reject);
        req.end('{"note":"hello"}');
      },
    );
    expect(answer).toMatchObject({
      status: 201,
      body: '{"note":"hello"}',
      headers: { 'x-echo': 'hi', 'x-ff': '127.0.0.1' },
    });
    expect(proxy.status()[0]?.inflight).toBe(0);
    echo.close();
  });
});

describe('EmbeddedSwitch specifics (own process)', () => {
  let backends: NamedBackend[];
  let dir: string;
  let listen: string;
  let sw: EmbeddedSwitch;
  beforeAll(async () => {
    backends = await startNamedBackends(['blue', 'green']);
  });
  afterAll(async () => {
    await stopAll(backends ?? []);
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-proxy-'));
    listen = `127.0.0.1:${await freePort()}`;
    sw = new EmbeddedSwitch({
      listen,
      stateFile: path.join(dir, 'proxy.json'),
      backends: backends.map((b) => b.backend),
    });
  });
  afterEach(async () => {
    await sw.stopProxy();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps serving after the switch (and the process that made it) is gone', async () => {
    await sw.setWeights({ blue: 0, green: 100 });
    await sw.close();
    expect(await distribution(`http://${listen}`, 10)).toEqual({ green: 10 });
    // A new switch (the next deployment's process) takes over the running proxy.
    const next = new EmbeddedSwitch({
      listen,
      stateFile: path.join(dir, 'proxy.json'),
      backends: backends.map((b) => b.backend),
    });
    expect(await next.weights()).toEqual({ blue: 0, green: 100 });
    await next.setWeights({ blue: 100, green: 0 });
    expect(await distribution(`http://${listen}`, 10)).toEqual({ blue: 10 });
  });

  it('starts the long-lived proxy without the environment (and secrets) of the deployment', async () => {
    const secret = 'proxy-must-not-keep-this-7c1e';
    process.env.SLIPWAY_TEST_DB_PASSWORD = secret;
    try {
      await sw.setWeights({ blue: 100, green: 0 });
    } finally {
      delete process.env.SLIPWAY_TEST_DB_PASSWORD;
    }
    const log = await readFile(path.join(dir, 'proxy.json.log'), 'utf8');
    const pid = /slipway-proxy\[(\d+)\]/.exec(log)?.[1];
    expect(pid).toBeDefined();
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    expect(environ).toContain('PATH=');
    expect(environ).not.toContain(secret);
    expect(await distribution(`http://${listen}`, 10)).toEqual({ blue: 10 });
  });

  it('keeps the last good state when the state file is broken', async () => {
    await sw.setWeights({ blue: 100, green: 0 });
    await writeFile(path.join(dir, 'proxy.json'), '{"version": 1, "generation": 99, "listen": ');
    const log = path.join(dir, 'proxy.json.log');
    await waitFor('the proxy to read the broken file', async () =>
      (await readFile(log, 'utf8')).includes('keeping generation'),
    );
    expect(await sw.weights()).toEqual({ blue: 100, green: 0 });
    expect(await distribution(`http://${listen}`, 10)).toEqual({ blue: 10 });
  });

  it('reports at once why the proxy could not start (its port is taken)', async () => {
    const squatter = http.createServer();
    const port = Number(listen.split(':')[1]);
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    try {
      const started = Date.now();
      await expect(sw.setWeights({ blue: 100 })).rejects.toMatchObject({
        code: 'SLW_TRAFFIC_FAILED',
        message: expect.stringContaining('EADDRINUSE'),
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      squatter.close();
    }
  });

  it('refuses to pretend a running proxy moved to another address', async () => {
    await sw.setWeights({ blue: 100 });
    const moved = new EmbeddedSwitch({
      listen: `127.0.0.1:${await freePort()}`,
      stateFile: path.join(dir, 'proxy.json'),
      backends: backends.map((b) => b.backend),
    });
    await expect(moved.setWeights({ blue: 0, green: 100 })).rejects.toMatchObject({
      code: 'SLW_TRAFFIC_FAILED',
      message: expect.stringContaining(`listens on ${listen}`),
    });
  });

  it('says the proxy is not running when asked for weights before any switch', async () => {
    await expect(sw.weights()).rejects.toMatchObject({
      code: 'SLW_TRAFFIC_FAILED',
      message: expect.stringContaining('does not answer'),
    });
  });

  it('refuses a listen address that is not host:port', () => {
    expect(
      () => new EmbeddedSwitch({ listen: 'localhost', stateFile: path.join(dir, 'p.json'), backends: [] }),
    ).toThrow(
      expect.objectContaining({
        code: 'SLW_TRAFFIC_INVALID',
        message: expect.stringContaining('"localhost"'),
      }),
    );
  });
});
