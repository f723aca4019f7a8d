/**
 * A real HTTP service for analysis tests whose behaviour is the release `current` points at: each request reads
 * `<root>/current/behaviour.json` ({ delayMs, jitter, errorRate, healthStatus }), so a switch or a rollback
 * changes what it serves at once. Exposes Prometheus metrics at /metrics. Listens on 127.0.0.1, port 0, in a
 * process of its own (release-service.cjs).
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Behaviour {
  /** Typical answer time. */
  readonly delayMs: number;
  /** Uniform jitter around it, as a fraction (0.15 = ±15%). @default 0 */
  readonly jitter?: number;
  /** Share of requests to `/` answered 500. @default 0 */
  readonly errorRate?: number;
  /** Status of `/health`. @default 200 */
  readonly healthStatus?: number;
}

export interface ReleaseService {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./release-service.cjs', import.meta.url));

/** Runs in its own process, so the engine's work in the test process does not add to its answer times. */
export async function startReleaseService(targetRoot: string): Promise<ReleaseService> {
  const child = spawn(process.execPath, [SCRIPT, targetRoot], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(Number(line));
    });
    child.once('exit', (code) => reject(new Error(`release service exited with ${code} before listening`)));
    child.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      process.removeListener('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Users: a GET / every `everyMs` (answers read and dropped), so rates have something to count. Returns the stop. */
export function steadyTraffic(service: ReleaseService, everyMs: number): () => void {
  const timer = setInterval(() => {
    fetch(`${service.url}/`)
      .then((r) => r.text())
      .catch(() => undefined);
  }, everyMs);
  return () => clearInterval(timer);
}
