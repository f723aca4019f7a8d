/**
 * Starts a real, throw-away nginx for tests and benchmarks, with an upstream that includes Slipway's file.
 *
 *     const nginx = await startNginx({ backends, weights: { blue: 100, green: 0 } });
 *     nginx.url            // http://127.0.0.1:<free port>  (proxies to upstream `slipway_app`)
 *     nginx.upstreamFile   // <tmp>/upstream.conf, written with the given weights (Slipway's format)
 *     nginx.config, nginx.pidFile  // what NginxSwitch needs: { config, pidFile, upstreamFile, upstream }
 *     await nginx.stop()   // SIGTERM to the master, wait for it, remove the folder (afterAll)
 *
 * - `/usr/sbin/nginx` (Debian's `nginx` package) runs in the foreground (`daemon off`) as a child of the
 *   test; pid file, logs and temp folders are inside its temp folder; it listens on 127.0.0.1 only.
 * - The upstream keeps idle connections to backends (`keepalive`) and retries another server on a
 *   connection error (`proxy_next_upstream error timeout`), as a production config would.
 * - `workerProcesses` defaults to 1 so weighted round-robin is exact; a port taken meanwhile is retried.
 * - A server left running by a crashed test is killed when the Node process exits.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Backend } from '../../src/core/ports.js';
import { renderUpstreamFile } from '../../src/traffic/nginx/nginx-upstream-file.js';
import { freePort } from './free-port.js';
import { answers, killOnExit } from './server-process.js';

export const NGINX_BIN = '/usr/sbin/nginx';
export const UPSTREAM = 'slipway_app';

export interface NginxOptions {
  readonly backends: readonly Backend[];
  /** Initial weights (0–100, 0 = down). @default 100 for the first backend, 0 for the others */
  readonly weights?: Readonly<Record<string, number>>;
  /** @default 1 */
  readonly workerProcesses?: number;
}

export interface NginxServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly config: string;
  readonly pidFile: string;
  readonly upstreamFile: string;
  readonly upstream: string;
  readonly errorLog: string;
  readonly masterPid: number;
  stop(): Promise<void>;
}

export async function startNginx(options: NginxOptions): Promise<NginxServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-nginx-'));
  const upstreamFile = path.join(dir, 'upstream.conf');
  const config = path.join(dir, 'nginx.conf');
  const pidFile = path.join(dir, 'nginx.pid');
  const errorLog = path.join(dir, 'error.log');
  const first = options.backends[0]?.id;
  await writeFile(
    upstreamFile,
    renderUpstreamFile(
      UPSTREAM,
      options.backends.map((backend) => ({
        backend,
        weight: options.weights?.[backend.id] ?? (backend.id === first ? 100 : 0),
      })),
    ),
  );
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    await writeFile(
      config,
      nginxConfig({ dir, port, upstreamFile, pidFile, errorLog, workers: options.workerProcesses ?? 1 }),
    );
    const child = spawn(NGINX_BIN, ['-c', config, '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killOnExit(child);
    const url = `http://127.0.0.1:${port}`;
    if (await answers(url, child)) {
      const masterPid = Number((await readFile(pidFile, 'utf8')).trim());
      return {
        url,
        port,
        dir,
        config,
        pidFile,
        upstreamFile,
        upstream: UPSTREAM,
        errorLog,
        masterPid,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    lastError = stderr + (await readFile(errorLog, 'utf8').catch(() => ''));
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`nginx did not start: ${lastError}`);
}

function nginxConfig(o: {
  dir: string;
  port: number;
  upstreamFile: string;
  pidFile: string;
  errorLog: string;
  workers: number;
}): string {
  const t = (name: string) => path.join(o.dir, name);
  return `# nginx for a Slipway test (loopback only)
worker_processes ${o.workers};
pid ${o.pidFile};
error_log ${o.errorLog} notice;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${t('client_body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  upstream ${UPSTREAM} {
    include ${o.upstreamFile};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${o.port};
    location / {
      proxy_pass http://${UPSTREAM};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
    }
  }
}
`;
}
