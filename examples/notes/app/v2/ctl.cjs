'use strict';
// node ctl.cjs start|stop|status — runs server.cjs (next to this file) as a detached background process.
//   env: NOTES_DATA (holds notes.pid and notes.log); start also NOTES_HOST (default 127.0.0.1), NOTES_PORT
//   and whatever server.cjs needs (NODE_PATH)
//   exit codes: 0 ok, 1 failed, 2 usage, 3 (status) not running
// The pidfile format (line 1: pid, line 2: release folder) is shared by every release, so any
// release's ctl can stop whichever release is running.

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');

const START_TIMEOUT_MS = 10_000;
const POLL_MS = 100;
const STOP_TIMEOUT_MS = 5_000;
const KILL_TIMEOUT_MS = 2_000;
const LOG_TAIL_LINES = 20;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class CtlError extends Error {}

/** Where the pidfile and log live; stop and status need nothing more. */
function files() {
  const dataDir = process.env.NOTES_DATA;
  if (!dataDir) throw new CtlError('NOTES_DATA must name the folder holding notes.db');
  return { dataDir, pidFile: path.join(dataDir, 'notes.pid'), logFile: path.join(dataDir, 'notes.log') };
}

/** Everything start needs: files() plus the address the server listens on. */
function listenEnv() {
  const host = process.env.NOTES_HOST || '127.0.0.1';
  const portText = process.env.NOTES_PORT;
  if (portText === undefined || !/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new CtlError(`NOTES_PORT must be a port number (1-65535), got ${JSON.stringify(portText)}`);
  }
  return { ...files(), host, port: Number(portText) };
}

/** This release's folder, with symlinks (such as `current`) resolved. */
function releaseDir() {
  return fs.realpathSync(__dirname);
}

// ---------------------------------------------------------------- processes and the pidfile

