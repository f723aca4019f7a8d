'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { test } = require('node:test');
const { makeTarget, migrate } = require('./harness.cjs');

function userVersion(target) {
  const Database = require('better-sqlite3');
  const db = new Database(path.join(target.dataDir, 'notes.db'));
  try {
    return db.pragma('user_version', { simple: true });
  } finally {
    db.close();
  }
}

test('migrates a new database, then finds it up to date', async (t) => {
  const target = makeTarget();
  t.after(target.cleanup);
  const first = await migrate(target);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^applied 1: create notes\napplied 2: add author$/m);
  const second = await migrate(target);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout.trim(), 'schema up to date (version 2)');
  assert.equal(userVersion(target), 2);
});

test('upgrades a v1 database and keeps its notes', async (t) => {
  const target = makeTarget();
  t.after(target.cleanup);
  const Database = require('better-sqlite3');
  const db = new Database(path.join(target.dataDir, 'notes.db'));
  db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, created_at TEXT NOT NULL)');
  db.prepare('INSERT INTO notes (text, created_at) VALUES (?, ?)').run('from v1', '2024-01-01T00:00:00.000Z');
  db.pragma('user_version = 1');
  db.close();

  const res = await migrate(target);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout.trim(), 'applied 2: add author');
  const check = new Database(path.join(target.dataDir, 'notes.db'), { readonly: true });
  try {
    assert.deepEqual(check.prepare('SELECT id, text, author, created_at FROM notes').all(), [
      { id: 1, text: 'from v1', author: 'anonymous', created_at: '2024-01-01T00:00:00.000Z' },
    ]);
  } finally {
    check.close();
  }
  assert.equal(userVersion(target), 2);
});

test('leaves a newer database alone with a warning (rollback case) and exits 0', async (t) => {
  const target = makeTarget();
  t.after(target.cleanup);
  await migrate(target);
  const Database = require('better-sqlite3');
  const db = new Database(path.join(target.dataDir, 'notes.db'));
  db.exec('CREATE TABLE tags (note_id INTEGER NOT NULL, tag TEXT NOT NULL)');
  db.pragma('user_version = 3');
  db.close();
  const res = await migrate(target);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /warning: database schema is at version 3, newer than this release knows \(2\)/);
  assert.equal(userVersion(target), 3);
});

test('fails clearly without NOTES_DATA', async () => {
  const target = makeTarget();
  try {
    const { run } = require('./harness.cjs');
    const env = target.env();
    delete env.NOTES_DATA;
    const res = await run(path.join(target.dir, 'migrate.cjs'), [], env);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /NOTES_DATA/);
  } finally {
    target.cleanup();
  }
});
