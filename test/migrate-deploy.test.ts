/** Deployments with `migrate` and `integrity` steps through the real engine, a local target, real SQLite and PostgreSQL. */

import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView } from '../src/core/deployment-view.js';
import { startManualRollback } from '../src/engine/rollback.js';
import { liveDeploymentOn } from '../src/engine/start-deployment.js';
import { DANA, processYaml, type Workspace, workspace } from './engine-fixtures.js';
import { type PostgresServer, startPostgres } from './servers/postgres.js';

let ws: Workspace;
afterEach(async () => {
  await ws?.cleanup();
});

const SERVICE = `
service:
  start: [sh, -c, 'cat "$SLIPWAY_CURRENT/VERSION" > "$SLIPWAY_SHARED/running"']
  stop: [sh, -c, 'rm -f "$SLIPWAY_SHARED/running"']
`;

/** ship → capture integrity → migrate → restart → verify integrity, on the given database YAML. */
function deployPhase(database: string): string {
  return `
  - id: deploy
    steps:
      - id: ship
        release: { keep: 5 }
      - id: before
        integrity:
          capture:
            database: ${database}
            checks:
              - { id: notes-kept, query: 'SELECT count(*) FROM notes', expect: noDrop }
              - { id: no-blank, query: "SELECT id FROM notes WHERE text = ''", expect: empty }
      - id: migrate
        migrate: { database: ${database}, lockTimeout: 5s }
      - id: restart
        restart: {}
      - id: after
        integrity: { verify: before }
`;
}
const SQLITE_DB = "{ sqlite: '{{ target.shared }}/app.db' }";

const CREATE_NOTES = {
  'migrations/0001_create_notes.up.sql':
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);\nINSERT INTO notes (id, text) VALUES (1, 'a'), (2, 'b'), (3, 'c');",
  'migrations/0001_create_notes.down.sql': 'DROP TABLE notes;',
};
const ADD_AUTHOR = {
  'migrations/0002_add_author.up.sql':
    "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous';",
  'migrations/0002_add_author.down.sql': 'ALTER TABLE notes DROP COLUMN author;',
};
const ADD_AUTHOR_AS_0003 = {
  'migrations/0003_add_author.up.sql': ADD_AUTHOR['migrations/0002_add_author.up.sql'],
  'migrations/0003_add_author.down.sql': ADD_AUTHOR['migrations/0002_add_author.down.sql'],
};
/** Second statement fails: the first one's table must not survive. */
const BROKEN_TAGS = {
  'migrations/0003_tags.up.sql':
    'CREATE TABLE tags (id INTEGER PRIMARY KEY);\nINSERT INTO missing_table VALUES (1);',
  'migrations/0003_tags.down.sql': 'DROP TABLE tags;',
};

function deploy(release: string, files: Record<string, string>): Promise<DeploymentView> {
  return ws.deploy(release, { VERSION: release, ...files });
}

function sqlite<T>(body: (db: Database.Database) => T): T {
  const db = new Database(path.join(ws.dir, 'target/shared/app.db'));
  try {
    return body(db);
  } finally {
    db.close();
  }
}
const history = () =>
  sqlite((db) => db.prepare('SELECT name, deployment_id FROM slipway_migrations ORDER BY version').all());
const tableExists = (name: string) =>
  sqlite(
    (db) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined,
  );
const stepOf = (view: DeploymentView, id: string) =>
  view.phases.flatMap((p) => p.steps).find((s) => s.id === id);

async function stepDetails(view: DeploymentView, step: string) {
  for (const e of await ws.store.readEvents(view.id)) {
    if ((e.type === 'step.succeeded' || e.type === 'step.failed') && e.payload.step === step)
      return e.payload.details;
  }
  return undefined;
}

