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
  assert.match(first.stdout, /^applied 1: create notes$/m);
  const second = await migrate(target);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout.trim(), 'schema up to date (version 1)');
  assert.equal(userVersion(target), 1);
});

test('leaves a newer database alone with a warning (rollback case) and exits 0', async (t) => {
  const target = makeTarget();
  t.after(target.cleanup);
  await migrate(target);
  const Database = require('better-sqlite3');
  const db = new Database(path.join(target.dataDir, 'notes.db'));
  db.exec(`ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous'`);
  db.pragma('user_version = 2');
  db.close();
  const res = await migrate(target);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /warning: database schema is at version 2, newer than this release knows \(1\)/);
  assert.equal(userVersion(target), 2);
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
