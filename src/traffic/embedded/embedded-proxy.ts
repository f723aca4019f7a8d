/** Slipway's embedded HTTP reverse proxy on node:http: weighted backends, exact in-flight counts, safe retries. */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlipwayError } from '../../core/errors.js';
import type { Backend, TrafficSwitch } from '../../core/ports.js';
import { checkBackendId, checkBackends, checkWeights, hostPort } from '../traffic-input.js';
import { sleep } from '../traffic-timing.js';
import { SmoothWeightedPicker } from './embedded-balancer.js';

/** A backend with its current weight (0–100). */
export interface ProxyBackend extends Backend {
  readonly weight: number;
}

export interface EmbeddedProxyOptions {
  /** Address to listen on. @default "127.0.0.1" */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one (see `port`). */
  readonly port: number;
  readonly backends: readonly ProxyBackend[];
  /** Longest time a backend may take to answer before the client gets a 502. @default 60000 */
  readonly upstreamTimeoutMs?: number;
}

export interface BackendStatus extends ProxyBackend {
  /** Requests sent to this backend whose response has not ended yet. */
  readonly inflight: number;
}

export const EMBEDDED_PROXY_DEFAULTS = { host: '127.0.0.1', upstreamTimeoutMs: 60_000 } as const;

/** Idle keep-alive sockets to a backend are closed before Node's default 5 s server keep-alive would close them. */
const IDLE_SOCKET_MS = 4_000;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
]);
/** Methods whose request carries no body here and whose repetition is harmless (RFC 9110 §9.2.2). */
const REPEATABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Slot {
  backend: ProxyBackend;
  inflight: number;
  agent: http.Agent;
}

/**
 * Weight 0 = no new requests; the ones in flight finish and are counted, so `drain` is exact. A request
 * goes to another backend only when it cannot have reached the first one: the connection was refused,
 * or (for GET/HEAD/OPTIONS, which carry no body) a reused keep-alive connection was closed by the
 * backend before it answered. When no backend is left the client gets a 502 saying so.
 * Implements TrafficSwitch for use inside one process; `embedded-proxy-main.ts` runs it on its own.
 */
export class EmbeddedProxy implements TrafficSwitch {
  readonly description: string;
  readonly #server: http.Server;
  readonly #slots = new Map<string, Slot>();
  readonly #picker = new SmoothWeightedPicker();
  readonly #upstreamTimeoutMs: number;

