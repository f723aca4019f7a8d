/** The demo's own Prometheus: started when one is installed, scraping the production notes service, in the demo folder. */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

export interface DemoPrometheus {
  readonly url: string;
  readonly binary: string;
  stop(): Promise<void>;
}

/** `/usr/bin/prometheus`, else `prometheus` on PATH, else undefined. */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    '/usr/bin/prometheus',
    ...(env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'prometheus')),
  ];
  return candidates.find((c) => c !== 'prometheus' && existsSync(c));
}

/**
 * Starts Prometheus on a free loopback port with its config and data under `dir`, scraping `target` (host:port)
 * every second, and waits until it is ready. No root needed.
 */
export async function startDemoPrometheus(
  binary: string,
  dir: string,
  target: string,
  signal?: AbortSignal,
): Promise<DemoPrometheus> {
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: notes',
      '    scrape_timeout: 1s',
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1d',
      '--log.level=error',
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.text();
      if (res.ok) return { url, binary, stop };
    } catch {
      // not listening yet
    }
    await sleep(100, undefined, signal ? { signal } : undefined);
  }
  await stop();
  throw new Error(`Prometheus (${binary}) did not become ready on ${url}`);
}
