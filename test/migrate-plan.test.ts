/** `slipway plan` lists pending migrations: from the artifact and the database's history (real SQLite and PostgreSQL). */

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pc from 'picocolors';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderPlan } from '../src/cli/render.js';
import { planDeployment } from '../src/core/plan.js';
import { readMigrationsFromArtifact } from '../src/migrations/migration-files.js';
import { openDriver, runMigrations } from '../src/migrations/migrator.js';
import { planMigrations } from '../src/migrations/plan-migrations.js';
import { processYaml, type Workspace, workspace } from './engine-fixtures.js';
import { type PostgresServer, startPostgres } from './servers/postgres.js';

let ws: Workspace;
let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
  delete process.env.TEST_PLAN_DB_PASSWORD;
});
afterEach(async () => {
  await ws?.cleanup();
});

const signal = new AbortController().signal;
const FILES = {
  'migrations/0001_create_notes.up.sql': 'CREATE TABLE notes (id INTEGER PRIMARY KEY);',
  'migrations/0001_create_notes.down.sql': 'DROP TABLE notes;',
  'migrations/0002_purge.up.sql': 'DELETE FROM notes;',
};

function phase(database: string): string {
  return `
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: migrate
        migrate: { database: ${database} }
`;
}

/** A process migrating PostgreSQL database `name` of the test server, its password from a secret. */
function postgresProcessYaml(name: string): string {
  return processYaml(
    phase(
      `{ postgres: { url: 'postgres://${pg.user}@127.0.0.1:${pg.port}/${name}', password: '{{ secrets.DB_PASSWORD }}' } }`,
    ),
  ).replace(
    'target: { root: target }',
    'target: { root: target }\n    secrets:\n      DB_PASSWORD: { env: TEST_PLAN_DB_PASSWORD }',
  );
}

describe('plan: pending migrations', () => {
  it('SQLite: lists what is not applied yet, and which ones a rollback cannot undo with SQL', async () => {
    ws = await workspace();
    const process = await ws.process(processYaml(phase("{ sqlite: 'data/app.db' }")));
    const sha = await ws.artifact('v2', FILES);
    // 0001 is already applied to the database.
    await mkdir(path.join(ws.dir, 'data'));
    const files = await readMigrationsFromArtifact(
      path.join(ws.dir, 'artifacts/app-v2.tar.gz'),
      'migrations',
      { sha256: sha },
    );
    const driver = await openDriver(
      { kind: 'sqlite', file: path.join(ws.dir, 'data/app.db') },
      'demo',
      signal,
    );
    await runMigrations(driver, files.slice(0, 1), {
      deploymentId: 1,
      lockTimeoutMs: 1000,
      signal,
      log: () => undefined,
    });
    await driver.close();

    const migrations = await planMigrations(process, 'prod', 'v2', signal);
    expect(migrations).toEqual([
      {
        step: 'deploy.migrate',
        database: `sqlite ${path.join(ws.dir, 'data/app.db')}`,
        pending: [{ id: '0002_purge', irreversible: true }],
        applied: 1,
      },
    ]);
    const plan = {
      ...planDeployment(process, {
        environment: 'prod',
        release: 'v2',
        currentRelease: null,
        succeededIn: [],
      }),
      migrations,
    };
    const text = renderPlan(plan, pc.createColors(false));
    expect(text).toContain('migrations (deploy.migrate) on sqlite');
    expect(text).toContain('1 pending, 1 applied');
    expect(text).toContain('• 0002_purge (irreversible: a rollback restores the backup)');
  });

  it('a database that cannot be reached is said, and every migration of the release is listed', async () => {
    ws = await workspace();
    process.env.TEST_PLAN_DB_PASSWORD = 'not-the-password';
    const process_ = await ws.process(postgresProcessYaml('postgres'));
    await ws.artifact('v1', FILES);
    const [m] = await planMigrations(process_, 'prod', 'v1', signal);
    expect(m?.applied).toBeNull();
    expect(m?.pending.map((p) => p.id)).toEqual(['0001_create_notes', '0002_purge']);
    expect(m?.unreachable).toMatch(
      /cannot connect to postgres slipway@127\.0\.0\.1:\d+\/postgres: password authentication failed/,
    );
    expect(JSON.stringify(m)).not.toContain('not-the-password');
    const text = renderPlan(
      {
        ...planDeployment(process_, {
          environment: 'prod',
          release: 'v1',
          currentRelease: null,
          succeededIn: [],
        }),
        migrations: [m!],
      },
      pc.createColors(false),
    );
    expect(text).toContain('2 in the release; history not readable: cannot connect');
  });

  it('PostgreSQL: reads the history with the password secret', async () => {
    ws = await workspace();
    await pg.createDatabase('plan_pg');
    process.env.TEST_PLAN_DB_PASSWORD = pg.password;
    const process_ = await ws.process(postgresProcessYaml('plan_pg'));
    await ws.artifact('v1', FILES);
    const [m] = await planMigrations(process_, 'prod', 'v1', signal);
    expect(m).toEqual({
      step: 'deploy.migrate',
      database: `postgres slipway@127.0.0.1:${pg.port}/plan_pg`,
      pending: [
        { id: '0001_create_notes', irreversible: false },
        { id: '0002_purge', irreversible: true },
      ],
      applied: 0,
    });
  });
});
