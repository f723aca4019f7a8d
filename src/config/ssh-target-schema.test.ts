import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { compileProcess } from './load-process.js';

/** A minimal process file whose production target is `target` (YAML flow mapping). */
const file = (target: string) => `version: 1
app: shop
roles:
  devops: [dana]
artifact:
  path: dist/shop-{{ release }}.tar.gz
environments:
  production:
    target: ${target}
phases:
  - id: deploy
    steps:
      - id: ship
        release: {}
`;

function problems(target: string): ConfigError['problems'] {
  try {
    compileProcess(file(target), '/work/app/slipway.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('compiled without problems');
}

describe('ssh target in the process file', () => {
  it('compiles with defaults applied and controller paths resolved', () => {
    const p = compileProcess(
      file(
        '{ type: ssh, address: web1.example.com, user: deploy, identityFile: ~/.ssh/id_ed25519, root: /srv/shop }',
      ),
      '/work/app/slipway.yaml',
    );
    expect(p.environments.production?.target).toEqual({
      type: 'ssh',
      address: 'web1.example.com',
      port: 22,
      user: 'deploy',
      identityFile: `${homedir()}/.ssh/id_ed25519`,
      acceptNewHosts: false,
      root: '/srv/shop',
      connectTimeoutMs: 10_000,
    });
  });

  it('compiles every key, with a jump host and a passphrase source', () => {
    const p = compileProcess(
      file(`
      type: ssh
      address: 10.0.0.5
      port: 2222
      user: deploy
      identityFile: keys/deploy
      passphrase: { env: DEPLOY_KEY_PASS }
      knownHosts: ssh/known_hosts
      acceptNewHosts: true
      jump: { address: bastion.example.com, identityFile: keys/bastion }
      root: /srv/shop
      connectTimeout: 3s`),
      '/work/app/slipway.yaml',
    );
    expect(p.environments.production?.target).toEqual({
      type: 'ssh',
      address: '10.0.0.5',
      port: 2222,
      user: 'deploy',
      identityFile: '/work/app/keys/deploy',
      passphrase: { env: 'DEPLOY_KEY_PASS' },
      knownHosts: '/work/app/ssh/known_hosts',
      acceptNewHosts: true,
      jump: {
        address: 'bastion.example.com',
        port: 22,
        user: 'deploy',
        identityFile: '/work/app/keys/bastion',
      },
      root: '/srv/shop',
      connectTimeoutMs: 3_000,
    });
  });

  it.each([
    [
      'an address that is an option',
      '{ type: ssh, address: "-oProxyCommand=touch /tmp/x", root: /srv/a }',
      'environments.production.target.address',
      '-oProxyCommand',
    ],
    [
      'a user with a space',
      '{ type: ssh, address: h, user: "de ploy", root: /srv/a }',
      'environments.production.target.user',
      'de ploy',
    ],
    [
      'a relative root',
      '{ type: ssh, address: h, root: srv/a }',
      'environments.production.target.root',
      'srv/a',
    ],
    [
      'a port out of range',
      '{ type: ssh, address: h, port: 70000, root: /srv/a }',
      'environments.production.target.port',
      '70000',
    ],
    [
      'an unknown key',
      '{ type: ssh, address: h, root: /srv/a, hostname: x }',
      'environments.production.target.hostname',
      'hostname',
    ],
  ])('refuses %s at file:line:col', (_label, target, keyPath, shown) => {
    const found = problems(target);
    const p = found.find((x) => x.path === keyPath);
    expect(p, JSON.stringify(found)).toBeDefined();
    expect(p?.file).toBe('/work/app/slipway.yaml');
    expect(p?.line).toBe(9);
    expect(p?.col).toBeGreaterThan(0);
    expect(p?.message).toContain(shown);
  });
});
