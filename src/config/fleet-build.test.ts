import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { compileProcess } from './load-process.js';

const file = (env: string, steps = '      - { id: ship, release: {} }') => `version: 1
app: shop
artifact:
  path: dist/shop-{{ release }}.tar.gz
environments:
  production:
${env}
phases:
  - id: deploy
    steps:
${steps}
`;

describe('fleet compilation', () => {
  it('applies the defaults: all-at-once, concurrency 10, drain 30s; the first host is the target', () => {
    const p = compileProcess(
      file(`    hosts:
      - { name: a, type: local, root: hosts/a }
      - { name: b, type: local, root: /srv/b, address: 127.0.0.2, servicePort: 8080 }`),
      '/work/app/slipway.yaml',
    );
    const env = p.environments.production;
    expect(env?.fleet).toEqual({
      hosts: [
        { name: 'a', address: '127.0.0.1', groups: [], target: { type: 'local', root: '/work/app/hosts/a' } },
        {
          name: 'b',
          address: '127.0.0.2',
          groups: [],
          target: { type: 'local', root: '/srv/b' },
          servicePort: 8080,
        },
      ],
      strategy: { type: 'all-at-once' },
      concurrency: 10,
      drainTimeoutMs: 30_000,
    });
    expect(env?.target).toEqual({ type: 'local', root: '/work/app/hosts/a' });
  });

  it("ssh hosts take their own keys first, then the environment's ssh defaults, then the target's", () => {
    const p = compileProcess(
      file(`    hosts:
      - { name: web1, address: 10.0.0.1, root: /srv/shop, port: 2201 }
      - { name: web2, type: ssh, address: 10.0.0.2, root: /srv/shop, user: other }
    ssh: { user: deploy, identityFile: keys/deploy, concurrency: 4, acceptNewHosts: true }
    strategy: { type: rolling, batch: 50%, maxFailed: 1, drainTimeout: 5s }`),
      '/work/app/slipway.yaml',
    );
    const fleet = p.environments.production?.fleet;
    expect(fleet?.concurrency).toBe(4);
    expect(fleet?.drainTimeoutMs).toBe(5000);
    expect(fleet?.strategy).toEqual({ type: 'rolling', batch: { fraction: 0.5 }, maxFailed: 1 });
    expect(fleet?.hosts.map((h) => h.target)).toEqual([
      expect.objectContaining({
        type: 'ssh',
        address: '10.0.0.1',
        port: 2201,
        user: 'deploy',
        identityFile: '/work/app/keys/deploy',
        acceptNewHosts: true,
        root: '/srv/shop',
      }),
      expect.objectContaining({
        type: 'ssh',
        address: '10.0.0.2',
        port: 22,
        user: 'other',
        acceptNewHosts: true,
      }),
    ]);
    expect(fleet?.hosts[0]?.address).toBe('10.0.0.1');
  });

  it('compiles blue-green and canary with their slots, steps and delays', () => {
    const traffic = '    traffic: { type: haproxy, socket: run/admin.sock, backend: app }';
    const hosts = '    hosts:\n      - { name: web1, address: 10.0.0.1, root: /srv/shop }';
    const bg = compileProcess(
      file(
        `${hosts}\n    strategy: { type: blue-green, slots: { blue: 8001, green: 8002 }, scaleDownDelay: 1m }\n${traffic}`,
      ),
      '/work/app/slipway.yaml',
    ).environments.production?.fleet;
    expect(bg?.strategy).toEqual({
      type: 'blue-green',
      slots: { blue: 8001, green: 8002 },
      scaleDownDelayMs: 60_000,
    });
    expect(bg?.traffic).toEqual({ type: 'haproxy', socket: '/work/app/run/admin.sock', backend: 'app' });
    const canary = compileProcess(
      file(
        `${hosts}\n    strategy: { type: canary, slots: { blue: 8001, green: 8002 }, pause: 10s }\n${traffic}`,
      ),
      '/work/app/slipway.yaml',
    ).environments.production?.fleet;
    expect(canary?.strategy).toEqual({
      type: 'canary',
      slots: { blue: 8001, green: 8002 },
      steps: [10, 50, 100],
      pauseMs: 10_000,
      scaleDownDelayMs: 0,
    });
  });

  it('refuses ssh-only keys on a local host, ssh hosts without an address, and fleet keys without hosts', () => {
    const problems = (env: string) => {
      try {
        compileProcess(file(env), '/work/app/slipway.yaml');
      } catch (e) {
        if (e instanceof ConfigError) return e.problems.map((p) => p.message);
      }
      return [];
    };
    expect(problems('    hosts:\n      - { name: a, type: local, root: a, user: deploy }')).toEqual([
      '"user" applies only to ssh hosts, and "a" is type: local',
    ]);
    expect(problems('    hosts:\n      - { name: web1, root: /srv }')).toEqual([
      'ssh host "web1" needs an "address"',
    ]);
    expect(problems('    hosts:\n      - { name: web1, address: x, root: srv }')).toEqual([
      'the root of ssh host "web1" must be an absolute path, found "srv"',
    ]);
    expect(problems('    target: { root: t }\n    strategy: { type: rolling }')).toEqual([
      '"strategy" applies only to an environment with "hosts"',
    ]);
    expect(problems('    vars: { A: b }')).toEqual([
      'environment "production" says neither where to deploy ("target") nor to which "hosts"',
    ]);
  });
});