  private constructor(server: http.Server, options: EmbeddedProxyOptions) {
    this.#server = server;
    this.#upstreamTimeoutMs = options.upstreamTimeoutMs ?? EMBEDDED_PROXY_DEFAULTS.upstreamTimeoutMs;
    this.setBackends(options.backends);
    this.description = `embedded:${hostPort((server.address() as AddressInfo).address, this.port)}`;
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: EmbeddedProxyOptions, signal?: AbortSignal): Promise<EmbeddedProxy> {
    signal?.throwIfAborted();
    checkBackends(options.backends, 'embedded proxy');
    checkWeights(
      Object.fromEntries(options.backends.map((b) => [b.id, b.weight])),
      options.backends,
      'embedded proxy',
    );
    let proxy: EmbeddedProxy | undefined;
    const server = http.createServer((req, res) => {
      if (proxy) proxy.#handle(req, res);
      else res.writeHead(503).end();
    });
    server.keepAliveTimeout = 5_000;
    const host = options.host ?? EMBEDDED_PROXY_DEFAULTS.host;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new SlipwayError(
            'SLW_TRAFFIC_FAILED',
            `embedded proxy: cannot listen on ${hostPort(host, options.port)}: ${e.code ?? e.message}`,
            {
              hint:
                e.code === 'EADDRINUSE'
                  ? 'another program uses that port: pick another `listen`'
                  : 'check the listen address',
              cause: e,
            },
          ),
        ),
      );
      server.listen(options.port, host, () => resolve());
    });
    proxy = new EmbeddedProxy(server, options);
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }
  get url(): string {
    return `http://${hostPort((this.#server.address() as AddressInfo).address, this.port)}`;
  }

  /** Replaces the backend list (the state file changed): kept backends keep their in-flight count and connections. */
  setBackends(backends: readonly ProxyBackend[]): void {
    checkBackends(backends, 'embedded proxy');
    const next = new Set(backends.map((b) => b.id));
    for (const [id, slot] of this.#slots) {
      if (!next.has(id)) {
        slot.agent.destroy();
        this.#slots.delete(id);
      }
    }
    for (const backend of backends) {
      const slot = this.#slots.get(backend.id);
      if (slot && slot.backend.address === backend.address && slot.backend.port === backend.port) {
        slot.backend = backend;
      } else {
        slot?.agent.destroy();
        this.#slots.set(backend.id, {
          backend,
          inflight: slot?.inflight ?? 0,
          agent: new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
        });
      }
    }
    this.#picker.reset();
  }

  status(): BackendStatus[] {
    return [...this.#slots.values()].map((s) => ({ ...s.backend, inflight: s.inflight }));
  }

  async setWeights(weights: Readonly<Record<string, number>>, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const backends = [...this.#slots.values()].map((s) => s.backend);
    checkWeights(weights, backends, this.description);
    this.setBackends(backends.map((b) => ({ ...b, weight: weights[b.id] ?? b.weight })));
  }

  async weights(signal?: AbortSignal): Promise<Readonly<Record<string, number>>> {
    signal?.throwIfAborted();
    return Object.fromEntries([...this.#slots.values()].map((s) => [s.backend.id, s.backend.weight]));
  }

  async drain(backendId: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    checkBackendId(
      backendId,
      [...this.#slots.values()].map((s) => s.backend),
      this.description,
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const inflight = this.#slots.get(backendId)?.inflight ?? 0;
      if (inflight === 0 || Date.now() >= deadline) return inflight;
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())), signal);
    }
  }

  /** Stops accepting connections, lets requests in flight finish (up to `graceMs`), then closes everything. */
  async close(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
    for (const slot of this.#slots.values()) slot.agent.destroy();
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const tried = new Set<string>();
    const hasBody =
      req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'
        ? true
        : req.headers['transfer-encoding'] !== undefined;
    const repeatable = REPEATABLE.has(req.method ?? '') && !hasBody;
    let lastError = '';

    const attempt = (): void => {
      const candidates = [...this.#slots.values()]
        .filter((s) => !tried.has(s.backend.id))
        .map((s) => s.backend);
      const id = this.#picker.pick(candidates);
      const slot = id === undefined ? undefined : this.#slots.get(id);
      if (slot === undefined) {
        const why =
          tried.size === 0
            ? 'no backend has a weight above 0'
            : `every backend with a weight above 0 failed (${lastError})`;
        sendError(
          res,
          502,
          `Bad gateway: the Slipway proxy has no backend to send this request to: ${why}.\n`,
        );
        return;
      }
      tried.add(slot.backend.id);
      slot.inflight++;
      let counted = true;
      const done = (): void => {
        if (!counted) return;
        counted = false;
        slot.inflight--;
      };

      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers))
        if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
      const forwardedFor = req.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = [forwardedFor, req.socket.remoteAddress].filter(Boolean).join(', ');
      if (req.headers.host !== undefined) headers['x-forwarded-host'] = req.headers.host;
      headers['x-forwarded-proto'] = 'http';

      const upstream = http.request({
        host: slot.backend.address,
        port: slot.backend.port,
        method: req.method,
        path: req.url,
        headers,
        agent: slot.agent,
        timeout: this.#upstreamTimeoutMs,
      });
      let bodySent = false;
      const sendBody = (): void => {
        bodySent = true;
        req.pipe(upstream);
      };
      if (repeatable) upstream.end();
      else
        upstream.on('socket', (socket) => {
          // The body is read from the client only once connected, so a refused connection consumed nothing.
          if (socket.connecting) socket.once('connect', sendBody);
          else sendBody();
        });

      upstream.on('timeout', () =>
        upstream.destroy(new Error(`no answer within ${this.#upstreamTimeoutMs} ms`)),
      );
      upstream.on('response', (answer) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(answer.headers))
          if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
        answer.pipe(res);
        answer.on('end', done);
        answer.on('error', () => {
          done();
          res.destroy();
        });
        res.on('close', () => {
          done();
          if (!answer.complete) answer.destroy();
        });
      });
      upstream.on('error', (e: NodeJS.ErrnoException) => {
        done();
        lastError = `${slot.backend.id}: ${e.code ?? e.message}`;
        if (res.destroyed) return; // the client went away: nothing to answer, nothing to retry
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const refused = e.code === 'ECONNREFUSED' && !bodySent;
        const closedBeforeAnswer =
          repeatable && upstream.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
        if (refused || closedBeforeAnswer) {
          attempt();
          return;
        }
        sendError(res, 502, `Bad gateway: backend ${slot.backend.id} failed: ${e.code ?? e.message}.\n`);
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
    };
    attempt();
  }
}

function sendError(res: http.ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
