/**
 * Tiny HTTP backends and HTTP clients for the traffic switch tests and the zero-downtime benchmark.
 *
 *     const backends = await startNamedBackends(['blue', 'green']); // node:http on free 127.0.0.1 ports
 *     backends[0].backend                        // { id: 'blue', address: '127.0.0.1', port }
 *     GET /            → 200 "blue"              (the body is the backend's name)
 *     GET /slow?ms=1500 → 200 "blue" after 1.5 s  (an in-flight request to drain)
 *     await distribution(url, 200)               // { blue: 20, green: 180 } (sequential requests)
 *     const load = startLoad(url, 8); …; await load.stop() // { ok, failed, retried, errors, byBody }
 *     await stopAll(backends)
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../src/core/ports.js';

export { freePort } from './servers/free-port.js';

export interface NamedBackend {
  readonly backend: Backend;
  /** Requests answered so far. */
  served(): number;
  /** Requests received and not answered yet (a `/slow` one in flight). */
  inflight(): number;
  stop(): Promise<void>;
}

export async function startNamedBackend(name: string): Promise<NamedBackend> {
  let served = 0;
  let inflight = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const ms = url.pathname === '/slow' ? Number(url.searchParams.get('ms') ?? 1000) : 0;
    inflight++;
    const answer = (): void => {
      inflight--;
      served++;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(name);
    };
    if (ms > 0) setTimeout(answer, ms);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    backend: { id: name, address: '127.0.0.1', port },
    served: () => served,
    inflight: () => inflight,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function startNamedBackends(names: readonly string[]): Promise<NamedBackend[]> {
  return Promise.all(names.map(startNamedBackend));
}

export async function stopAll(backends: readonly NamedBackend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.stop()));
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** One GET; rejects on a connection error (with `reusedSocket` set when it went out on a kept-alive connection). */
export function get(url: string, agent?: http.Agent): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, agent ? { agent } : { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      e.reusedSocket = req.reusedSocket;
      reject(e);
    });
  });
}

/**
 * A GET as a careful HTTP/1.1 client sends it: when a kept-alive connection turns out to be closed by
 * the server before any answer (the server closed it while idle, the request crossed the close), the
 * idempotent request is sent once more on a new connection — what RFC 9112 §9.3.1 allows, what
 * browsers, curl and Go do, and what Node's docs recommend (`request.reusedSocket`). `onRetry` counts it.
 */
export async function getRetryingClosedKeepAlive(
  url: string,
  agent: http.Agent,
  onRetry: () => void,
): Promise<HttpAnswer> {
  try {
    return await get(url, agent);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { reusedSocket?: boolean };
    if (!err.reusedSocket || (err.code !== 'ECONNRESET' && err.code !== 'EPIPE')) throw e;
    onRetry();
    return await get(url); // on a new connection: the other idle ones may be closing too
  }
}

/** Sends `n` sequential GETs over one keep-alive connection and counts the answers by body. */
export async function distribution(url: string, n: number): Promise<Record<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const counts: Record<string, number> = {};
  try {
    for (let i = 0; i < n; i++) {
      const r = await get(url, agent);
      const key = r.status === 200 ? r.body : `status ${r.status}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  } finally {
    agent.destroy();
  }
  return counts;
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  /** Requests sent again because a kept-alive connection was closed under them (see getRetryingClosedKeepAlive). */
  readonly retried: number;
  /** The first few failures, for the assertion message. */
  readonly errors: readonly string[];
  readonly byBody: Readonly<Record<string, number>>;
}

/** `concurrency` keep-alive clients issuing GETs back to back until `stop()`; every non-200 or error is a failure. */
export function startLoad(url: string, concurrency: number): { stop(): Promise<LoadResult> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let running = true;
  let ok = 0;
  let failed = 0;
  let retried = 0;
  const errors: string[] = [];
  const byBody: Record<string, number> = {};
  const fail = (what: string): void => {
    failed++;
    if (errors.length < 10) errors.push(what);
  };
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const r = await getRetryingClosedKeepAlive(url, agent, () => {
          retried++;
        });
        if (r.status === 200) {
          ok++;
          byBody[r.body] = (byBody[r.body] ?? 0) + 1;
        } else fail(`${r.status} ${r.body.slice(0, 200)}`);
      } catch (e) {
        fail(String((e as NodeJS.ErrnoException).code ?? e));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { ok, failed, retried, errors, byBody };
    },
  };
}
