/** backup and verify-backup as deployment steps, and "final backup verification" keeping production from starting. */

import { existsSync } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupStore } from '../src/backup/backup-store.js';
import { compileProcess } from '../src/config/load-process.js';
import { ConfigError } from '../src/core/errors.js';
import { processYaml, type Workspace, workspace } from './engine-fixtures.js';

let ws: Workspace;

afterEach(async () => {
  await ws?.cleanup();
});

const BACKUPS = '    backups: { dir: backups, keep: 5, maxAge: 7d }';

const BACKUP_PHASE = `
  - id: backup
    steps:
      - id: backup
        backup:
          items:
            - sqlite: data/notes.db
            - files: config
      - id: verify
        verify-backup: { maxAge: 1h }`;

const PRODUCTION = `
  - id: production
    requireVerifiedBackup: 6h
    steps:
      - id: ship
        release: {}`;

async function setUp(phases: string): Promise<void> {
  ws = await workspace();
  ws.yaml = processYaml(phases, BACKUPS);
  await mkdir(path.join(ws.dir, 'data'));
  await mkdir(path.join(ws.dir, 'config'));
  const db = new Database(path.join(ws.dir, 'data', 'notes.db'));
  db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('a'), ('b'), ('c')");
  db.close();
  await writeFile(path.join(ws.dir, 'config', 'app.env'), 'PORT=1\n');
}

function deploy(release: string) {
  return ws.deploy(release, { VERSION: release });
}

function store(): BackupStore {
  return new BackupStore({ dir: path.join(ws.dir, 'backups'), keep: 5, maxAgeMs: 7 * 86_400_000 }, 'prod');
}

async function stepEvents(id: number) {
  return (await ws.store.readEvents(id)).filter(
    (e) => e.type === 'step.succeeded' || e.type === 'step.failed',
  );
}

describe('backup steps in a deployment', () => {
  it('backs up, verifies, and lets the production phase start', async () => {
    await setUp(BACKUP_PHASE + PRODUCTION);
    const view = await deploy('v1');
    expect(view.state).toBe('succeeded');
    const [set] = await store().list();
    expect(set?.manifest).toMatchObject({ deploymentId: view.id, release: 'v1', environment: 'prod' });
    expect(set?.verified?.by).toBe(`deployment ${view.id} step verify`);
    const events = await stepEvents(view.id);
    const backup = events.find((e) => e.payload.step === 'backup');
    const verify = events.find((e) => e.payload.step === 'verify');
    expect(backup?.payload).toMatchObject({
      details: { set: set?.id, items: [{ name: 'sqlite-notes' }, { name: 'files-config' }] },
    });
    expect(verify?.payload).toMatchObject({
      details: {
        set: set?.id,
        checks: [{ name: 'sqlite-notes', tables: { notes: 3 } }, { name: 'files-config' }],
      },
    });
    expect((verify?.payload as { summary: string } | undefined)?.summary).toMatch(/verified: 2 items/);
  });

  it('refuses to start production without a verified backup: the deployment fails before anything changes', async () => {
    await setUp(
      `
  - id: backup
    steps:
      - id: backup
        backup:
          items:
            - sqlite: data/notes.db${PRODUCTION}`,
    );
    const view = await deploy('v1');
    expect(view.state).toBe('failed');
    const failed = (await ws.store.readEvents(view.id)).find((e) => e.type === 'deployment.failed');
    expect(failed?.payload).toMatchObject({ code: 'SLW_NO_VERIFIED_BACKUP' });
    expect((failed?.payload as { reason: string } | undefined)?.reason).toMatch(
      /phase "production" needs a verified backup of prod at most 6h old before it starts; newest: \S+-d1, \d+ms old, not verified/,
    );
    // The release step never ran: nothing was unpacked, `current` does not exist.
    expect(view.phases.find((p) => p.id === 'production')?.steps[0]?.attempts).toBe(0);
    expect(existsSync(path.join(ws.dir, 'target', 'current'))).toBe(false);
    const releases = path.join(ws.dir, 'target', 'releases');
    expect(existsSync(releases) ? await readdir(releases) : []).toEqual([]);
  });

  it('fails verification of a corrupted set with the item and checksums, and production does not start', async () => {
    await setUp(
      `
  - id: backup
    steps:
      - id: backup
        backup:
          items:
            - sqlite: data/notes.db
  - id: verify
    steps:
      - id: verify
        verify-backup: {}${PRODUCTION}`,
    );
    // First deployment: backed up and verified, deployed.
    expect((await deploy('v1')).state).toBe('succeeded');
    // Someone damages the newest set between deployments; the next deployment verifies that one again.
    ws.yaml = processYaml(
      `
  - id: verify
    steps:
      - id: verify
        verify-backup: {}${PRODUCTION}`,
      BACKUPS,
    );
    const [set] = await store().list();
    const fh = await open(path.join(set?.dir as string, 'sqlite-notes.sqlite'), 'r+');
    await fh.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, 100);
    await fh.close();
    const view = await deploy('v2');
    expect(view.state).toBe('failed');
    const failed = (await stepEvents(view.id)).find((e) => e.type === 'step.failed');
    expect(failed?.payload).toMatchObject({ step: 'verify', code: 'SLW_BACKUP_CORRUPT' });
    expect((failed?.payload as { error: string } | undefined)?.error).toContain(
      `sqlite-notes): SHA-256 expected ${set?.manifest.items[0]?.sha256}, found`,
    );
    expect(view.phases.find((p) => p.id === 'production')?.status).toBe('pending');
    expect((await store().read(set?.id as string))?.verified).toBeNull();
  });

  it('refuses bad backup config with file:line:col', () => {
    const bad = processYaml(
      `
  - id: backup
    requireVerifiedBackup: soon
    steps:
      - id: backup
        backup:
          items:
            - postgres: { url: 'postgresql://app:hunter2@db/app' }
            - sqlite: '{{ secrets.NOPE }}'`,
      '    backups: { keep: 0 }',
    );
    try {
      compileProcess(bad, 'slipway.yaml');
      throw new Error('should not compile');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const text = e.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`).join('\n');
      expect(text).toMatch(/backups\.keep: .*expected a whole number, 1 or more/);
      expect(text).toMatch(/requireVerifiedBackup: .*expected a duration/);
      expect(text).toMatch(/postgres\.url: .*without a password/);
      expect(e.message).not.toContain('hunter2');
    }
  });
});
