/**
 * Starts a real, throw-away HAProxy for tests and benchmarks, with its runtime API on an admin socket.
 *
 *     const haproxy = await startHaproxy({ backends, weights: { blue: 100, green: 0 } });
 *     haproxy.url      // http://127.0.0.1:<free port>  (frontend → backend `app`)
 *     haproxy.socket   // <tmp>/admin.sock (`stats socket … level admin`): what HaproxySwitch needs, with `backend`
 *     await haproxy.stop()  // SIGTERM, wait, remove the folder (afterAll)
 *
 * - `/usr/sbin/haproxy` (Debian's `haproxy` package) runs in the foreground (`-db`) as a child of the
 *   test; every path is inside its temp folder; it listens on 127.0.0.1 only.
 * - Backend `app` has one `server <Backend.id> <address>:<port> weight <w>` per backend (weight 0 in the
 *   config = no traffic until switched), `balance roundrobin`, `option redispatch` + `retries 3` so a
 *   refused connection goes to another server, and keeps idle server connections (`http-reuse safe`).
 * - `omitServers` leaves some backends out of the config (to test the "missing server" error).
 * - A server left running by a crashed test is killed when the Node process exits.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Backend } from '../../src/core/ports.js';
import { freePort } from './free-port.js';
import { answers, killOnExit } from './server-process.js';

export const HAPROXY_BIN = '/usr/sbin/haproxy';
export const HAPROXY_BACKEND = 'app';

export interface HaproxyOptions {
  readonly backends: readonly Backend[];
  /** @default 100 for the first backend, 0 for the others */
  readonly weights?: Readonly<Record<string, number>>;
  /** Backend ids not to declare in the config. */
  readonly omitServers?: readonly string[];
}

export interface HaproxyServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly config: string;
  readonly socket: string;
  readonly backend: string;
  stop(): Promise<void>;
}

export async function startHaproxy(options: HaproxyOptions): Promise<HaproxyServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-haproxy-'));
  const config = path.join(dir, 'haproxy.cfg');
  const socket = path.join(dir, 'admin.sock');
  const first = options.backends[0]?.id;
  const servers = options.backends
    .filter((b) => !options.omitServers?.includes(b.id))
    .map(
      (b) =>
        `  server ${b.id} ${b.address}:${b.port} weight ${options.weights?.[b.id] ?? (b.id === first ? 100 : 0)}`,
    );
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    await writeFile(
      config,
      `# HAProxy for a Slipway test (loopback only)
global
  stats socket ${socket} mode 600 level admin
  pidfile ${path.join(dir, 'haproxy.pid')}
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 10s
  option redispatch
  retries 3
frontend fe
  bind 127.0.0.1:${port}
  default_backend ${HAPROXY_BACKEND}
backend ${HAPROXY_BACKEND}
  balance roundrobin
  http-reuse safe
${servers.join('\n')}
`,
    );
    const child = spawn(HAPROXY_BIN, ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killOnExit(child);
    const url = `http://127.0.0.1:${port}`;
    if (await answers(url, child)) {
      return {
        url,
        port,
        dir,
        config,
        socket,
        backend: HAPROXY_BACKEND,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    lastError = stderr;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`haproxy did not start: ${lastError}`);
}
