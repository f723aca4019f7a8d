'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');
const {
  APP_DIR,
  makeTarget,
  migrate,
  postJson,
  renderTemplate,
  request,
  startServer,
} = require('./harness.cjs');

test('the config template renders to the JSON the server reads', () => {
  const text = fs.readFileSync(path.join(APP_DIR, 'config/notes.json.tmpl'), 'utf8');
  const vars = { PAGE_SIZE: '20', FEATURES: '{"search": false}' };
  const config = JSON.parse(renderTemplate(text, { release: 'v9', env: 'staging', vars }));
  assert.deepEqual(config, {
    release: 'v9',
    environment: 'staging',
    title: 'Notes (staging)',
    pageSize: 20,
    features: { search: false },
  });
});

describe('server', () => {
  let target;
  let server;

  before(async () => {
    target = makeTarget({ release: 'v3-test', vars: { PAGE_SIZE: '3', FEATURES: '{"search": false}' } });
    const m = await migrate(target);
    assert.equal(m.code, 0, m.stderr);
    server = await startServer(target);
  });
  after(async () => {
    await server?.stop();
    target?.cleanup();
  });

  test('GET /health answers ok', async () => {
    const res = await request(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
  });

  test('GET /version answers the release from the config', async () => {
    const res = await request(`${server.url}/version`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'v3-test');
  });

  test('POST /notes creates a note that GET /notes lists', async () => {
    const created = await postJson(`${server.url}/notes`, { text: 'buy milk' });
    assert.equal(created.status, 201);
    const note = created.json();
    assert.equal(note.text, 'buy milk');
    assert.equal(note.author, 'anonymous');
    assert.equal(typeof note.id, 'number');
    assert.ok(!Number.isNaN(Date.parse(note.created_at)));

    const list = await request(`${server.url}/notes`);
    assert.equal(list.status, 200);
    assert.match(list.headers['content-type'], /^application\/json/);
    assert.deepEqual(
      list.json().find((n) => n.id === note.id),
      note,
    );
  });

  test('POST /notes records the author when given', async () => {
    const created = await postJson(`${server.url}/notes`, { text: 'call Bob', author: 'ann' });
    assert.equal(created.status, 201);
    assert.equal(created.json().author, 'ann');
  });

  test('GET /notes lists at most pageSize notes, newest first', async () => {
    for (const text of ['one', 'two', 'three', 'four']) {
      assert.equal((await postJson(`${server.url}/notes`, { text })).status, 201);
    }
    const list = (await request(`${server.url}/notes`)).json();
    assert.deepEqual(
      list.map((n) => n.text),
      ['four', 'three', 'two'],
    );
  });

  test('GET /notes ignores q while search is switched off', async () => {
    const res = await request(`${server.url}/notes?q=four`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.json().map((n) => n.text),
      ['four', 'three', 'two'],
    );
  });

  test('POST /notes rejects bad input with 400', async () => {
    const bad = ['{"text": ', '[]', '{}', '{"text": ""}', '{"text": 42}', 'null'];
    bad.push('{"text": "hi", "author": ""}', '{"text": "hi", "author": 7}');
    for (const body of bad) {
      const res = await postJson(`${server.url}/notes`, body);
      assert.equal(res.status, 400, `body ${body}`);
      assert.equal(typeof res.json().error, 'string');
    }
  });

  test('POST /notes rejects bodies over 64 KB with 413', async () => {
    const res = await postJson(`${server.url}/notes`, { text: 'x'.repeat(70 * 1024) });
    assert.equal(res.status, 413);
  });

  test('unknown routes answer 404, wrong methods 405', async () => {
    assert.equal((await request(`${server.url}/nope`)).status, 404);
    const res = await request(`${server.url}/notes`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.match(res.headers.allow, /POST/);
  });

  test('GET /metrics exposes a request counter and a latency histogram', async () => {
    await request(`${server.url}/health`);
    const res = await request(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.body, /^# TYPE notes_http_requests_total counter$/m);
    assert.match(
      res.body,
      /^notes_http_requests_total\{method="GET",route="\/health",status="200"\} [1-9]\d*$/m,
    );
    assert.match(res.body, /^# TYPE notes_http_request_duration_seconds histogram$/m);
    assert.match(
      res.body,
      /^notes_http_request_duration_seconds_bucket\{route="\/health",le="\+Inf"\} [1-9]\d*$/m,
    );
    assert.match(res.body, /^notes_http_request_duration_seconds_count\{route="\/health"\} [1-9]\d*$/m);
  });

  test('logs one line per request', () => {
    assert.match(server.output(), /GET \/version 200 [\d.]+ms/);
  });

  test('shuts down cleanly on SIGTERM', async () => {
    const { code } = await server.stop();
    assert.equal(code, 0);
    assert.match(server.output(), /SIGTERM received/);
  });
});

describe('server startup checks', { concurrency: true }, () => {
  test('exits 1 with a clear message when config/notes.json is missing', async (t) => {
    const target = makeTarget({}, { config: false });
    t.after(target.cleanup);
    await migrate(target);
    await assert.rejects(startServer(target), /config file .*notes\.json is missing/);
  });

  test('exits 1 when the database schema is older than this release needs', async (t) => {
    const target = makeTarget();
    t.after(target.cleanup);
    const Database = require('better-sqlite3');
    const db = new Database(path.join(target.dataDir, 'notes.db'));
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, created_at TEXT NOT NULL)');
    db.pragma('user_version = 1');
    db.close();
    await assert.rejects(
      startServer(target),
      /schema version 1, this release needs 2: run migrate\.cjs first/,
    );
  });

  test('exits 1 when the database was never migrated', async (t) => {
    const target = makeTarget();
    t.after(target.cleanup);
    await assert.rejects(startServer(target), /run migrate\.cjs first/);
  });
});

test('with an API token configured, writes need it and reads do not', async (t) => {
  const target = makeTarget();
  t.after(target.cleanup);
  const m = await migrate(target);
  assert.equal(m.code, 0, m.stderr);
  const server = await startServer(target, { NOTES_API_TOKEN: 'test-token-123' });
  t.after(() => server.stop());
  const denied = await postJson(`${server.url}/notes`, { text: 'no token' });
  assert.equal(denied.status, 401);
  const allowed = await request(`${server.url}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-token-123' },
    body: JSON.stringify({ text: 'with token' }),
  });
  assert.equal(allowed.status, 201);
  assert.equal((await request(`${server.url}/notes`)).status, 200);
});

test('with search on, GET /notes?q finds notes holding every word, newest first (slowly: no index yet)', async (t) => {
  const target = makeTarget({ release: 'v3-test', vars: { PAGE_SIZE: '20', FEATURES: '{"search": true}' } });
  t.after(target.cleanup);
  const m = await migrate(target);
  assert.equal(m.code, 0, m.stderr);
  const server = await startServer(target);
  t.after(() => server.stop());
  for (const text of ['buy oat milk', 'call mum', 'buy bread', 'milk the cows']) {
    assert.equal((await postJson(`${server.url}/notes`, { text })).status, 201);
  }
  const started = Date.now();
  const res = await request(`${server.url}/notes?q=${encodeURIComponent('Milk buy')}`);
  const took = Date.now() - started;
  assert.equal(res.status, 200);
  assert.deepEqual(
    res.json().map((n) => n.text),
    ['buy oat milk'],
  );
  assert.equal((await request(`${server.url}/notes`)).json().length, 4);
  // The regression the demo's bake catches: every list request scans, ~100 ms.
  assert.ok(took >= 90, `took ${took} ms`);
});
