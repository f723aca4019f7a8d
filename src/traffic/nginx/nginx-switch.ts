/** TrafficSwitch for nginx: rewrites Slipway's upstream include file atomically, tests it, reloads gracefully. */

import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { Backend, TrafficSwitch } from '../../core/ports.js';
import type { Redactor } from '../../core/redact.js';
import { commandDisplay, execLocal } from '../../targets/local-exec.js';
import { checkBackendId, checkBackends, checkWeights } from '../traffic-input.js';
import { Serial, sleep } from '../traffic-timing.js';
import { NGINX_DEFAULTS } from './nginx-defaults.js';
import { parseUpstreamFile, renderUpstreamFile } from './nginx-upstream-file.js';
import { listWorkers, readMasterPid } from './nginx-workers.js';

export interface NginxSwitchOptions {
  /** Absolute path of the include file Slipway owns (inside the user's `upstream` block). */
  readonly upstreamFile: string;
  /** Name of the upstream block, for messages and the file's header. */
  readonly upstream: string;
  /** Every backend that may appear in the upstream; weights name them by id. */
  readonly backends: readonly Backend[];
  /** nginx's main config file. @default "/etc/nginx/nginx.conf" */
  readonly config?: string;
  /** nginx's pid file (reload signal, reload confirmation, drain). @default "/run/nginx.pid" */
  readonly pidFile?: string;
  /** argv that validates the whole config. @default ["nginx", "-t", "-q", "-c", config] */
  readonly testCommand?: readonly string[];
  /** argv that reloads nginx. @default SIGHUP to the master pid read from `pidFile` */
  readonly reloadCommand?: readonly string[];
  /** Longest wait for the test command, the reload command and the new workers. @default 15000 */
  readonly timeoutMs?: number;
  /** Applied to nginx's output before it goes into an error. @default no redaction */
  readonly redact?: Redactor;
}

export { NGINX_DEFAULTS };

/** Where nginx lives on Debian when PATH (of a non-root user) lacks the sbin folders. */
const SBIN_PATH = '/usr/local/sbin:/usr/sbin:/sbin';
const POLL_MS = 25;

/**
 * How a change works: render the file → write a temp file beside it and rename it over the old one →
 * `nginx -t` → reload (SIGHUP; the master starts workers on the new config and tells the old ones to
 * finish their requests and exit) → wait until no worker of the old generation serves new requests.
 * A failing test or reload puts the previous file back, so nginx is never left with a broken config.
 * `drain` waits for the old generation to exit: nginx has no per-server request count, but a worker
 * on the old config is the only thing that can still send a request to a server now marked `down`.
 * The switch must run on the nginx machine (it writes the file and reads /proc).
 */
export class NginxSwitch implements TrafficSwitch {
  readonly description: string;
  readonly #o: NginxSwitchOptions;
  readonly #serial = new Serial();
  readonly #where: string;

