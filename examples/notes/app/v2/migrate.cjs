'use strict';
// node migrate.cjs — brings <NOTES_DATA>/notes.db to this release's schema. Safe to run any number of times.
// The schema version lives in PRAGMA user_version; each migration runs in its own transaction together
// with the version bump, so a failed migration leaves the database as it was.

const fs = require('node:fs');
const path = require('node:path');

/**
 * The release's migrations: the same `migrations/NNNN_name.up.sql` files Slipway's `migrate` step applies in a
 * deployment, so there is one schema history. This script is for running the app by hand and for its tests.
 */
const MIGRATIONS = fs
  .readdirSync(path.join(__dirname, 'migrations'))
  .map((f) => /^(\d{4})_(\w+)\.up\.sql$/.exec(f))
  .filter(Boolean)
  .map(([file, version, name]) => ({
    version: Number(version),
    name: name.replace(/_/g, ' '),
    up: fs.readFileSync(path.join(__dirname, 'migrations', file), 'utf8'),
  }))
  .sort((a, b) => a.version - b.version);
const LATEST = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Applies the pending migrations to an open better-sqlite3 database; returns what it did. */
function migrate(db, log = console.log) {
  const applied = [];
  const applyNext = db.transaction(() => {
    // Re-read inside the (immediate) transaction: another migrate may have run meanwhile.
    const version = db.pragma('user_version', { simple: true });
    const next = MIGRATIONS.find((m) => m.version > version);
    if (!next) return null;
    db.exec(next.up);
    db.pragma(`user_version = ${next.version}`); // also when the file forgot to
    return next;
  });
  const before = db.pragma('user_version', { simple: true });
  if (before > LATEST) {
    log(
      `warning: database schema is at version ${before}, newer than this release knows (${LATEST}); ` +
        'leaving it unchanged (newer migrations are additive, so this release still works)',
    );
    return { from: before, to: before, applied };
  }
  for (let m = applyNext.immediate(); m !== null; m = applyNext.immediate()) {
    applied.push(m);
    log(`applied ${m.version}: ${m.name}`);
  }
  const after = db.pragma('user_version', { simple: true });
  if (applied.length === 0) log(`schema up to date (version ${after})`);
  return { from: before, to: after, applied };
}

function main() {
  const dataDir = process.env.NOTES_DATA;
  if (!dataDir) {
    console.error('migrate: NOTES_DATA must name the folder holding notes.db');
    return 1;
  }
  let Database;
  try {
    Database = require('better-sqlite3');
  } catch (err) {
    console.error(
      `migrate: cannot load better-sqlite3 (${err.message}); set NODE_PATH to a node_modules folder that has it`,
    );
    return 1;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'notes.db');
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return 0;
  } catch (err) {
    console.error(`migrate: ${file}: ${err.message}`);
    return 1;
  } finally {
    db.close();
  }
}

if (require.main === module) process.exitCode = main();

module.exports = { migrate, MIGRATIONS, LATEST };