describe('migrate step (SQLite)', () => {
  it('applies the release migrations before the restart and records them with the deployment id', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    const v1 = await deploy('v1', CREATE_NOTES);
    expect(v1.state).toBe('succeeded');
    expect(stepOf(v1, 'migrate')?.result).toMatch(/^applied 0001_create_notes \(sqlite .*app\.db\)$/);
    const v2 = await deploy('v2', { ...CREATE_NOTES, ...ADD_AUTHOR });
    expect(v2.state).toBe('succeeded');
    expect(history()).toEqual([
      { name: '0001_create_notes', deployment_id: v1.id },
      { name: '0002_add_author', deployment_id: v2.id },
    ]);
    // The integrity steps measured before and after, and recorded both.
    const after = (await stepDetails(v2, 'after')) as {
      checks: { id: string; before: unknown; after: unknown }[];
    };
    expect(after.checks.find((c) => c.id === 'notes-kept')).toMatchObject({
      before: { value: 3, rows: 1 },
      after: { value: 3, rows: 1 },
      ok: true,
    });
  });

  it('a migration failing half-way: nothing of it stays, current is not switched, the rollback undoes the run', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    const v1 = await deploy('v1', CREATE_NOTES);
    expect(v1.state).toBe('succeeded');
    const v2 = await deploy('v2', { ...CREATE_NOTES, ...ADD_AUTHOR, ...BROKEN_TAGS });
    const migrate = stepOf(v2, 'migrate');
    expect(migrate?.status).toBe('failed');
    expect(migrate?.error?.code).toBe('SLW_MIGRATION_FAILED');
    expect(migrate?.error?.message).toMatch(
      /migrations\/0003_tags\.up\.sql failed on sqlite .*missing_table/,
    );
    expect(migrate?.error?.message).toContain('applied before it in this run and kept: 0002_add_author');
    expect(stepOf(v2, 'restart')?.status).toBe('pending');
    // 0002 was applied by this deployment, so it is rolled back: its down runs, v1 keeps running.
    expect(v2.state).toBe('rolled-back');
    expect(v2.rollback?.actions.map((a) => `${a.action}:${a.ok}`)).toEqual([
      'stop:true',
      'undo deploy.migrate:true',
      'switch:true',
      'start:true',
    ]);
    expect(v2.rollback?.actions[1]?.detail).toMatch(/^ran 1 down migration \(0002_add_author\) on sqlite /);
    expect(tableExists('tags')).toBe(false);
    expect(history()).toEqual([{ name: '0001_create_notes', deployment_id: v1.id }]);
    expect(
      sqlite((db) =>
        db
          .prepare('PRAGMA table_info(notes)')
          .all()
          .map((c) => (c as { name: string }).name),
      ),
    ).toEqual(['id', 'text']);
    expect(await readlink(path.join(ws.dir, 'target/current'))).toContain('v1-d1');
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
  });

  it('a first deployment failing half-way fails without a release to return to; what it applied is recorded', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    const v1 = await deploy('v1', { ...CREATE_NOTES, ...BROKEN_TAGS });
    expect(v1.state).toBe('failed');
    expect(v1.outcome).toContain('deploy.migrate failed: migrations/0003_tags.up.sql failed');
    expect(existsSync(path.join(ws.dir, 'target/current'))).toBe(false);
    expect(tableExists('tags')).toBe(false);
    expect(history()).toEqual([{ name: '0001_create_notes', deployment_id: v1.id }]);
  });

  it('an edited applied migration is refused before any change, and nothing needs undoing', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    const v2 = await deploy('v2', {
      ...CREATE_NOTES,
      'migrations/0001_create_notes.up.sql': 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);',
      ...ADD_AUTHOR,
    });
    expect(stepOf(v2, 'migrate')?.error?.code).toBe('SLW_MIGRATION_CHANGED');
    expect(stepOf(v2, 'migrate')?.error?.message).toMatch(
      /migrations\/0001_create_notes\.up\.sql was changed after it was applied .*SHA-256 is now [0-9a-f]{64}, applied was [0-9a-f]{64}/,
    );
    // Nothing changed, so there is no rollback: the live release was never touched.
    expect(v2.state).toBe('failed');
    expect(v2.rollback).toBeUndefined();
    expect(v2.outcome).toContain('the live release was not changed');
    expect(history()).toEqual([{ name: '0001_create_notes', deployment_id: 1 }]);
  });

  it('a manual rollback of a succeeded deployment runs its down migrations', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    expect((await deploy('v2', { ...CREATE_NOTES, ...ADD_AUTHOR })).state).toBe('succeeded');
    const process = await ws.process(ws.yaml);
    const live = await liveDeploymentOn(ws.store, process, 'prod');
    await startManualRollback(ws.store, live, DANA, 'schema problem');
    const view = await ws.engine.run(live.id);
    expect(view.state).toBe('rolled-back');
    expect(view.rollback?.actions.find((a) => a.action === 'undo deploy.migrate')?.detail).toMatch(
      /^ran 1 down migration \(0002_add_author\)/,
    );
    expect(history()).toEqual([{ name: '0001_create_notes', deployment_id: 1 }]);
  });
});