/** Whether `pid` is a live (not zombie) process. */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/** Whether `pid` still runs a notes server (guards against a reused pid from a stale pidfile). */
function isNotesServer(pid) {
  if (!isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server.cjs');
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/** { pid, dir } from the pidfile, or null when there is none (or it is unreadable garbage). */
function readPidFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  const [pidLine = '', dir = ''] = text.split('\n');
  const pid = Number(pidLine.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { pid, dir: dir.trim() };
}

function writePidFile(file, pid, dir) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${pid}\n${dir}\n`);
  fs.renameSync(tmp, file);
}

function removePidFile(file, pid) {
  const current = readPidFile(file);
  if (current === null || current.pid === pid) fs.rmSync(file, { force: true });
}

function killQuietly(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {}
}

async function waitForExit(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

// ---------------------------------------------------------------- network checks

/** Rejects with a clear message when something already listens on host:port. */
function checkPortFree(host, port) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new CtlError(
            `port ${host}:${port} is already in use by another process (notes.pid names no running notes server); ` +
              'stop that process or choose another port',
          ),
        );
      } else {
        reject(new CtlError(`cannot listen on ${host}:${port}: ${err.message}`));
      }
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(resolve));
  });
}

/** Resolves true when GET /health answers 200 from process `pid`. */
function healthy(host, port, pid) {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/health', timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 && res.headers['x-notes-pid'] === String(pid));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function logTail(file, n) {
  try {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------- commands

async function start() {
  const e = listenEnv();
  const dir = releaseDir();
  fs.mkdirSync(e.dataDir, { recursive: true });

  const running = readPidFile(e.pidFile);
  if (running && isNotesServer(running.pid)) {
    if (running.dir === dir) {
      console.log(`already running (pid ${running.pid}) from ${dir}`);
      return 0;
    }
    throw new CtlError(
      `already running (pid ${running.pid}); stop it first (it runs ${running.dir || 'an unknown release'})`,
    );
  }
  if (running) removePidFile(e.pidFile, running.pid); // stale

  await checkPortFree(e.host, e.port);

  const serverFile = path.join(dir, 'server.cjs');
  const logFd = fs.openSync(e.logFile, 'a');
  fs.writeSync(logFd, `${new Date().toISOString()} ctl: starting ${serverFile} on ${e.host}:${e.port}\n`);
  let child;
  try {
    child = spawn(process.execPath, [serverFile], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: process.env,
    });
  } finally {
    fs.closeSync(logFd);
  }
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  });
  child.on('error', (err) => {
    exited = `could not start: ${err.message}`;
  });
  child.unref();
  if (child.pid === undefined) {
    await sleep(10); // let the 'error' event arrive
    throw new CtlError(`server ${exited ?? 'could not start'}`);
  }
  writePidFile(e.pidFile, child.pid, dir);

  const deadline = Date.now() + START_TIMEOUT_MS;
  let problem = null;
  for (;;) {
    await sleep(POLL_MS);
    if (exited !== null || !isAlive(child.pid)) {
      for (let i = 0; exited === null && i < 10; i++) await sleep(20); // let the 'exit' event arrive
      problem = `server ${exited ?? 'exited'} before it became healthy`;
      break;
    }
    if (await healthy(e.host, e.port, child.pid)) break;
    if (Date.now() >= deadline) {
      problem = `server did not answer GET /health with 200 within ${START_TIMEOUT_MS / 1000}s`;
      break;
    }
  }
  if (problem === null) {
    console.log(`started (pid ${child.pid}) on http://${e.host}:${e.port} from ${dir}`);
    return 0;
  }
  if (exited === null && isAlive(child.pid)) {
    killQuietly(-child.pid, 'SIGKILL'); // its whole process group
    killQuietly(child.pid, 'SIGKILL');
    await waitForExit(child.pid, KILL_TIMEOUT_MS);
  }
  removePidFile(e.pidFile, child.pid);
  const tail = logTail(e.logFile, LOG_TAIL_LINES);
  const portTaken = /already in use|EADDRINUSE/.test(tail.split('ctl: starting').pop());
  throw new CtlError(
    `${portTaken ? `port ${e.host}:${e.port} is already in use by another process: ` : ''}${problem}\n` +
      `--- last ${LOG_TAIL_LINES} lines of ${e.logFile} ---\n${tail}`,
  );
}

async function stop() {
  const e = files();
  const running = readPidFile(e.pidFile);
  if (running === null) {
    console.log('not running');
    return 0;
  }
  if (!isNotesServer(running.pid)) {
    removePidFile(e.pidFile, running.pid);
    console.log(`not running (removed stale pidfile naming pid ${running.pid})`);
    return 0;
  }
  killQuietly(running.pid, 'SIGTERM');
  if (await waitForExit(running.pid, STOP_TIMEOUT_MS)) {
    removePidFile(e.pidFile, running.pid);
    console.log(`stopped (pid ${running.pid})`);
    return 0;
  }
  console.error(`pid ${running.pid} still running ${STOP_TIMEOUT_MS / 1000}s after SIGTERM: sending SIGKILL`);
  killQuietly(running.pid, 'SIGKILL');
  if (await waitForExit(running.pid, KILL_TIMEOUT_MS)) {
    removePidFile(e.pidFile, running.pid);
    console.log(`killed (pid ${running.pid})`);
    return 0;
  }
  throw new CtlError(`pid ${running.pid} survived SIGKILL`);
}

function status() {
  const e = files();
  const running = readPidFile(e.pidFile);
  if (running && isNotesServer(running.pid)) {
    console.log(`running (pid ${running.pid}) from ${running.dir || 'unknown'}`);
    return 0;
  }
  console.log('stopped');
  return 3;
}

const commands = { start, stop, status };

async function main() {
  const name = process.argv[2];
  if (!Object.hasOwn(commands, name) || process.argv.length !== 3) {
    console.error('usage: node ctl.cjs start|stop|status');
    return 2;
  }
  try {
    return await commands[name]();
  } catch (err) {
    console.error(`notes ${name}: ${err instanceof CtlError ? err.message : err.stack}`);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