  constructor(options: NginxSwitchOptions) {
    this.#where = `nginx upstream "${options.upstream}" (${options.upstreamFile})`;
    if (!path.isAbsolute(options.upstreamFile)) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `${this.#where}: the upstream file must be an absolute path`,
        {
          hint: 'write the full path of the file your nginx config includes',
        },
      );
    }
    if (!/^[A-Za-z0-9._-]+$/.test(options.upstream)) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `nginx upstream name ${JSON.stringify(options.upstream)} is not allowed`,
        {
          hint: 'the name of the upstream block: letters, digits, ".", "_" and "-"',
        },
      );
    }
    checkBackends(options.backends, this.#where);
    this.#o = options;
    this.description = `nginx:${options.upstream}`;
  }

  get #config(): string {
    return this.#o.config ?? NGINX_DEFAULTS.config;
  }
  get #pidFile(): string {
    return this.#o.pidFile ?? NGINX_DEFAULTS.pidFile;
  }
  get #timeoutMs(): number {
    return this.#o.timeoutMs ?? NGINX_DEFAULTS.timeoutMs;
  }
  #redact(text: string): string {
    return this.#o.redact ? this.#o.redact(text) : text;
  }

  async setWeights(weights: Readonly<Record<string, number>>, signal?: AbortSignal): Promise<void> {
    checkWeights(weights, this.#o.backends, this.#where);
    await this.#serial.run(() => this.#apply(weights, signal));
  }

  async weights(signal?: AbortSignal): Promise<Readonly<Record<string, number>>> {
    signal?.throwIfAborted();
    const text = await this.#readFile();
    if (text === null) return {};
    const known = new Set(this.#o.backends.map((b) => b.id));
    return Object.fromEntries(
      parseUpstreamFile(text, this.#o.upstreamFile)
        .filter((s) => known.has(s.id))
        .map((s) => [s.id, s.weight]),
    );
  }

  async drain(backendId: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    checkBackendId(backendId, this.#o.backends, this.#where);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const master = await this.#master();
      const old = (await listWorkers(master)).filter((w) => w.shuttingDown).length;
      if (old === 0 || Date.now() >= deadline) return old;
      await sleep(Math.min(POLL_MS * 4, Math.max(1, deadline - Date.now())), signal);
    }
  }

  async close(): Promise<void> {
    await this.#serial.run(async () => undefined);
  }

  async #apply(weights: Readonly<Record<string, number>>, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const previous = await this.#readFile();
    const current = new Map(
      previous === null ? [] : parseUpstreamFile(previous, this.#o.upstreamFile).map((s) => [s.id, s.weight]),
    );
    const next = renderUpstreamFile(
      this.#o.upstream,
      this.#o.backends.map((backend) => ({
        backend,
        weight: weights[backend.id] ?? current.get(backend.id) ?? 0,
      })),
    );
    // Reloaded even when the text is unchanged: after a crash between writing and reloading, the file may
    // be ahead of what nginx runs, and a resumed deployment repeats its last switch to make them agree.

    // Without a master there is nothing to reload: refuse before touching the file.
    const master = this.#o.reloadCommand ? await readMasterPid(this.#pidFile) : await this.#master();
    const before = master === undefined ? [] : (await listWorkers(master)).filter((w) => !w.shuttingDown);

    await this.#writeAtomically(next);
    try {
      await this.#test(next, signal);
      await this.#reload(master, signal);
      if (master !== undefined)
        await this.#awaitNewGeneration(master, new Set(before.map((w) => w.pid)), signal);
    } catch (e) {
      await this.#restore(previous);
      throw e;
    }
  }

  async #test(rendered: string, signal?: AbortSignal): Promise<void> {
    const argv = this.#o.testCommand ?? ['nginx', '-t', '-q', '-c', this.#config];
    const r = await this.#run(argv, signal);
    if (r.exitCode === 0) return;
    throw new SlipwayError(
      'SLW_TRAFFIC_FAILED',
      `${this.#where}: \`${commandDisplay({ argv })}\` refused the new upstream file (exit ${r.exitCode ?? r.signal}); ` +
        `the previous file was put back and nginx keeps its current config.\nnginx said: ${this.#redact(r.output.trim())}\n` +
        `The refused file was:\n${this.#redact(rendered)}`,
      {
        hint: 'fix the nginx config around the include (nginx -t shows where), then switch again',
        details: { file: this.#o.upstreamFile, output: this.#redact(r.output) },
      },
    );
  }

  async #reload(master: number | undefined, signal?: AbortSignal): Promise<void> {
    if (this.#o.reloadCommand) {
      const argv = this.#o.reloadCommand;
      const r = await this.#run(argv, signal);
      if (r.exitCode === 0) return;
      throw new SlipwayError(
        'SLW_TRAFFIC_FAILED',
        `${this.#where}: reload command \`${commandDisplay({ argv })}\` failed (exit ${r.exitCode ?? r.signal}): ${this.#redact(r.output.trim())}`,
        { hint: 'the previous upstream file was put back; check the reload command and nginx’s error log' },
      );
    }
    if (master === undefined) throw this.#noMaster();
    process.kill(master, 'SIGHUP');
  }

  /** A reload is done when new workers run and every worker of the old generation is shutting down or gone. */
  async #awaitNewGeneration(
    master: number,
    before: ReadonlySet<number>,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const workers = await listWorkers(master);
      const serving = workers.filter((w) => !w.shuttingDown);
      if (serving.length > 0 && serving.every((w) => !before.has(w.pid))) return;
      if (Date.now() >= deadline) {
        throw new SlipwayError(
          'SLW_TRAFFIC_FAILED',
          `${this.#where}: nginx (master pid ${master}) did not start workers on the new config within ${this.#timeoutMs} ms`,
          {
            hint: 'nginx keeps its old config when a reload fails (e.g. a port it cannot bind): see its error log; the previous upstream file was put back',
          },
        );
      }
      await sleep(POLL_MS, signal);
    }
  }

  async #master(): Promise<number> {
    const pid = await readMasterPid(this.#pidFile);
    if (pid === undefined) throw this.#noMaster();
    return pid;
  }

  #noMaster(): SlipwayError {
    return new SlipwayError(
      'SLW_TRAFFIC_FAILED',
      `${this.#where}: no running nginx master found through pid file ${this.#pidFile}`,
      { hint: 'start nginx, or set the pid file that nginx’s `pid` directive names' },
    );
  }

  #run(argv: readonly string[], signal?: AbortSignal) {
    return execLocal(
      { argv },
      {
        timeoutMs: this.#timeoutMs,
        env: { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:${SBIN_PATH}` },
        ...(signal ? { signal } : {}),
      },
    );
  }

  async #readFile(): Promise<string | null> {
    try {
      return await readFile(this.#o.upstreamFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new SlipwayError(
        'SLW_TRAFFIC_FAILED',
        `${this.#where}: cannot read the upstream file: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }

  /** Temp file in the same folder + rename: nginx (or a crash) never sees a half-written file. */
  async #writeAtomically(text: string): Promise<void> {
    const file = this.#o.upstreamFile;
    const tmp = path.join(
      path.dirname(file),
      `.${path.basename(file)}.slipway-${randomBytes(4).toString('hex')}`,
    );
    try {
      await writeFile(tmp, text, { mode: 0o644, flush: true });
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new SlipwayError(
        'SLW_TRAFFIC_FAILED',
        `${this.#where}: cannot write the upstream file: ${(e as Error).message}`,
        {
          hint: 'Slipway needs write access to the folder holding the upstream file',
          cause: e,
        },
      );
    }
  }

  async #restore(previous: string | null): Promise<void> {
    if (previous === null) await rm(this.#o.upstreamFile, { force: true });
    else await this.#writeAtomically(previous);
  }
}
