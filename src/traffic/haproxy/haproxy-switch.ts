/** TrafficSwitch for HAProxy: weights and ready/drain states through the runtime API on its admin socket. */

import { SlipwayError } from '../../core/errors.js';
import type { Backend, TrafficSwitch } from '../../core/ports.js';
import { checkBackendId, checkBackends, checkWeights, hostPort } from '../traffic-input.js';
import { Serial, sleep } from '../traffic-timing.js';
import { runtimeCommand } from './haproxy-runtime-api.js';
import { effectiveWeight, parseServersState, parseShowStat, type ServerState } from './haproxy-stat.js';

export interface HaproxySwitchOptions {
  /** Path of HAProxy's admin socket (`stats socket <path> level admin`). */
  readonly socket: string;
  /** The HAProxy backend holding one `server <Backend.id> …` line per backend. */
  readonly backend: string;
  readonly backends: readonly Backend[];
  /** Longest wait for one runtime API command. @default 5000 */
  readonly timeoutMs?: number;
}

/** HAProxy names: letters, digits, "-", "_", ".", ":". */
const HAPROXY_NAME = /^[A-Za-z0-9._:-]+$/;
const POLL_MS = 50;

/**
 * Weight w > 0 → `set server <backend>/<id> weight w` then `state ready`; weight 0 → `state drain`
 * (no new requests, sessions in flight finish). Runtime changes are what HAProxy documents for
 * switching without a reload; they do not survive a restart of HAProxy, which then uses its config.
 * `drain` polls the server's current sessions (`scur` of `show stat`) until 0.
 */
export class HaproxySwitch implements TrafficSwitch {
  readonly description: string;
  readonly #o: HaproxySwitchOptions;
  readonly #serial = new Serial();
  readonly #where: string;

  constructor(options: HaproxySwitchOptions) {
    this.#where = `HAProxy backend "${options.backend}" (${options.socket})`;
    if (!HAPROXY_NAME.test(options.backend)) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `HAProxy backend name ${JSON.stringify(options.backend)} is not allowed`,
        {
          hint: 'HAProxy names use letters, digits, "-", "_", "." and ":"',
        },
      );
    }
    checkBackends(options.backends, this.#where);
    this.#o = options;
    this.description = `haproxy:${options.backend}`;
  }

  async setWeights(weights: Readonly<Record<string, number>>, signal?: AbortSignal): Promise<void> {
    checkWeights(weights, this.#o.backends, this.#where);
    await this.#serial.run(async () => {
      const servers = await this.#servers(signal);
      this.#requireServers(Object.keys(weights), servers);
      // Servers gaining traffic first, then those losing it: the backend never has fewer servers up than needed.
      const entries = Object.entries(weights).sort((a, b) => b[1] - a[1]);
      for (const [id, weight] of entries) {
        if (weight > 0) {
          await this.#command(`set server ${this.#o.backend}/${id} weight ${weight}`, signal);
          await this.#command(`set server ${this.#o.backend}/${id} state ready`, signal);
        } else {
          await this.#command(`set server ${this.#o.backend}/${id} state drain`, signal);
        }
      }
    });
  }

  async weights(signal?: AbortSignal): Promise<Readonly<Record<string, number>>> {
    const known = new Set(this.#o.backends.map((b) => b.id));
    const servers = await this.#servers(signal);
    return Object.fromEntries(
      servers.filter((s) => known.has(s.server)).map((s) => [s.server, effectiveWeight(s)]),
    );
  }

  async drain(backendId: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    checkBackendId(backendId, this.#o.backends, this.#where);
    this.#requireServers([backendId], await this.#servers(signal));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const active = await this.#sessions(backendId, signal);
      if (active === 0 || Date.now() >= deadline) return active;
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())), signal);
    }
  }

  async close(): Promise<void> {
    await this.#serial.run(async () => undefined);
  }

  async #sessions(id: string, signal?: AbortSignal): Promise<number> {
    const rows = parseShowStat(await this.#command('show stat', signal, true));
    const row = rows.find((r) => r.pxname === this.#o.backend && r.svname === id);
    return Number(row?.scur ?? 0);
  }

  async #servers(signal?: AbortSignal): Promise<ServerState[]> {
    const answer = await this.#command(`show servers state ${this.#o.backend}`, signal, true);
    if (/can't find backend/i.test(answer)) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `${this.#where}: HAProxy has no backend "${this.#o.backend}"`,
        {
          hint: `add it to the HAProxy config and reload HAProxy:\n${this.#configSnippet(this.#o.backends.map((b) => b.id))}`,
        },
      );
    }
    return parseServersState(answer);
  }

  /** Every named server must exist before anything changes: a partial switch is worse than none. */
  #requireServers(ids: readonly string[], servers: readonly ServerState[]): void {
    const present = new Set(servers.map((s) => s.server));
    const missing = ids.filter((id) => !present.has(id));
    if (missing.length === 0) return;
    throw new SlipwayError(
      'SLW_TRAFFIC_INVALID',
      `${this.#where}: HAProxy backend "${this.#o.backend}" has no server ${missing.map((m) => `"${m}"`).join(', ')}; nothing was changed`,
      {
        hint: `add these lines to \`backend ${this.#o.backend}\` in the HAProxy config and reload HAProxy:\n${this.#configSnippet(missing)}`,
        details: { backend: this.#o.backend, missing },
      },
    );
  }

  #configSnippet(ids: readonly string[]): string {
    return this.#o.backends
      .filter((b) => ids.includes(b.id))
      .map((b) => `    server ${b.id} ${hostPort(b.address, b.port)} weight 100`)
      .join('\n');
  }

  /** Runs a command; a `set` answers nothing when it worked, so any text is HAProxy refusing it. */
  async #command(command: string, signal?: AbortSignal, expectsOutput = false): Promise<string> {
    const answer = await runtimeCommand(this.#o.socket, command, signal, this.#o.timeoutMs);
    if (!expectsOutput && answer.trim() !== '') {
      throw new SlipwayError(
        'SLW_TRAFFIC_FAILED',
        `${this.#where}: HAProxy refused "${command}": ${answer.trim()}`,
        {
          hint: 'the admin socket must be opened with `level admin`; servers changed before this command keep their new setting',
        },
      );
    }
    return answer;
  }
}