describe('rollback of an irreversible migration', () => {
  it('restores the verified backup taken before the migration instead of running downs, and says so', async () => {
    ws = await workspace();
    const phase = deployPhase(SQLITE_DB).replace(
      '      - id: before\n',
      `      - id: backup
        backup: { items: [{ sqlite: '{{ target.shared }}/app.db' }] }
      - id: verify-backup
        verify-backup: {}
      - id: before
`,
    );
    ws.yaml = processYaml(phase, SERVICE);
    // The backup step needs a database to back up, even on the first deployment.
    await mkdir(path.join(ws.dir, 'target/shared'), { recursive: true });
    sqlite((db) => db.exec('CREATE TABLE placeholder (x INTEGER)'));
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    const v2 = await deploy('v2', {
      ...CREATE_NOTES,
      // Deleting rows cannot be undone by SQL: declared irreversible (its "down" would not bring them back).
      'migrations/0002_purge.up.sql': '-- slipway: irreversible\nDELETE FROM notes WHERE id > 1;',
      'migrations/0002_purge.down.sql': 'SELECT 1;',
      ...ADD_AUTHOR_AS_0003,
    });
    expect(stepOf(v2, 'after')?.error?.code).toBe('SLW_INTEGRITY_VIOLATION');
    expect(v2.state).toBe('rolled-back');
    const undo = v2.rollback?.actions.find((a) => a.action === 'undo deploy.migrate');
    expect(undo?.ok).toBe(true);
    expect(undo?.detail).toMatch(
      /^restored backup \d{8}T\d{9}Z-d2 because 0002_purge is declared irreversible \(undoes 0003_add_author, 0002_purge\)$/,
    );
    // The data and the history are as the backup had them: before v2's migrations.
    expect(sqlite((db) => db.prepare('SELECT count(*) AS n FROM notes').get())).toEqual({ n: 3 });
    expect(history()).toEqual([{ name: '0001_create_notes', deployment_id: 1 }]);
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
  });

  it('without a verified backup the rollback fails and says why, leaving the environment to a person', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    const v2 = await deploy('v2', {
      ...CREATE_NOTES,
      'migrations/0002_purge.up.sql': 'DELETE FROM notes WHERE id > 1;',
    });
    expect(v2.state).toBe('failed');
    const undo = v2.rollback?.actions.find((a) => a.action === 'undo deploy.migrate');
    expect(undo?.ok).toBe(false);
    expect(undo?.detail).toContain(
      'cannot undo 0002_purge: 0002_purge has no down migration, and restoring a verified backup failed: no verified backup of',
    );
    expect(v2.outcome).toContain('the environment needs a person');
  });
});

describe('integrity checks', () => {
  it('a migration that deletes rows violates noDrop after the switch and the deployment is rolled back', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    const v2 = await deploy('v2', {
      ...CREATE_NOTES,
      'migrations/0002_archive.up.sql':
        'CREATE TABLE archived AS SELECT * FROM notes WHERE id > 1;\nDELETE FROM notes WHERE id > 1;',
      'migrations/0002_archive.down.sql': 'INSERT INTO notes SELECT * FROM archived;\nDROP TABLE archived;',
    });
    const after = stepOf(v2, 'after');
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('SLW_INTEGRITY_VIOLATION');
    expect(after?.error?.message).toContain('notes-kept (noDrop): 3 → 1, dropped by 2');
    expect(v2.state).toBe('rolled-back');
    expect(v2.rollback?.actions.find((a) => a.action === 'undo deploy.migrate')?.detail).toMatch(
      /^ran 1 down migration \(0002_archive\)/,
    );
    // The rows are back, and so is v1.
    expect(sqlite((db) => db.prepare('SELECT count(*) AS n FROM notes').get())).toEqual({ n: 3 });
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
    // The before/after values are in the failure's details (for the incident timeline).
    const details = (await stepDetails(v2, 'after')) as {
      checks: { id: string; before: unknown; after: unknown; ok: boolean }[];
    };
    expect(details.checks).toContainEqual({
      id: 'notes-kept',
      expect: 'noDrop',
      before: { value: 3, rows: 1 },
      after: { value: 1, rows: 1 },
      ok: false,
    });
  });

  it('an empty check that finds rows fails with the row count', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    const v2 = await deploy('v2', {
      ...CREATE_NOTES,
      'migrations/0002_blank.up.sql': "UPDATE notes SET text = '' WHERE id = 2;",
      'migrations/0002_blank.down.sql': "UPDATE notes SET text = 'b' WHERE id = 2;",
    });
    expect(stepOf(v2, 'after')?.error?.message).toContain('no-blank (empty): 1 row, expected none');
    expect(v2.state).toBe('rolled-back');
    expect(sqlite((db) => db.prepare('SELECT text FROM notes WHERE id = 2').get())).toEqual({ text: 'b' });
  });
});

