/** HaproxySwitch against a real HAProxy: the contract, plus servers missing from its config and a dead socket. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxySwitch } from '../src/traffic/haproxy/haproxy-switch.js';
import { type HaproxyServer, startHaproxy } from './servers/haproxy.js';
import { distribution, type NamedBackend, startNamedBackends, stopAll } from './traffic-backends.js';
import { describeTrafficSwitchContract } from './traffic-contract.js';

describeTrafficSwitchContract('haproxy', async (backends) => {
  const haproxy = await startHaproxy({ backends });
  return {
    trafficSwitch: new HaproxySwitch({ socket: haproxy.socket, backend: haproxy.backend, backends }),
    url: haproxy.url,
    stop: () => haproxy.stop(),
  };
});

describe('HaproxySwitch specifics', () => {
  let backends: NamedBackend[];
  let haproxy: HaproxyServer;

  beforeAll(async () => {
    backends = await startNamedBackends(['blue', 'green', 'purple']);
    // purple is a backend Slipway knows but the HAProxy config lacks.
    haproxy = await startHaproxy({ backends: backends.map((b) => b.backend), omitServers: ['purple'] });
  });
  afterAll(async () => {
    await haproxy?.stop();
    await stopAll(backends ?? []);
  });

  const make = (over: Partial<ConstructorParameters<typeof HaproxySwitch>[0]> = {}) =>
    new HaproxySwitch({
      socket: haproxy.socket,
      backend: haproxy.backend,
      backends: backends.map((b) => b.backend),
      ...over,
    });

  it('refuses a server missing from the HAProxy config, naming it and showing the line to add, changing nothing', async () => {
    const sw = make();
    await sw.setWeights({ blue: 100, green: 0 });
    const error = await sw.setWeights({ blue: 0, green: 50, purple: 50 }).catch((e: unknown) => e);
    const port = backends[2]!.backend.port;
    expect(error).toMatchObject({
      code: 'SLW_TRAFFIC_INVALID',
      message: expect.stringContaining('HAProxy backend "app" has no server "purple"; nothing was changed'),
      hint: expect.stringContaining(`server purple 127.0.0.1:${port} weight 100`),
    });
    expect(await sw.weights()).toEqual({ blue: 100, green: 0 });
    expect(await distribution(haproxy.url, 20)).toEqual({ blue: 20 });
    await expect(sw.drain('purple', 10)).rejects.toMatchObject({ code: 'SLW_TRAFFIC_INVALID' });
  });

  it('refuses a backend HAProxy does not have, showing the config to add', async () => {
    await expect(make({ backend: 'web' }).setWeights({ blue: 100 })).rejects.toMatchObject({
      code: 'SLW_TRAFFIC_INVALID',
      message: expect.stringContaining('HAProxy has no backend "web"'),
      hint: expect.stringContaining('server blue 127.0.0.1:'),
    });
  });

  it('drains with state drain and comes back with the weight asked for', async () => {
    const sw = make();
    await sw.setWeights({ blue: 0, green: 100 });
    expect(await sw.weights()).toEqual({ blue: 0, green: 100 });
    await sw.setWeights({ blue: 30 });
    expect(await sw.weights()).toEqual({ blue: 30, green: 100 });
    const counts = await distribution(haproxy.url, 130);
    expect(counts).toEqual({ blue: 30, green: 100 });
  });

  it('reports a socket nobody listens on clearly', async () => {
    const sw = make({ socket: `${haproxy.dir}/nothing.sock` });
    await expect(sw.setWeights({ blue: 100 })).rejects.toMatchObject({
      code: 'SLW_TRAFFIC_FAILED',
      message: expect.stringContaining('nothing.sock: ENOENT'),
      hint: expect.stringContaining('level admin'),
    });
  });

  it.each([
    ['a backend name with a command separator', { backend: 'app;shutdown sessions' }],
    ['a backend name with a newline', { backend: 'app\nset server app/blue state maint' }],
  ])('refuses %s', (_label, over) => {
    expect(() => make(over)).toThrow(expect.objectContaining({ code: 'SLW_TRAFFIC_INVALID' }));
  });

  it('refuses a server id that would inject a runtime API command', () => {
    expect(() =>
      make({ backends: [{ id: 'blue;set server app/green state maint', address: '127.0.0.1', port: 1 }] }),
    ).toThrow(expect.objectContaining({ code: 'SLW_TRAFFIC_INVALID' }));
  });
});
