/**
 * Fleets from an inventory file, through the CLI as a user runs it: local hosts listed in `inventory/hosts.yaml`,
 * the inventory pinned with the deployment (editing it while a gate waits changes nothing), bad inventories refused.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { slipway } from './cli-helpers.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

const as = (user: string) => ({ SLIPWAY_USER: user, NO_COLOR: '1' });

const PROCESS = `version: 1
app: shop
roles:
  qa: [quinn]
artifact:
  path: artifacts/app-{{ release }}.tar.gz
environments:
  prod:
    inventory: inventory/hosts.yaml
    hostDefaults: { type: local }
phases:
  - id: gate
    steps:
      - id: uat
        approval: { roles: [qa] }
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: mark
        run: [sh, -c, 'echo "{{ host.name }}" > "{{ target.current }}/deployed-as"']
        on: target
`;

const INVENTORY = `# The shop's machines: the web group and a worker.
groups:
  web:
    - { name: web1, root: hosts/web1 }
    - { name: web2, root: hosts/web2 }
  worker:
    - { name: worker1, root: hosts/worker1 }
`;

async function project(inventory: string, releases: readonly string[] = ['v1']): Promise<void> {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-inventory-'));
  await writeFile(path.join(dir, 'slipway.yaml'), PROCESS);
  await mkdir(path.join(dir, 'inventory'));
  await writeFile(path.join(dir, 'inventory', 'hosts.yaml'), inventory);
  for (const release of releases) {
    const src = path.join(dir, 'src', release);
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'VERSION'), release);
    await mkdir(path.join(dir, 'artifacts'), { recursive: true });
    await tar.create({ gzip: true, file: path.join(dir, 'artifacts', `app-${release}.tar.gz`), cwd: src }, [
      '.',
    ]);
  }
}

describe('fleet from an inventory file', () => {
  it('validates, plans and deploys the hosts the inventory lists; an edit while a gate waits changes nothing', async () => {
    await project(INVENTORY);

    const validate = await slipway(['validate'], { cwd: dir, env: as('dev') });
    expect(validate.stderr).toBe('');
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain(
      'prod: 3 hosts (web1, web2, worker1) from inventory inventory/hosts.yaml',
    );
    const plan = await slipway(['plan', 'prod', '-r', 'v1'], { cwd: dir, env: as('dev') });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('3 hosts (web1, web2, worker1) from inventory inventory/hosts.yaml');

    const started = await slipway(['deploy', 'prod', '-r', 'v1'], { cwd: dir, env: as('dev') });
    expect(started.code, started.stderr).toBe(3);
    expect(started.stdout).toContain('slipway approve 1');

    // While the deployment waits for QA, someone reorganizes the inventory: web1 moves, web2 goes, web9 comes.
    const edited = `groups:
  web:
    - { name: web1, root: hosts/elsewhere }
    - { name: web9, root: hosts/web9 }
  worker:
    - { name: worker1, root: hosts/worker1 }
`;
    await writeFile(path.join(dir, 'inventory', 'hosts.yaml'), edited);
    const approved = await slipway(['approve', '1', '-m', 'UAT ok'], { cwd: dir, env: as('quinn') });
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);

    // The deployment went to the hosts of the inventory it started with, at their roots then.
    for (const host of ['web1', 'web2', 'worker1']) {
      expect(await readlink(path.join(dir, 'hosts', host, 'current'))).toMatch(/^releases\/v1/);
      expect(await readFile(path.join(dir, 'hosts', host, 'current', 'deployed-as'), 'utf8')).toBe(
        `${host}\n`,
      );
    }
    expect(existsSync(path.join(dir, 'hosts', 'elsewhere'))).toBe(false);
    expect(existsSync(path.join(dir, 'hosts', 'web9'))).toBe(false);
    expect((await readdir(path.join(dir, 'hosts'))).sort()).toEqual(['web1', 'web2', 'worker1']);

    const status = JSON.parse((await slipway(['status', '1', '--json'], { cwd: dir })).stdout);
    expect(status.state).toBe('succeeded');
    expect(status.fleet.hosts.map((h: { name: string }) => h.name).sort()).toEqual([
      'web1',
      'web2',
      'worker1',
    ]);
    expect(status.processIncludes).toBeUndefined();

    // The inventory's text, path and SHA-256 are in the deployment's first event.
    const store = await openSqliteStore(path.join(dir, '.slipway', 'slipway.db'));
    try {
      const [created] = await store.readEvents(1);
      expect(created?.type).toBe('deployment.created');
      expect((created?.payload as { processIncludes?: unknown } | undefined)?.processIncludes).toEqual([
        {
          path: 'inventory/hosts.yaml',
          text: INVENTORY,
          sha256: createHash('sha256').update(INVENTORY).digest('hex'),
        },
      ]);
    } finally {
      await store.close();
    }

    // A new plan reads the inventory as it is now.
    const next = await slipway(['plan', 'prod', '-r', 'v1'], { cwd: dir, env: as('dev') });
    expect(next.stdout).toContain('3 hosts (web1, web9, worker1) from inventory inventory/hosts.yaml');
  });

  it('resumes from the recorded inventory even when the file is gone', async () => {
    await project(INVENTORY);
    expect((await slipway(['deploy', 'prod', '-r', 'v1'], { cwd: dir, env: as('dev') })).code).toBe(3);
    await rm(path.join(dir, 'inventory'), { recursive: true });
    const approved = await slipway(['approve', '1'], { cwd: dir, env: as('quinn') });
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    for (const host of ['web1', 'web2', 'worker1'])
      expect(await readlink(path.join(dir, 'hosts', host, 'current'))).toMatch(/^releases\/v1/);
  });

  it('refuses a bad inventory with file:line:col and exit 2, writing nothing', async () => {
    await project(`all:
  children:
    web:
      hosts:
        web1: { ansible_connection: local, root: hosts/web1 }
        web2: { ansible_connection: local, root: hosts/web2, ansible_become: true }
`);
    for (const args of [['validate'], ['plan', 'prod', '-r', 'v1'], ['deploy', 'prod', '-r', 'v1']]) {
      const r = await slipway(args, { cwd: dir, env: as('dev') });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        'inventory/hosts.yaml:6:62 all.children.web.hosts.web2.ansible_become: unsupported Ansible variable "ansible_become"',
      );
    }
    await writeFile(
      path.join(dir, 'slipway.yaml'),
      PROCESS.replace('inventory/hosts.yaml', 'inventory/prod.yaml'),
    );
    const missing = await slipway(['deploy', 'prod', '-r', 'v1'], { cwd: dir, env: as('dev') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'slipway.yaml:9:16 environments.prod.inventory: no inventory file at inventory/prod.yaml',
    );
    const history = await slipway(['history', '--json'], { cwd: dir });
    expect(JSON.parse(history.stdout)).toEqual([]);
    expect(existsSync(path.join(dir, 'hosts'))).toBe(false);
  });
});
