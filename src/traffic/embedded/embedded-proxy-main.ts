/**
 * The embedded proxy as its own long-lived process: `node embedded-proxy-main.js <state-file>`.
 * Serves the state file's listen address, re-reads the file whenever it is replaced, answers
 * `GET /state` (weights, in-flight counts, applied generation) on the admin unix socket beside it,
 * and stops gracefully on SIGTERM/SIGINT (requests in flight finish).
 */

import { watch } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { isSlipwayError } from '../../core/errors.js';
import { EmbeddedProxy } from './embedded-proxy.js';
import {
  type AdminState,
  adminSocketPath,
  type ProxyState,
  parseListen,
  readProxyState,
} from './embedded-proxy-state.js';

/** A rename may be seen before the file is complete on some file systems: re-read also on a slow timer. */
const POLL_MS = 1_000;

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} slipway-proxy[${process.pid}] ${message}\n`);
}

async function main(): Promise<void> {
  const stateFile = process.argv[2];
  if (stateFile === undefined) {
    process.stderr.write('usage: embedded-proxy-main <state-file>\n');
    process.exit(2);
  }
  const file = path.resolve(stateFile);
  const initial = await readProxyState(file);
  if (initial === null)
    throw new Error(`no state file at ${file}: write one first (the embedded switch does)`);
  const socketPath = adminSocketPath(file);
  if (await answers(socketPath)) throw new Error(`another proxy already answers on ${socketPath}`);
  await rm(socketPath, { force: true });

  const { host, port } = parseListen(initial.listen);
  const proxy = await EmbeddedProxy.start({ host, port, backends: initial.backends });
  let state: ProxyState = initial;
  log(`listening on ${proxy.url}, state ${file} generation ${state.generation}`);

  let reading = Promise.resolve();
  const reread = (): void => {
    reading = reading.then(async () => {
      try {
        const next = await readProxyState(file);
        if (next === null || next.generation === state.generation) return;
        if (next.listen !== state.listen)
          log(`listen changed to ${next.listen}: restart the proxy to apply it`);
        proxy.setBackends(next.backends);
        state = next;
        log(`generation ${state.generation}: ${state.backends.map((b) => `${b.id}=${b.weight}`).join(' ')}`);
      } catch (e) {
        // A bad file keeps the last good state: the proxy must go on serving.
        log(`keeping generation ${state.generation}: ${isSlipwayError(e) ? e.message : String(e)}`);
      }
    });
  };
  const watcher = watch(path.dirname(file), (_event, name) => {
    if (name === path.basename(file)) reread();
  });
  const poll = setInterval(reread, POLL_MS);

  const admin = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/state') {
      const body: AdminState = {
        pid: process.pid,
        generation: state.generation,
        // The address it really listens on: a changed `listen` needs a restart.
        listen: initial.listen,
        backends: proxy.status(),
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => admin.listen(socketPath, resolve));

  const stop = async (signal: string): Promise<void> => {
    log(`${signal}: letting requests in flight finish`);
    watcher.close();
    clearInterval(poll);
    admin.close();
    await proxy.close();
    await rm(socketPath, { force: true });
    log('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socketPath });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `slipway-proxy: ${isSlipwayError(e) ? e.message : e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
