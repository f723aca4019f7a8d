/** TrafficSwitch for the embedded proxy run as its own process: rewrites its state file, reads its admin socket. */

import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlipwayError } from '../../core/errors.js';
import type { Backend, TrafficSwitch } from '../../core/ports.js';
import { checkBackendId, checkBackends, checkWeights } from '../traffic-input.js';
import { Serial, sleep } from '../traffic-timing.js';
import {
  type AdminState,
  adminSocketPath,
  parseListen,
  readProxyState,
  writeProxyState,
} from './embedded-proxy-state.js';

export interface EmbeddedSwitchOptions {
  /** `host:port` the proxy listens on. */
  readonly listen: string;
  /** Absolute path of the JSON state file the proxy process watches. */
  readonly stateFile: string;
  readonly backends: readonly Backend[];
  /** Start the proxy process (detached, outliving Slipway) when none answers. @default true */
  readonly autoStart?: boolean;
  /** Longest wait for the proxy to start or apply a change. @default 10000 */
  readonly timeoutMs?: number;
}

const POLL_MS = 20;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The switch a process file's `traffic: {type: embedded}` gets: a deployment process exits while the
 * proxy must keep serving, so the proxy is a separate process (`embedded-proxy-main`) and this switch
 * only writes its state file (atomically) and waits until the proxy reports the new generation. The
 * first switch starts the proxy when none runs; its output goes to `<stateFile>.log`.
 */
export class EmbeddedSwitch implements TrafficSwitch {
  readonly description: string;
  readonly #o: EmbeddedSwitchOptions;
  readonly #serial = new Serial();
  readonly #socket: string;
  readonly #where: string;

