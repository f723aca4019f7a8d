import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trafficSchema } from '../config/traffic-schema.js';
import { createTrafficSwitch } from './create-traffic-switch.js';

const backends = [{ id: 'web1-blue', address: '127.0.0.1', port: 9001 }];

describe('createTrafficSwitch', () => {
  it('makes one switch per type, described by type and name', () => {
    expect(
      createTrafficSwitch(
        { type: 'nginx', upstreamFile: '/etc/nginx/slipway.conf', upstream: 'app' },
        { backends },
      ).description,
    ).toBe('nginx:app');
    expect(
      createTrafficSwitch(
        { type: 'haproxy', socket: '/run/haproxy/admin.sock', backend: 'app' },
        { backends },
      ).description,
    ).toBe('haproxy:app');
    expect(
      createTrafficSwitch({ type: 'embedded', listen: '127.0.0.1:8080' }, { backends, stateDir: '/tmp/x' })
        .description,
    ).toBe('embedded:127.0.0.1:8080');
  });

  it('refuses a relative upstream file (the config compiler resolves paths first)', () => {
    expect(() =>
      createTrafficSwitch({ type: 'nginx', upstreamFile: 'up.conf', upstream: 'app' }, { backends }),
    ).toThrow(expect.objectContaining({ code: 'SLW_TRAFFIC_INVALID' }));
  });

  it('puts an embedded proxy state file in the state folder by default', () => {
    // The admin socket sits beside the state file: visible through the error when nothing runs.
    const sw = createTrafficSwitch(
      { type: 'embedded', listen: '127.0.0.1:8080' },
      { backends, stateDir: '/tmp/st' },
    );
    return expect(sw.weights()).rejects.toMatchObject({
      message: expect.stringContaining(path.join('/tmp/st', 'proxy-8080.json.sock')),
    });
  });
});

describe('trafficSchema', () => {
  it('accepts the three load balancers', () => {
    for (const spec of [
      {
        type: 'nginx',
        upstreamFile: 'up.conf',
        upstream: 'app',
        reloadCommand: ['systemctl', 'reload', 'nginx'],
      },
      { type: 'haproxy', socket: '/run/haproxy/admin.sock', backend: 'app' },
      { type: 'embedded', listen: '[::1]:8080' },
    ]) {
      expect(trafficSchema.safeParse(spec).success, JSON.stringify(spec)).toBe(true);
    }
  });

  it.each([
    ['an unknown type', { type: 'traefik' }],
    [
      'a reload command as a shell string',
      { type: 'nginx', upstreamFile: 'u', upstream: 'app', reloadCommand: 'nginx -s reload' },
    ],
    ['an upstream name that ends the line', { type: 'nginx', upstreamFile: 'u', upstream: 'app; }' }],
    // The switch refuses it too: the config must not accept what fails mid-deployment.
    ['an nginx upstream name with ":"', { type: 'nginx', upstreamFile: 'u', upstream: 'app:80' }],
    ['a HAProxy backend with a command separator', { type: 'haproxy', socket: 's', backend: 'app;shutdown' }],
    ['a listen without port', { type: 'embedded', listen: 'localhost' }],
    ['an unknown key', { type: 'haproxy', socket: 's', backend: 'app', weight: 3 }],
  ])('refuses %s', (_label, spec) => {
    expect(trafficSchema.safeParse(spec).success).toBe(false);
  });
});