describe('integrity capture', () => {
  it('a broken check query fails the capture, before any migration runs or anything is switched', async () => {
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(SQLITE_DB), SERVICE);
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    ws.yaml = processYaml(
      deployPhase(SQLITE_DB).replace(
        'expect: empty }',
        "expect: empty }\n              - { id: typo, query: 'SELEC count(*) FROM notes', expect: noDrop }",
      ),
      SERVICE,
    );
    const v2 = await deploy('v2', { ...CREATE_NOTES, ...ADD_AUTHOR });
    const before = stepOf(v2, 'before');
    expect(before?.error?.code).toBe('SLW_INTEGRITY_QUERY');
    expect(before?.error?.message).toMatch(
      /^integrity check typo: error \(near "SELEC": syntax error\) on sqlite /,
    );
    expect(stepOf(v2, 'migrate')?.attempts).toBe(0);
    expect(v2.state).toBe('failed');
    expect(v2.outcome).toContain('the live release was not changed');
    expect(history()).toEqual([{ name: '0001_create_notes', deployment_id: 1 }]);
  });
});

describe('migrate step (PostgreSQL)', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
    delete process.env.TEST_APP_DB_PASSWORD;
  });

  it('migrates with the password from a secret, rolls back with downs, and never records the password', async () => {
    await pg.createDatabase('notes_e2e');
    process.env.TEST_APP_DB_PASSWORD = pg.password;
    const database = `{ postgres: { url: 'postgres://${pg.user}@127.0.0.1:${pg.port}/notes_e2e', password: '{{ secrets.DB_PASSWORD }}' } }`;
    ws = await workspace();
    ws.yaml = processYaml(deployPhase(database), SERVICE).replace(
      'target: { root: target }',
      'target: { root: target }\n    secrets:\n      DB_PASSWORD: { env: TEST_APP_DB_PASSWORD }',
    );
    const v1 = await deploy('v1', CREATE_NOTES);
    expect(v1.state).toBe('succeeded');
    const v2 = await deploy('v2', { ...CREATE_NOTES, ...ADD_AUTHOR, ...BROKEN_TAGS });
    expect(stepOf(v2, 'migrate')?.error?.message).toMatch(
      /0003_tags\.up\.sql failed on postgres slipway@127\.0\.0\.1:\d+\/notes_e2e: relation "missing_table" does not exist/,
    );
    expect(v2.state).toBe('rolled-back');
    expect(await pg.query("SELECT to_regclass('tags') AS t", [], 'notes_e2e')).toEqual([{ t: null }]);
    expect(await pg.query('SELECT name, deployment_id FROM slipway_migrations', [], 'notes_e2e')).toEqual([
      { name: '0001_create_notes', deployment_id: String(v1.id) },
    ]);
    const columns = await pg.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes' ORDER BY ordinal_position",
      [],
      'notes_e2e',
    );
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'text']);
    for (const id of [v1.id, v2.id]) {
      const text = JSON.stringify(await ws.store.readEvents(id));
      expect(text).not.toContain(pg.password);
    }
  });

  it('an irreversible migration on PostgreSQL is rolled back by restoring the verified pg_dump backup', async () => {
    await pg.createDatabase('notes_restore');
    process.env.TEST_APP_DB_PASSWORD = pg.password;
    const url = `postgres://${pg.user}@127.0.0.1:${pg.port}/notes_restore`;
    const database = `{ postgres: { url: '${url}', password: '{{ secrets.DB_PASSWORD }}' } }`;
    ws = await workspace();
    const phase = deployPhase(database).replace(
      '      - id: before\n',
      `      - id: backup
        backup: { items: [{ postgres: { url: '${url}', password: '{{ secrets.DB_PASSWORD }}' } }] }
      - id: verify-backup
        verify-backup: {}
      - id: before
`,
    );
    ws.yaml = processYaml(phase, SERVICE).replace(
      'target: { root: target }',
      'target: { root: target }\n    secrets:\n      DB_PASSWORD: { env: TEST_APP_DB_PASSWORD }',
    );
    expect((await deploy('v1', CREATE_NOTES)).state).toBe('succeeded');
    const v2 = await deploy('v2', {
      ...CREATE_NOTES,
      'migrations/0002_purge.up.sql': 'DELETE FROM notes WHERE id > 1;',
    });
    expect(v2.state).toBe('rolled-back');
    const undo = v2.rollback?.actions.find((a) => a.action === 'undo deploy.migrate');
    expect(undo?.detail).toMatch(
      /^restored backup \S+-d2 because 0002_purge has no down migration \(undoes 0002_purge\)$/,
    );
    expect(await pg.query('SELECT count(*)::int AS n FROM notes', [], 'notes_restore')).toEqual([{ n: 3 }]);
    expect(await pg.query('SELECT name FROM slipway_migrations', [], 'notes_restore')).toEqual([
      { name: '0001_create_notes' },
    ]);
    const text = JSON.stringify(await ws.store.readEvents(v2.id));
    expect(text).not.toContain(pg.password);
  });
});