  constructor(options: EmbeddedSwitchOptions) {
    parseListen(options.listen);
    this.#where = `embedded proxy ${options.listen}`;
    if (!path.isAbsolute(options.stateFile)) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `${this.#where}: state file ${options.stateFile} must be an absolute path`,
      );
    }
    checkBackends(options.backends, this.#where);
    this.#o = options;
    this.#socket = adminSocketPath(options.stateFile);
    this.description = `embedded:${options.listen}`;
  }

  get #timeoutMs(): number {
    return this.#o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async setWeights(weights: Readonly<Record<string, number>>, signal?: AbortSignal): Promise<void> {
    checkWeights(weights, this.#o.backends, this.#where);
    await this.#serial.run(async () => {
      const previous = await readProxyState(this.#o.stateFile);
      const old = new Map(previous?.backends.map((b) => [b.id, b.weight]) ?? []);
      const generation = (previous?.generation ?? 0) + 1;
      await mkdir(path.dirname(this.#o.stateFile), { recursive: true });
      await writeProxyState(this.#o.stateFile, {
        version: 1,
        generation,
        listen: this.#o.listen,
        backends: this.#o.backends.map((b) => ({
          id: b.id,
          address: b.address,
          port: b.port,
          weight: weights[b.id] ?? old.get(b.id) ?? 0,
        })),
      });
      let state = await this.#state(signal).catch(() => undefined);
      let started: { exitCode: number | null } | undefined;
      if (state === undefined && this.#o.autoStart !== false) started = await this.#startProxy();
      const deadline = Date.now() + this.#timeoutMs;
      for (;;) {
        state = await this.#state(signal).catch(() => undefined);
        if (state !== undefined && state.listen !== this.#o.listen) {
          throw new SlipwayError(
            'SLW_TRAFFIC_FAILED',
            `${this.#where}: the proxy of ${this.#o.stateFile} (pid ${state.pid}) listens on ${state.listen}; the weights are written but it keeps that address`,
            { hint: `stop it (kill ${state.pid}) and switch again to start it on ${this.#o.listen}` },
          );
        }
        if (state !== undefined && state.generation >= generation) return;
        if (started?.exitCode != null) {
          const log = await readFile(`${this.#o.stateFile}.log`, 'utf8').catch(() => '');
          throw new SlipwayError(
            'SLW_TRAFFIC_FAILED',
            `${this.#where}: the proxy process exited (code ${started.exitCode}): ${log.trim().split('\n').slice(-3).join(' | ')}`,
            { hint: `its output is in ${this.#o.stateFile}.log` },
          );
        }
        if (Date.now() >= deadline) {
          throw new SlipwayError(
            'SLW_TRAFFIC_FAILED',
            `${this.#where}: the proxy did not apply state generation ${generation} within ${this.#timeoutMs} ms` +
              (state === undefined
                ? ' (it does not answer on its admin socket)'
                : ` (it runs generation ${state.generation})`),
            {
              hint: `see ${this.#o.stateFile}.log; the state file holds the wanted weights and a started proxy will use them`,
            },
          );
        }
        await sleep(POLL_MS, signal);
      }
    });
  }

  async weights(signal?: AbortSignal): Promise<Readonly<Record<string, number>>> {
    const state = await this.#state(signal);
    return Object.fromEntries(state.backends.map((b) => [b.id, b.weight]));
  }

  async drain(backendId: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    checkBackendId(backendId, this.#o.backends, this.#where);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.#state(signal);
      const inflight = state.backends.find((b) => b.id === backendId)?.inflight ?? 0;
      if (inflight === 0 || Date.now() >= deadline) return inflight;
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())), signal);
    }
  }

  /** The proxy keeps running: that is the point of a separate process. */
  async close(): Promise<void> {
    await this.#serial.run(async () => undefined);
  }

  /** Stops the proxy process gracefully (SIGTERM, requests in flight finish); for tests and `slipway demo`. */
  async stopProxy(timeoutMs = 15_000): Promise<void> {
    const state = await this.#state().catch(() => undefined);
    if (state === undefined) return;
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        process.kill(state.pid, 0);
      } catch {
        return;
      }
      await sleep(POLL_MS);
    }
    process.kill(state.pid, 'SIGKILL');
  }

  #state(signal?: AbortSignal): Promise<AdminState> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        { socketPath: this.#socket, path: '/state', timeout: 5_000, ...(signal ? { signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdminState);
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(
          new SlipwayError(
            'SLW_TRAFFIC_FAILED',
            `${this.#where}: the proxy does not answer on ${this.#socket}: ${e.code ?? e.message}`,
            {
              hint: 'switch weights once to start it, or start it with `node dist/traffic/embedded/embedded-proxy-main.js <state-file>`',
              cause: e,
            },
          ),
        ),
      );
    });
  }

  /** Starts the proxy detached (it outlives this process); the returned object shows its exit code once it exits. */
  async #startProxy(): Promise<{ exitCode: number | null }> {
    const here = fileURLToPath(import.meta.url);
    const ext = path.extname(here);
    const main = path.join(path.dirname(here), `embedded-proxy-main${ext}`);
    // Running from TypeScript sources (tests, tsx): the child needs the same loader.
    const args = ext === '.ts' ? ['--import', 'tsx', main] : [main];
    const logFile = await open(`${this.#o.stateFile}.log`, 'a', 0o600);
    try {
      const child = spawn(process.execPath, [...args, this.#o.stateFile], {
        detached: true,
        stdio: ['ignore', logFile.fd, logFile.fd],
        // From sources, `--import tsx` resolves from the repository; the built proxy needs no particular folder.
        cwd: ext === '.ts' ? path.resolve(path.dirname(here), '../../..') : path.dirname(this.#o.stateFile),
        // It outlives the deployment for days: it gets none of its environment (secrets come from there).
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      child.unref();
      const seen = { exitCode: null as number | null };
      child.once('exit', (code, sig) => {
        seen.exitCode = code ?? (sig ? 128 : 1);
      });
      return seen;
    } finally {
      await logFile.close();
    }
  }
}
