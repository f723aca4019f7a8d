/** HTTP, auth, JSON, SQL (SQLite and a real PostgreSQL) and command monitors against real services started here. */

import fs from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Monitor } from '../src/core/ports.js';
import type { MonitorSpec } from '../src/core/process.js';
import { createMonitor } from '../src/monitors/create-monitor.js';
import type { MonitorContext } from '../src/monitors/monitor-context.js';
import { createLocalTarget } from '../src/targets/local/local-target.js';
import { monitorContext, monitorSpecs, type NotesServer, startNotes } from './monitor-fixtures.js';
import { freePort } from './servers/free-port.js';
import { type PostgresServer, startPostgres } from './servers/postgres.js';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'tok-4f1d2c9a8b7e6d5c';
const API_KEY = 'key-9a8b7c6d5e4f';

/** What the test service answers, changed by the tests. */
const state = { status: 'ok', depth: 7 as unknown };
let app: Server;
let appUrl: string;
let notes: NotesServer;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

beforeAll(async () => {
  app = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    switch (url.pathname) {
      case '/status':
        return json(200, { status: state.status, checks: [{ name: 'db', ok: true }] });
      case '/slow':
        await sleep(Number(url.searchParams.get('ms')));
        return json(200, { status: 'ok' });
      case '/redirect':
        return res.writeHead(302, { location: '/status' }).end();
      case '/echo-auth':
        // A careless service that echoes what it was sent: the monitor's detail must still hide the key.
        return json(401, { error: `bad key ${req.headers['x-api-key']}` });
      case '/login': {
        if (req.headers['content-type'] !== 'application/json') return json(415, { error: 'send JSON' });
        const sent = JSON.parse(await readBody(req)) as { user: string; password: string };
        if (sent.password === PASSWORD) return json(200, { token: TOKEN, user: sent.user });
        return json(401, { error: `wrong password "${sent.password}" for ${sent.user}` });
      }
      case '/login-without-token':
        await readBody(req);
        return json(200, { ok: true });
      case '/stats':
        return json(200, { queue: { depth: state.depth } });
      case '/not-json':
        return res.writeHead(200).end('<html>stats</html>');
      default:
        return json(404, { error: 'no such route' });
    }
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as net.AddressInfo).port}`;
  notes = await startNotes('v2');
});
afterAll(async () => {
  await new Promise((resolve) => app?.close(resolve));
  await notes?.stop();
});

/** Compiles the YAML with the context's vars and secrets declared, and creates the monitor. */
function monitor(yaml: string, context: MonitorContext = monitorContext()): Monitor {
  const declare = {
    vars: Object.keys(context.scope.vars),
    secrets: Object.keys(context.scope.secrets ?? {}),
  };
  const [spec] = monitorSpecs(yaml, declare);
  return createMonitor(spec as MonitorSpec, context);
}
const sample = (m: Monitor) => m.sample(AbortSignal.timeout(20_000));

describe('http monitor', () => {
  it('passes on the real notes service and measures its latency', async () => {
    const m = monitor(`
      - id: health
        http: { url: '${notes.url}/health', expect: { status: 200, body: ok } }`);
    const s = await sample(m);
    expect(s.ok).toBe(true);
    expect(s.value).toBeGreaterThanOrEqual(0);
    expect(s.value).toBeLessThan(1000);
    expect(s.detail).toMatch(/^200 in \d+ ms$/);
    expect(m.description).toBe(`http GET ${notes.url}/health`);
  });

  it('renders vars into the URL', async () => {
    const port = new URL(notes.url).port;
    const m = monitor(
      `
      - id: health
        http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/health' }`,
      monitorContext({ vars: { HOST: '127.0.0.1', PORT: port } }),
    );
    expect((await sample(m)).ok).toBe(true);
  });

  it('checks JSON path assertions and says which one failed', async () => {
    const m = monitor(`
      - id: status
        http: { url: '${appUrl}/status', expect: { json: { "$.status": ok, "$.checks[0].ok": true } } }`);
    state.status = 'ok';
    expect((await sample(m)).ok).toBe(true);
    state.status = 'degraded';
    const s = await sample(m);
    expect(s.ok).toBe(false);
    expect(s.detail).toMatch(/^200 in \d+ ms: \$\.status is "degraded", expected "ok"$/);
    state.status = 'ok';
  });

  it('fails on a wrong status (a redirect is not followed) and on a body that is not JSON', async () => {
    const redirect = await sample(
      monitor(`
      - id: r
        http: { url: '${appUrl}/redirect' }`),
    );
    expect(redirect.ok).toBe(false);
    expect(redirect.detail).toMatch(/^302 in \d+ ms: expected 200$/);
    const notJson = await sample(
      monitor(`
      - id: r
        http: { url: '${appUrl}/not-json', expect: { json: { "$.a": 1 } } }`),
    );
    expect(notJson.detail).toContain('body is not JSON (<html>stats</html>)');
  });

  it('fails beyond maxLatency, and a timeout is a failed sample, not a hang', async () => {
    const slow = await sample(
      monitor(`
      - id: slow
        http: { url: '${appUrl}/slow?ms=300', maxLatency: 100ms }`),
    );
    expect(slow.ok).toBe(false);
    expect(slow.value).toBeGreaterThanOrEqual(300);
    expect(slow.detail).toContain('slower than the 100 ms limit');

    const started = Date.now();
    const timedOut = await sample(
      monitor(`
      - id: slow
        timeout: 300ms
        http: { url: '${appUrl}/slow?ms=3000' }`),
    );
    expect(timedOut).toMatchObject({ ok: false, detail: 'timed out after 300ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('never shows a secret header, even when the service echoes it', async () => {
    const m = monitor(
      `
      - id: keyed
        http: { url: '${appUrl}/echo-auth', headers: { x-api-key: '{{ secrets.API_KEY }}' } }`,
      monitorContext({ secrets: { API_KEY } }),
    );
    const s = await sample(m);
    expect(s.ok).toBe(false);
    expect(s.detail).toContain('401');
    expect(s.detail).toContain('bad key [redacted]');
    expect(s.detail).not.toContain(API_KEY);
  });

  it('a refused connection is a failed sample; an abort throws', async () => {
    const closed = await freePort();
    const m = monitor(`
      - id: down
        http: { url: 'http://127.0.0.1:${closed}/health' }`);
    expect(await sample(m)).toMatchObject({
      ok: false,
      detail: `GET http://127.0.0.1:${closed}/health: connection refused`,
    });
    const controller = new AbortController();
    const pending = monitor(`
      - id: slow
        http: { url: '${appUrl}/slow?ms=3000' }`).sample(controller.signal);
    setTimeout(() => controller.abort(new Error('stop sampling')), 100);
    await expect(pending).rejects.toThrow('stop sampling');
  });
});

