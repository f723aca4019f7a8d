'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { describe, test } = require('node:test');
const { freePort, isRunning, makeTarget, migrate, request, run } = require('./harness.cjs');

async function ctlTarget(t, scope, options) {
  const target = makeTarget(scope, options);
  const port = await freePort();
  const env = target.env({ NOTES_HOST: '127.0.0.1', NOTES_PORT: String(port) });
  const ctl = (cmd, dir = target.dir) => run(path.join(dir, 'ctl.cjs'), [cmd], env);
  t.after(async () => {
    await ctl('stop');
    target.cleanup();
  });
  const m = await migrate(target);
  assert.equal(m.code, 0, m.stderr);
  return { target, port, ctl, pidFile: path.join(target.dataDir, 'notes.pid') };
}

// Every test has its own target and port, so they can run side by side.
describe('ctl.cjs', { concurrency: true }, () => {
  test('start, status, stop', async (t) => {
    const { target, port, ctl, pidFile } = await ctlTarget(t, { release: 'v-ctl' });

    const started = await ctl('start');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^started \(pid \d+\)/);
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    assert.ok(pid > 0);

    const version = await request(`http://127.0.0.1:${port}/version`);
    assert.equal(version.body, 'v-ctl');

    const status = await ctl('status');
    assert.equal(status.code, 0);
    assert.match(status.stdout, new RegExp(`^running \\(pid ${pid}\\)`));

    const again = await ctl('start');
    assert.equal(again.code, 0, 'starting the same release again is a no-op');
    assert.match(again.stdout, /already running/);

    // Stopping needs only NOTES_DATA (slipway demo's cleanup passes nothing else).
    const stopped = await run(path.join(target.dir, 'ctl.cjs'), ['stop'], { NOTES_DATA: target.dataDir });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /^stopped/);
    assert.equal(fs.existsSync(pidFile), false);
    assert.equal(isRunning(pid), false);

    const status2 = await ctl('status');
    assert.equal(status2.code, 3);
    assert.equal(status2.stdout.trim(), 'stopped');
    assert.equal((await ctl('stop')).code, 0, 'stopping a stopped service succeeds');

    const log = fs.readFileSync(path.join(target.dataDir, 'notes.log'), 'utf8');
    assert.match(log, /GET \/version 200/);
  });

  test('refuses to start while another release runs', async (t) => {
    const { target, ctl } = await ctlTarget(t);
    const other = path.join(target.root, 'release-other');
    fs.cpSync(target.dir, other, { recursive: true });
    assert.equal((await ctl('start')).code, 0);
    const res = await ctl('start', other);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /already running \(pid \d+\); stop it first/);
  });

  test('says so when the port is taken by something else', async (t) => {
    const { port, ctl, pidFile } = await ctlTarget(t);
    const squatter = net.createServer();
    await new Promise((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    t.after(() => squatter.close());
    const res = await ctl('start');
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`port 127\\.0\\.0\\.1:${port} is already in use`));
    assert.equal(fs.existsSync(pidFile), false);
  });

  test('a server that cannot start fails start with the log tail', async (t) => {
    const { ctl, pidFile } = await ctlTarget(t, {}, { config: false });
    const res = await ctl('start');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /exited with code 1 before it became healthy/);
    assert.match(res.stderr, /config file .* is missing/);
    assert.equal(fs.existsSync(pidFile), false);
  });

  test('a stale pidfile does not count as running', async (t) => {
    const { ctl, pidFile } = await ctlTarget(t);
    fs.writeFileSync(pidFile, '2147483646\n/gone\n');
    const status = await ctl('status');
    assert.equal(status.code, 3);
    const stop = await ctl('stop');
    assert.equal(stop.code, 0);
    assert.match(stop.stdout, /stale pidfile/);
    assert.equal(fs.existsSync(pidFile), false);
  });
});
