'use strict';
// notes: a tiny HTTP service keeping short text notes in SQLite.
//   env: NOTES_HOST (default 127.0.0.1), NOTES_PORT (0 = any free port), NOTES_DATA (folder holding notes.db)
//   config: config/notes.json next to this file (rendered from config/notes.json.tmpl at deploy time)

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const MAX_BODY_BYTES = 64 * 1024;
/** Oldest schema (PRAGMA user_version) this code can run on; migrate.cjs brings the db there. */
const MIN_SCHEMA_VERSION = 2;
const SHUTDOWN_GRACE_MS = 4000;
const DEFAULT_PAGE_SIZE = 20;
const MAX_AUTHOR_LENGTH = 100;

function fail(message) {
  console.error(`notes: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------- configuration

function loadConfig() {
  const file = path.join(__dirname, 'config/notes.json');
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') {
      fail(
        `config file ${file} is missing: render config/notes.json.tmpl into it (Slipway's config step does this)`,
      );
    }
    fail(`cannot read config file ${file}: ${err.message}`);
  }
  let config;
  try {
    config = JSON.parse(text);
  } catch (err) {
    fail(`config file ${file} is not valid JSON: ${err.message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    fail(`config file ${file} must hold a JSON object`);
  }
  if (typeof config.release !== 'string' || config.release === '') {
    fail(`config file ${file}: "release" must be a non-empty string`);
  }
  if (config.pageSize === undefined) {
    console.error(`notes: config file ${file} sets no "pageSize": using ${DEFAULT_PAGE_SIZE}`);
    config.pageSize = DEFAULT_PAGE_SIZE;
  } else if (!Number.isInteger(config.pageSize) || config.pageSize < 1) {
    fail(
      `config file ${file}: "pageSize" must be a positive integer, got ${JSON.stringify(config.pageSize)}`,
    );
  }
  const features = config.features ?? {};
  if (features === null || typeof features !== 'object' || Array.isArray(features)) {
    fail(`config file ${file}: "features" must be an object like {"search": true}`);
  }
  config.features = { search: false, ...features };
  return config;
}

function loadEnv() {
  const host = process.env.NOTES_HOST || '127.0.0.1';
  const portText = process.env.NOTES_PORT;
  if (portText === undefined || !/^\d+$/.test(portText) || Number(portText) > 65535) {
    fail(`NOTES_PORT must be a port number (0-65535), got ${JSON.stringify(portText)}`);
  }
  const dataDir = process.env.NOTES_DATA;
  if (!dataDir) fail('NOTES_DATA must name the folder holding notes.db');
  return { host, port: Number(portText), dataDir };
}

// ---------------------------------------------------------------- database

function openDatabase(dataDir) {
  let Database;
  try {
    Database = require('better-sqlite3');
  } catch (err) {
    fail(`cannot load better-sqlite3 (${err.message}); set NODE_PATH to a node_modules folder that has it`);
  }
  const file = path.join(dataDir, 'notes.db');
  let db;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (err) {
    fail(`cannot open ${file}: ${err.message} (run migrate.cjs first)`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true });
  if (version < MIN_SCHEMA_VERSION) {
    fail(
      `${file} has schema version ${version}, this release needs ${MIN_SCHEMA_VERSION}: run migrate.cjs first`,
    );
  }
  return db;
}

// ---------------------------------------------------------------- metrics

const ROUTES = new Set(['/health', '/version', '/notes', '/metrics']);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function createMetrics(release, features) {
  const requests = new Map(); // `method|route|status` -> count
  const latency = new Map(); // route -> { buckets: number[], sum, count }

  function observe(method, route, status, seconds) {
    const key = `${METHODS.has(method) ? method : 'OTHER'}|${route}|${status}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
    let h = latency.get(route);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      latency.set(route, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) h.buckets[i]++;
    h.sum += seconds;
    h.count++;
  }

  function render() {
    const lines = [
      '# HELP notes_build_info The running release.',
      '# TYPE notes_build_info gauge',
      `notes_build_info{release=${JSON.stringify(release)},search="${features.search === true}"} 1`,
      '# HELP notes_http_requests_total HTTP requests handled, by method, route and status.',
      '# TYPE notes_http_requests_total counter',
    ];
    for (const [key, count] of requests) {
      const [method, route, status] = key.split('|');
      lines.push(
        `notes_http_requests_total{method="${method}",route="${route}",status="${status}"} ${count}`,
      );
    }
    lines.push(
      '# HELP notes_http_request_duration_seconds Time to answer an HTTP request, by route.',
      '# TYPE notes_http_request_duration_seconds histogram',
    );
    for (const [route, h] of latency) {
      BUCKETS.forEach((le, i) => {
        lines.push(`notes_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${h.buckets[i]}`);
      });
      lines.push(`notes_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      lines.push(`notes_http_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      lines.push(`notes_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }

  return { observe, render };
}

// ---------------------------------------------------------------- HTTP helpers

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function send(res, status, body, contentType = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, `${JSON.stringify(value)}\n`, 'application/json; charset=utf-8');
}

function readJsonBody(req) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_BODY_BYTES) {
      reject(new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        reject(new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- the app

function main() {
  const config = loadConfig();
  const env = loadEnv();
  const db = openDatabase(env.dataDir);
  const metrics = createMetrics(config.release, config.features);

  const sql = {
    ping: db.prepare('SELECT 1 AS ok'),
    list: db.prepare('SELECT id, text, author, created_at FROM notes ORDER BY id DESC LIMIT ?'),
    insert: db.prepare('INSERT INTO notes (text, author, created_at) VALUES (?, ?, ?)'),
    get: db.prepare('SELECT id, text, author, created_at FROM notes WHERE id = ?'),
  };

  // Search (features.search): GET /notes?q=words lists the notes containing every word, newest first;
  // without q it lists the newest ones, like before. v3 has no search index yet: every list request with
  // search on scans the notes and ranks them in JavaScript. Correct, but slow: SCAN_COST_MS stands in for
  // that scan on a production-sized table, and is what Slipway's bake measures (v3's performance regression).
  const SCAN_COST_MS = 100;
  const search = {
    statement: null,
    async list(q, limit) {
      this.statement ??= db.prepare('SELECT id, text, author, created_at FROM notes ORDER BY id DESC');
      const words = (q ?? '')
        .toLowerCase()
        .split(/\s+/)
        .filter((w) => w !== '');
      const all = this.statement.all();
      await new Promise((resolve) => setTimeout(resolve, SCAN_COST_MS));
      return all.filter((n) => words.every((w) => n.text.toLowerCase().includes(w))).slice(0, limit);
    },
  };

  let shuttingDown = false;

  function parseNewNote(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpError(400, 'expected a JSON object like {"text": "..."}');
    }
    if (typeof body.text !== 'string' || body.text.trim() === '') {
      throw new HttpError(400, '"text" is required and must be a non-empty string');
    }
    const author = body.author ?? 'anonymous';
    if (typeof author !== 'string' || author.trim() === '' || author.length > MAX_AUTHOR_LENGTH) {
      throw new HttpError(
        400,
        `"author" must be a non-empty string of at most ${MAX_AUTHOR_LENGTH} characters`,
      );
    }
    return { text: body.text, author: author.trim() };
  }

  async function route(req, res, url, method) {
    const { pathname } = url;
    switch (`${method} ${pathname}`) {
      case 'GET /health': {
        let healthy = false;
        try {
          healthy = !shuttingDown && sql.ping.get().ok === 1;
        } catch (err) {
          console.error(`health: database check failed: ${err.message}`);
        }
        res.setHeader('x-notes-pid', String(process.pid));
        return send(res, healthy ? 200 : 503, healthy ? 'ok' : 'unavailable');
      }
      case 'GET /version':
        return send(res, 200, config.release);
      case 'GET /metrics':
        return send(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
      case 'GET /notes':
        if (config.features.search) {
          return sendJson(res, 200, await search.list(url.searchParams.get('q'), config.pageSize));
        }
        return sendJson(res, 200, sql.list.all(config.pageSize));
      case 'POST /notes': {
        // Writes need the API token when one is configured (Slipway passes it as a secret).
        const token = process.env.NOTES_API_TOKEN;
        if (token && req.headers.authorization !== `Bearer ${token}`) {
          throw new HttpError(401, 'missing or wrong API token');
        }
        const note = parseNewNote(await readJsonBody(req));
        const { lastInsertRowid } = sql.insert.run(note.text, note.author, new Date().toISOString());
        return sendJson(res, 201, sql.get.get(lastInsertRowid));
      }
      default:
        if (ROUTES.has(pathname)) {
          res.setHeader('allow', pathname === '/notes' ? 'GET, HEAD, POST' : 'GET, HEAD');
          throw new HttpError(405, `method ${req.method} not allowed on ${pathname}`);
        }
        throw new HttpError(404, `no route for ${pathname}`);
    }
  }

  const server = http.createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    let url;
    try {
      url = new URL(req.url, 'http://notes.invalid');
    } catch {
      url = new URL('http://notes.invalid/?');
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.observe(req.method, ROUTES.has(url.pathname) ? url.pathname : 'other', status, seconds);
      console.log(
        `${new Date().toISOString()} ${req.method} ${req.url} ${status} ${(seconds * 1000).toFixed(1)}ms`,
      );
    });
    if (shuttingDown) res.setHeader('connection', 'close');
    try {
      await route(req, res, url, method);
    } catch (err) {
      if (res.headersSent) {
        res.destroy(err);
        return;
      }
      if (err instanceof HttpError) {
        if (err.status === 413) res.setHeader('connection', 'close');
        sendJson(res, err.status, { error: err.message });
      } else {
        console.error(`${req.method} ${req.url} failed: ${err.stack || err}`);
        sendJson(res, 500, { error: 'internal error' });
      }
    }
  });

  server.on('error', (err) => {
    if (err.code === 'EADDRINUSE') fail(`port ${env.host}:${env.port} is already in use by another process`);
    fail(`cannot listen on ${env.host}:${env.port}: ${err.message}`);
  });

  server.listen(env.port, env.host, () => {
    const { address, port } = server.address();
    const shown = address.includes(':') ? `[${address}]` : address;
    console.log(`notes ${config.release} (pid ${process.pid}) listening on http://${shown}:${port}`);
  });

  function shutdown(signal) {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`${signal} received: shutting down`);
    const force = setTimeout(() => {
      console.error(`requests still open after ${SHUTDOWN_GRACE_MS}ms: closing them`);
      server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      db.close();
      console.log('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main();