describe('auth monitor', () => {
  const login = (password: string, extra = '') =>
    monitor(
      `
      - id: login
        auth: { url: '${appUrl}/login', body: '{"user":"smoke","password":"{{ secrets.SMOKE_PASSWORD }}"}', tokenPath: '$.token'${extra} }`,
      monitorContext({ secrets: { SMOKE_PASSWORD: password } }),
    );

  it('succeeds when the login answers 200 with a token, without showing the token', async () => {
    const s = await sample(login(PASSWORD));
    expect(s.ok).toBe(true);
    expect(s.detail).toMatch(new RegExp(`^200 in \\d+ ms, token received \\(${TOKEN.length} characters\\)$`));
    expect(s.detail).not.toContain(TOKEN);
    const body = await sample(login(PASSWORD, ", expect: { body: 'welcome {{ app }}' }"));
    expect(body.ok).toBe(false);
    expect(body.detail).toMatch(/: body does not contain welcome shop$/);
  });

  it('fails on a wrong password and never shows the password, even echoed back', async () => {
    const wrong = 'hunter2-wrong-password';
    const s = await sample(login(wrong));
    expect(s.ok).toBe(false);
    expect(s.detail).toContain('401');
    expect(s.detail).toContain('login refused');
    expect(s.detail).toContain('wrong password \\"[redacted]\\" for smoke');
    expect(s.detail).not.toContain(wrong);
  });

  it('fails when no token comes back, and hides a token inside a failure', async () => {
    const noToken = monitor(`
      - id: login
        auth: { url: '${appUrl}/login-without-token', body: '{}', tokenPath: '$.token' }`);
    expect((await sample(noToken)).detail).toMatch(/no token at \$\.token in the response$/);
    // A status the check does not accept: the body (holding the token) is shown, the token is not.
    const s = await sample(login(PASSWORD, ', expect: { status: 201 }'));
    expect(s.ok).toBe(false);
    expect(s.detail).toContain('"token":"[redacted]"');
    expect(s.detail).not.toContain(TOKEN);
  });
});

