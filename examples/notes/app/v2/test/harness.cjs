'use strict';
// Helpers shared by the *.test.cjs files (`node --test` also loads this file; it defines no tests).
// Each test builds a throwaway "target" in a temp folder, laid out like a Slipway deployment:
//   <root>/release/  copy of this release's files + config/notes.json rendered from the template
//   <root>/shared/   NOTES_DATA (notes.db, notes.pid, notes.log)

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const APP_DIR = path.join(__dirname, '..');
const RELEASE_FILES = ['server.cjs', 'ctl.cjs', 'migrate.cjs', 'package.json'];
const TEMPLATE = path.join(APP_DIR, 'config/notes.json.tmpl');

/** NODE_PATH for the child processes: the caller's, plus the node_modules folder holding better-sqlite3. */
function nodePath() {
  const parts = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean);
  let resolved;
  try {
    resolved = require.resolve('better-sqlite3');
  } catch {
    throw new Error('better-sqlite3 not found: run the tests with NODE_PATH=<slipway>/node_modules');
  }
  let dir = path.dirname(resolved);
  while (path.basename(dir) !== 'node_modules' && path.dirname(dir) !== dir) dir = path.dirname(dir);
  if (path.basename(dir) === 'node_modules' && !parts.includes(dir)) parts.push(dir);
  return parts.join(path.delimiter);
}

/** The same `{{ name }}` substitution Slipway's config step does; an unknown name is an error. */
function renderTemplate(text, scope) {
  return text.replace(
    /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}/g,
    (_all, name) => {
      let node = scope;
      for (const part of name.split('.')) node = node == null ? undefined : node[part];
      if (typeof node !== 'string') throw new Error(`template: "{{ ${name} }}" has no value`);
      return node;
    },
  );
}

const DEFAULT_SCOPE = {
  release: 'vtest',
  env: 'test',
  vars: { PAGE_SIZE: '20', FEATURES: '{"search": false}' },
};

/** A temp target with this release installed and its config rendered from `scope`. */
function makeTarget(scope = {}, { config = true } = {}) {
  const childNodePath = nodePath(); // fails before anything is created when better-sqlite3 is missing
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-test-'));
  const dir = path.join(root, 'release');
  const dataDir = path.join(root, 'shared');
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.mkdirSync(dataDir);
  for (const f of RELEASE_FILES) fs.copyFileSync(path.join(APP_DIR, f), path.join(dir, f));
  fs.cpSync(path.join(APP_DIR, 'migrations'), path.join(dir, 'migrations'), { recursive: true });
  const full = { ...DEFAULT_SCOPE, ...scope, vars: { ...DEFAULT_SCOPE.vars, ...scope.vars } };
  if (config) {
    const rendered = renderTemplate(fs.readFileSync(TEMPLATE, 'utf8'), full);
    fs.writeFileSync(path.join(dir, 'config/notes.json'), rendered);
  }
  return {
    root,
    dir,
    dataDir,
    scope: full,
    // No API token unless a test sets one: the deploy step that runs these tests has the real one in its env.
    env: (extra = {}) => ({
      ...process.env,
      NOTES_API_TOKEN: '',
      NODE_PATH: childNodePath,
      NOTES_DATA: dataDir,
      ...extra,
    }),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Runs `node <file> ...args`; resolves { code, stdout, stderr }. */
function run(file, args, env, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(file)} ${args.join(' ')} timed out\n${stdout}${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const migrate = (target) => run(path.join(target.dir, 'migrate.cjs'), [], target.env());

/** Starts server.cjs in the foreground on a free port; resolves once it listens. */
function startServer(target, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(target.dir, 'server.cjs')], {
      env: target.env({ NOTES_HOST: '127.0.0.1', NOTES_PORT: '0', ...extraEnv }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
    const onData = (d) => {
      output += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(output);
      if (m) {
        resolve({
          url: m[1],
          port: Number(m[2]),
          child,
          output: () => output,
          exited,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      output += d;
    });
    exited.then(({ code }) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
}

/** A small HTTP client: resolves { status, headers, body, json() }. */
function request(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const postJson = (url, value) =>
  request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof value === 'string' ? value : JSON.stringify(value),
  });

/** Whether `pid` is a live process (a zombie waiting to be reaped by init does not count). */
function isRunning(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

/** A port that was free a moment ago (for ctl.cjs, which needs a fixed port). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

module.exports = {
  APP_DIR,
  isRunning,
  makeTarget,
  renderTemplate,
  run,
  migrate,
  startServer,
  request,
  postJson,
  freePort,
};
