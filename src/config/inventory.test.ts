import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import type { Process } from '../core/process.js';
import { sha256 } from './inventory.js';
import { compileProcess } from './load-process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'slipway-inventory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const processText = (env: string) => `version: 1
app: shop
artifact:
  path: dist/shop-{{ release }}.tar.gz
environments:
  production:
${env}
phases:
  - id: deploy
    steps:
      - { id: ship, release: {} }
`;

let n = 0;
/** Writes the inventory beside a process file and compiles the process (as `file` is given: relative to cwd). */
function compile(env: string, inventory?: string, name = 'hosts.yaml'): Process {
  const sub = path.join(dir, String(n++));
  if (inventory !== undefined) {
    writeFileSync(path.join(dir, `${path.basename(sub)}-${name}`), inventory);
  }
  const file = path.join(dir, 'slipway.yaml');
  return compileProcess(processText(env.replace('INV', `${path.basename(sub)}-${name}`)), file);
}

function problemsOf(fn: () => unknown): { code: string; problems: ConfigError['problems'] } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return { code: e.code, problems: e.problems };
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const hostsOf = (p: Process) =>
  p.environments.production?.fleet?.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    groups: h.groups,
    target: h.target,
  }));

describe('inventory files', () => {
  it('reads a list of hosts, with hostDefaults filling in what a host does not set, and records the text', () => {
    const text = `- { name: web1, address: 10.0.0.5 }
- { name: web2, address: 10.0.0.6, root: /srv/other, user: admin }
`;
    const p = compile(
      `    inventory: INV
    hostDefaults: { root: /srv/app, user: deploy, groups: [web] }`,
      text,
    );
    expect(hostsOf(p)).toEqual([
      {
        name: 'web1',
        address: '10.0.0.5',
        groups: ['web'],
        target: expect.objectContaining({
          type: 'ssh',
          address: '10.0.0.5',
          user: 'deploy',
          root: '/srv/app',
        }),
      },
      {
        name: 'web2',
        address: '10.0.0.6',
        groups: ['web'],
        target: expect.objectContaining({ user: 'admin', root: '/srv/other' }),
      },
    ]);
    expect(p.environments.production?.inventory).toMatch(/-hosts\.yaml$/);
    expect(p.includes).toEqual([{ path: p.environments.production?.inventory, text, sha256: sha256(text) }]);
  });

  it('reads grouped hosts: each gets its group besides its own', () => {
    const p = compile(
      '    inventory: INV',
      `groups:
  web:
    - { name: web1, type: local, root: hosts/web1, groups: [edge] }
    - { name: web2, type: local, root: hosts/web2 }
  db:
    - { name: db1, type: local, root: hosts/db1 }
hosts:
  - { name: cron1, type: local, root: hosts/cron1 }
`,
    );
    expect(hostsOf(p)?.map((h) => [h.name, h.groups])).toEqual([
      ['cron1', []],
      ['web1', ['edge', 'web']],
      ['web2', ['web']],
      ['db1', ['db']],
    ]);
    expect(p.environments.production?.fleet?.hosts[1]?.target).toEqual({
      type: 'local',
      root: path.join(dir, 'hosts/web1'),
    });
  });

  it("maps Ansible's YAML inventory: connection variables, group vars, children as groups, the name as address", () => {
    const p = compile(
      `    inventory: INV
    hostDefaults: { root: /srv/app }`,
      `all:
  vars:
    ansible_user: ops
    ansible_python_interpreter: /usr/bin/python3
  hosts:
    lb1.example.com:
  children:
    web_servers:
      vars: { http_port: 80, ansible_port: 2200 }
      hosts:
        web1: { ansible_host: 10.0.0.5, ansible_port: "2222", ansible_ssh_private_key_file: /keys/web }
        web2: { ansible_host: 10.0.0.6, ansible_user: admin }
    local_group:
      hosts:
        here: { ansible_connection: local, root: hosts/here }
`,
    );
    expect(hostsOf(p)).toEqual([
      {
        name: 'lb1.example.com',
        address: 'lb1.example.com',
        groups: [],
        target: expect.objectContaining({
          address: 'lb1.example.com',
          port: 22,
          user: 'ops',
          root: '/srv/app',
        }),
      },
      {
        name: 'web1',
        address: '10.0.0.5',
        groups: ['web_servers'],
        target: expect.objectContaining({
          address: '10.0.0.5',
          port: 2222,
          user: 'ops',
          identityFile: '/keys/web',
        }),
      },
      {
        name: 'web2',
        address: '10.0.0.6',
        groups: ['web_servers'],
        target: expect.objectContaining({ port: 2200, user: 'admin' }),
      },
      {
        name: 'here',
        address: '127.0.0.1',
        groups: ['local_group'],
        target: { type: 'local', root: path.join(dir, 'hosts/here') },
      },
    ]);
  });

  it('refuses an Ansible variable it does not understand, at its line in the inventory, with why', () => {
    const { problems } = problemsOf(() =>
      compile(
        `    inventory: INV
    hostDefaults: { root: /srv/app }`,
        `all:
  hosts:
    web1:
      ansible_host: 10.0.0.5
      ansible_become: true
    web2:
      ansible_hots: 10.0.0.6
`,
      ),
    );
    expect(problems.map((p) => [path.basename(p.file).replace(/^\d+-/, ''), p.line, p.col, p.path])).toEqual([
      ['hosts.yaml', 5, 7, 'all.hosts.web1.ansible_become'],
      ['hosts.yaml', 7, 7, 'all.hosts.web2.ansible_hots'],
    ]);
    expect(problems[0]?.message).toBe('unsupported Ansible variable "ansible_become"');
    expect(problems[0]?.hint).toMatch(/runs commands as the ssh user/);
    expect(problems[1]?.hint).toBe('did you mean "ansible_host"?');
  });

  it('points host problems found by the schema and the fleet rules at the inventory line', () => {
    const { problems } = problemsOf(() =>
      compile(
        '    inventory: INV',
        `- { name: web1, address: 10.0.0.5, root: /srv/app }
- { name: web1, address: 10.0.0.6, root: /srv/app }
- { name: web3, address: 10.0.0.7, root: srv/app }
`,
      ),
    );
    expect(problems.map((p) => [p.line, p.col, p.path, p.message])).toEqual([
      [2, 11, '1.name', 'duplicate host name "web1", already used by the host at line 1'],
      [3, 42, '2.root', 'the root of ssh host "web3" must be an absolute path, found "srv/app"'],
    ]);
    expect(problems.every((p) => p.file.endsWith('-hosts.yaml'))).toBe(true);
    // The schema's own checks (run first) point there too.
    const schema = problemsOf(() =>
      compile(
        '    inventory: INV',
        `- { name: web3, address: 10.0.0.7, port: 99999, root: /srv/app }
- { name: web4, address: 10.0.0.8 }
`,
      ),
    ).problems;
    expect(schema.map((p) => [p.line, p.col, p.path, p.message])).toEqual([
      [1, 42, '0.port', 'expected a port number from 1 to 65535, found 99999'],
      [2, 3, '1', 'missing required key "root": expected a string'],
    ]);
    expect(schema[1]?.hint).toMatch(/hostDefaults: \{ root: \/srv\/app \}/);
  });

  it('points a bad hostDefaults value at the process file, once', () => {
    const { problems } = problemsOf(() =>
      compile(
        `    inventory: INV
    hostDefaults: { root: /srv/app, port: http }`,
        `- { name: web1, address: 10.0.0.5 }
- { name: web2, address: 10.0.0.6 }
`,
      ),
    );
    expect(problems.map((p) => [path.basename(p.file), p.line, p.col, p.path])).toEqual([
      ['slipway.yaml', 8, 43, 'environments.production.hostDefaults.port'],
    ]);
  });

  it('names a missing inventory file relative to the process file, at the inventory key', () => {
    const { code, problems } = problemsOf(() =>
      compileProcess(processText('    inventory: inventories/prod.yaml'), 'deploy/slipway.yaml'),
    );
    expect(code).toBe('SLW_CONFIG_INVALID');
    expect(problems).toEqual([
      {
        file: 'deploy/slipway.yaml',
        line: 7,
        col: 16,
        path: 'environments.production.inventory',
        message: 'no inventory file at deploy/inventories/prod.yaml',
        hint: `"inventories/prod.yaml" is relative to the process file's folder; create it or fix the path`,
      },
    ]);
  });

  it('reports an inventory that is not YAML as a syntax error in that file', () => {
    const { code, problems } = problemsOf(() =>
      compile('    inventory: INV', '- { name: web1, root: /srv/app\n- { name: web2 }\n'),
    );
    expect(code).toBe('SLW_CONFIG_SYNTAX');
    expect(problems[0]?.file).toMatch(/-hosts\.yaml$/);
    expect(problems[0]).toMatchObject({ line: 1, col: 3 });
  });

  it('refuses hosts and inventory together, and an unknown top-level inventory key', () => {
    expect(
      problemsOf(() =>
        compile(
          `    hosts: [{ name: a, type: local, root: a }]
    inventory: INV`,
          '[]',
        ),
      ).problems[0],
    ).toMatchObject({
      line: 8,
      col: 5,
      message: 'environment "production" has both "hosts" and "inventory"',
    });
    const unknown = problemsOf(() =>
      compile('    inventory: INV', 'host:\n  - { name: a, type: local, root: a }\n'),
    ).problems;
    expect(unknown[0]).toMatchObject({
      line: 1,
      col: 1,
      message: 'unknown key "host"',
      hint: 'did you mean "hosts"?',
    });
  });

  it('refuses hostile Ansible values at their line: an option as address, shell in a user or a host name', () => {
    const { problems } = problemsOf(() =>
      compile(
        `    inventory: INV
    hostDefaults: { root: /srv/app }`,
        `all:
  hosts:
    web1: { ansible_host: "-oProxyCommand=touch /tmp/pwned", ansible_user: "$(touch /tmp/pwned)" }
    "web2; rm -rf /": { ansible_host: 10.0.0.2 }
`,
      ),
    );
    expect(problems.map((p) => [p.line, p.col, p.path])).toEqual([
      [3, 27, 'all.hosts.web1.ansible_host'],
      [3, 76, 'all.hosts.web1.ansible_user'],
      [4, 5, 'all.hosts.web2; rm -rf /'],
    ]);
    expect(problems[0]?.message).toContain('not starting with "-"');
  });

  it('refuses hostDefaults on an environment with one target', () => {
    const { problems } = problemsOf(() =>
      compile(`    target: { root: app }
    hostDefaults: { root: /srv/app }`),
    );
    expect(problems[0]).toMatchObject({
      line: 8,
      col: 5,
      message: '"hostDefaults" applies only to an environment with "hosts" or "inventory"',
    });
  });

  it('compiles with the recorded inventory text, not the file as it is now', () => {
    const file = path.join(dir, 'pinned', 'slipway.yaml');
    const recorded = '- { name: old1, type: local, root: old1 }\n';
    const p = compileProcess(processText('    inventory: hosts.yaml'), file, [
      { path: 'hosts.yaml', text: recorded, sha256: sha256(recorded) },
    ]);
    expect(p.environments.production?.fleet?.hosts.map((h) => h.name)).toEqual(['old1']);
    expect(p.includes[0]?.text).toBe(recorded);
  });

  it('merges hostDefaults into hosts written in the process file too', () => {
    const p = compile(`    hostDefaults: { type: local, root: shared-root }
    hosts:
      - { name: a }
      - { name: b, root: own }`);
    expect(hostsOf(p)?.map((h) => h.target)).toEqual([
      { type: 'local', root: path.join(dir, 'shared-root') },
      { type: 'local', root: path.join(dir, 'own') },
    ]);
    expect(p.includes).toEqual([]);
  });

  it('compiles the inventory examples of docs/process-file.md', () => {
    const doc = readFileSync(new URL('../../docs/process-file.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('### Inventory files'));
    const blocks = [...section.matchAll(/^```yml\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
    const [processExcerpt, ...inventories] = blocks;
    expect(inventories.every((b) => b.startsWith('# inventory/production.yaml\n'))).toBe(true);
    const docDir = mkdtempSync(path.join(dir, 'doc-'));
    mkdirSync(path.join(docDir, 'inventory'));
    const source = `version: 1\napp: shop\nartifact:\n  path: dist/shop-{{ release }}.tar.gz\n${processExcerpt}phases:\n  - id: deploy\n    steps:\n      - { id: ship, release: {} }\n`;
    const names = inventories.map((text) => {
      writeFileSync(path.join(docDir, 'inventory', 'production.yaml'), text);
      const p = compileProcess(source, path.join(docDir, 'slipway.yaml'));
      return p.environments.production?.fleet?.hosts.map(
        (h) => `${h.name}:${(h.target as { user?: string }).user}`,
      );
    });
    expect(names).toEqual([
      ['web1:deploy', 'web2:deploy'],
      ['web1:deploy', 'web2:deploy', 'db1:postgres-deploy'],
      ['web1:deploy', 'web2:deploy', 'db1.internal:deploy'],
    ]);
  });
});