describe('json monitor', () => {
  const stats = () =>
    monitor(`
      - id: queue-depth
        json: { url: '${appUrl}/stats', path: '$.queue.depth' }
        compare: { max: 100 }`);

  it('reads the number at the path', async () => {
    state.depth = 7;
    expect(await sample(stats())).toMatchObject({ ok: true, value: 7, detail: '$.queue.depth = 7' });
    state.depth = '12.5';
    expect((await sample(stats())).value).toBe(12.5);
  });

  it('fails on a missing value, a value that is no number, and a body that is no JSON', async () => {
    state.depth = undefined;
    expect((await sample(stats())).detail).toMatch(/no value at \$\.queue\.depth$/);
    state.depth = 'lots';
    expect(await sample(stats())).toMatchObject({
      ok: false,
      detail: '$.queue.depth is "lots", not a number',
    });
    state.depth = 7;
    const html = await sample(
      monitor(`
      - id: q
        json: { url: '${appUrl}/not-json', path: '$.a' }`),
    );
    expect(html.ok).toBe(false);
    expect(html.detail).toContain('body is not JSON');
    const missing = await sample(
      monitor(`
      - id: q
        json: { url: '${appUrl}/nope', path: '$.a' }`),
    );
    expect(missing.detail).toContain('answered 404');
  });
});

describe('sql monitor: SQLite', () => {
  it("counts the notes service's rows, read-only", async () => {
    for (const text of ['one', 'two', 'three']) {
      const res = await fetch(`${notes.url}/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
      expect(res.status).toBe(201);
    }
    const dir = path.dirname(notes.dbFile);
    const count = monitor(
      `
      - id: notes
        sql: { driver: sqlite, path: notes.db, query: 'select count(*) from notes' }`,
      monitorContext({ baseDir: dir }),
    );
    expect(await sample(count)).toMatchObject({ ok: true, value: 3, detail: '3' });

    const write = await sample(
      monitor(
        `
      - id: notes
        sql: { driver: sqlite, path: notes.db, query: 'delete from notes' }`,
        monitorContext({ baseDir: dir }),
      ),
    );
    expect(write.ok).toBe(false);
    expect(write.detail).toContain('write a SELECT');
    expect((await sample(count)).value).toBe(3);
  });

  it('fails with the query on bad SQL and a missing file; no rows is no data', async () => {
    const dir = path.dirname(notes.dbFile);
    const bad = await sample(
      monitor(
        `
      - id: notes
        sql: { driver: sqlite, path: notes.db, query: 'select count(*) from nope' }`,
        monitorContext({ baseDir: dir }),
      ),
    );
    expect(bad).toMatchObject({ ok: false });
    expect(bad.detail).toBe('query failed: no such table: nope (query: select count(*) from nope)');
    const none = await sample(
      monitor(
        `
      - id: notes
        sql: { driver: sqlite, path: notes.db, query: 'select id from notes where id < 0' }`,
        monitorContext({ baseDir: dir }),
      ),
    );
    expect(none).toMatchObject({ ok: true, detail: 'no data (the query returned no rows)' });
    expect(none.value).toBeUndefined();
    const missing = await sample(
      monitor(
        `
      - id: notes
        sql: { driver: sqlite, path: missing.db, query: 'select 1' }`,
        monitorContext({ baseDir: dir }),
      ),
    );
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain('query failed');
  });
});

describe('sql monitor: PostgreSQL', () => {
  let pg: PostgresServer;
  let url: string;
  beforeAll(async () => {
    pg = await startPostgres();
    await pg.createDatabase('shop');
    await pg.query('create table orders (id serial primary key, total numeric not null)', [], 'shop');
    await pg.query('insert into orders (total) values (10), (20.5), (30)', [], 'shop');
    url = `postgresql://${pg.user}@127.0.0.1:${pg.port}/shop`;
  });
  afterAll(async () => {
    await pg?.stop();
  });

  const pgMonitor = (query: string, password: string, extra = '') =>
    monitor(
      `
      - id: orders
        sql: { driver: postgres, url: '{{ vars.DB_URL }}', password: '{{ secrets.DB_PASSWORD }}', query: '${query}' }${extra}`,
      monitorContext({ vars: { DB_URL: url }, secrets: { DB_PASSWORD: password } }),
    );

  it('reads the first column of the first row (bigint and numeric as numbers)', async () => {
    expect(await sample(pgMonitor('select count(*) from orders', pg.password))).toMatchObject({
      ok: true,
      value: 3,
    });
    expect((await sample(pgMonitor('select sum(total) from orders', pg.password))).value).toBe(60.5);
  });

  it('runs read-only: a writing query fails and changes nothing', async () => {
    const s = await sample(pgMonitor('delete from orders', pg.password));
    expect(s.ok).toBe(false);
    expect(s.detail).toContain('read-only transaction');
    // Nor by switching read-only off first, in the same query.
    const sneaky = await sample(
      pgMonitor(
        'set default_transaction_read_only = off; delete from orders; select count(*) from orders',
        pg.password,
      ),
    );
    expect(sneaky.ok).toBe(false);
    expect(await pg.query('select count(*)::int as n from orders', [], 'shop')).toEqual([{ n: 3 }]);
  });

  it('a wrong password fails without showing it; a slow query times out', async () => {
    const wrong = 'not-the-password-42';
    const s = await sample(pgMonitor('select 1', wrong));
    expect(s.ok).toBe(false);
    expect(s.detail).toContain('password authentication failed');
    expect(s.detail).not.toContain(wrong);

    const started = Date.now();
    const slow = await sample(pgMonitor('select pg_sleep(5)', pg.password, '\n        timeout: 500ms'));
    expect(slow.ok).toBe(false);
    expect(slow.detail).toMatch(/timed out|timeout|canceling statement/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('accepts the whole connection string as a secret and never shows it', async () => {
    const secretUrl = `postgresql://${pg.user}:${encodeURIComponent(pg.password)}@127.0.0.1:${pg.port}/shop`;
    const m = monitor(
      `
      - id: orders
        sql: { driver: postgres, url: '{{ secrets.DB_URL }}', query: 'select count(*) from nope' }`,
      monitorContext({ secrets: { DB_URL: secretUrl } }),
    );
    const s = await sample(m);
    expect(s.detail).toContain('relation "nope" does not exist');
    expect(s.detail).not.toContain(pg.password);
    expect(m.description).not.toContain(pg.password);
  });
});

describe('command monitor', () => {
  const cmd = (body: string, context = monitorContext()) => monitor(`      - id: worker\n${body}`, context);

  it('passes on exit 0 and fails on another exit code with the output tail', async () => {
    expect(await sample(cmd('        command: { run: [node, -e, "0"] }'))).toMatchObject({ ok: true });
    const s = await sample(
      cmd(`        command: { run: [node, -e, 'console.log("queue stuck"); process.exit(3)'] }`),
    );
    expect(s.ok).toBe(false);
    expect(s.detail).toMatch(/^"node -e .*" exited with 3 after \d+ms: queue stuck$/);
  });

  it('reads the last output line as the value with stdout-number', async () => {
    const s = await sample(
      cmd(
        `        command: { run: [node, -e, 'console.log("checking"); console.log(42.5)'], value: stdout-number }`,
      ),
    );
    expect(s).toMatchObject({ ok: true, value: 42.5 });
    const notNumber = await sample(
      cmd('        command: { run: [node, -e, "console.log(\'ok\')"], value: stdout-number }'),
    );
    expect(notNumber).toMatchObject({ ok: false });
    expect(notNumber.detail).toContain('printed "ok" last, not a number');
  });

  it('a command past its timeout is stopped and the sample fails', async () => {
    const started = Date.now();
    const s = await sample(
      cmd('        timeout: 500ms\n        command: { run: [node, -e, "setTimeout(() => {}, 20000)"] }'),
    );
    expect(s.ok).toBe(false);
    expect(s.detail).toContain('timed out after 500ms');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('passes hostile values as data, and hides secrets from its environment', async () => {
    const marker = path.join(os.tmpdir(), `slipway-pwned-${process.pid}`);
    const hostile = `$(touch ${marker}); rm -rf / ; -oProxyCommand=touch ${marker}`;
    const s = await sample(
      cmd(
        `        command: { run: [node, -e, 'console.log(process.argv[1]); console.log(process.env.TOKEN); process.exit(1)', '{{ vars.EVIL }}'], env: { TOKEN: '{{ secrets.TOKEN }}' } }`,
        monitorContext({ vars: { EVIL: hostile }, secrets: { TOKEN: 'tkn-very-secret-1' } }),
      ),
    );
    expect(s.ok).toBe(false);
    expect(s.detail).toContain(hostile);
    expect(s.detail).toContain('[redacted]');
    expect(s.detail).not.toContain('tkn-very-secret-1');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('runs on the target, in its current folder, with on: target', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'slipway-monitor-target-'));
    try {
      const target = createLocalTarget(root);
      await target.prepare();
      fs.mkdirSync(target.layout.current, { recursive: true });
      fs.writeFileSync(path.join(target.layout.current, 'depth.txt'), '17\n');
      const s = await sample(
        cmd(
          `        command: { run: [node, -e, 'process.stdout.write(require("fs").readFileSync("depth.txt", "utf8"))'], on: target, value: stdout-number }`,
          monitorContext({ target }),
        ),
      );
      expect(s).toMatchObject({ ok: true, value: 17 });
      await target.close();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
