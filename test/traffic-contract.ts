/** The contract every TrafficSwitch (nginx, HAProxy, embedded) must pass, against the real load balancer. */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Backend, TrafficSwitch } from '../src/core/ports.js';
import {
  distribution,
  get,
  type NamedBackend,
  startLoad,
  startNamedBackends,
  stopAll,
} from './traffic-backends.js';
import { waitFor } from './wait-for.js';

export interface TrafficContractContext {
  readonly trafficSwitch: TrafficSwitch;
  /** The load balancer's front URL. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * `make` gets two running backends, `blue` and `green` (each answers its own name; `/slow?ms=N` answers
 * late), starts the load balancer in front of them and returns a switch for it.
 */
export function describeTrafficSwitchContract(
  name: string,
  make: (backends: readonly Backend[]) => Promise<TrafficContractContext>,
  options: {
    /**
     * The switch reloads the load balancer, whose old workers close idle kept-alive client connections
     * (nginx): a client may then resend an idempotent request once, as HTTP/1.1 clients do. Others must
     * not close a single client connection.
     */
    readonly closesIdleKeepAlive?: boolean;
  } = {},
): void {
  describe(`TrafficSwitch contract: ${name}`, () => {
    let backends: NamedBackend[];
    let ctx: TrafficContractContext;
    let sw: TrafficSwitch;

    beforeAll(async () => {
      backends = await startNamedBackends(['blue', 'green']);
      ctx = await make(backends.map((b) => b.backend));
      sw = ctx.trafficSwitch;
    });
    afterAll(async () => {
      await sw?.close();
      await ctx?.stop();
      await stopAll(backends ?? []);
    });
    beforeEach(async () => {
      await sw.setWeights({ blue: 100, green: 0 });
    });

    it('sends all traffic where the weights say, and reads them back', async () => {
      expect(await sw.weights()).toEqual({ blue: 100, green: 0 });
      expect(await distribution(ctx.url, 200)).toEqual({ blue: 200 });

      await sw.setWeights({ blue: 0, green: 100 });
      expect(await sw.weights()).toEqual({ blue: 0, green: 100 });
      expect(await distribution(ctx.url, 200)).toEqual({ green: 200 });
    });

    it('splits traffic 10/90 within tolerance', async () => {
      await sw.setWeights({ blue: 10, green: 90 });
      expect(await sw.weights()).toEqual({ blue: 10, green: 90 });
      const counts = await distribution(ctx.url, 200);
      expect((counts.blue ?? 0) + (counts.green ?? 0)).toBe(200);
      // 20 expected; weighted round-robin is near exact, the margin covers per-worker state.
      expect(counts.blue).toBeGreaterThanOrEqual(10);
      expect(counts.blue).toBeLessThanOrEqual(35);
    });

    it('keeps the weight of backends a change does not name', async () => {
      await sw.setWeights({ blue: 30, green: 70 });
      await sw.setWeights({ blue: 60 });
      expect(await sw.weights()).toEqual({ blue: 60, green: 70 });
    });

    it('drain waits for a slow request in flight, which completes successfully', async () => {
      const blue = backends[0] as NamedBackend;
      const servedBefore = blue.served();
      // Long enough to outlast the switch and the requests below on a loaded machine.
      const slow = get(`${ctx.url}/slow?ms=4000`);
      await waitFor('the slow request to reach blue', () => blue.inflight() === 1);
      await sw.setWeights({ blue: 0, green: 100 });
      // New requests go to green while blue finishes its one.
      expect(await distribution(ctx.url, 20)).toEqual({ green: 20 });
      expect(blue.inflight()).toBe(1);
      expect(await sw.drain('blue', 50)).toBeGreaterThan(0);
      expect(await sw.drain('blue', 10_000)).toBe(0);
      // drain returned 0 only once blue had answered the slow request.
      expect(blue.served()).toBe(servedBefore + 1);
      expect(await slow).toEqual({ status: 200, body: 'blue' });
      expect(await sw.drain('blue', 1_000)).toBe(0);
    });

    it('loses no request while switching 5 times under constant load', async () => {
      const load = startLoad(ctx.url, 8);
      const plan = [
        { blue: 0, green: 100 },
        { blue: 50, green: 50 },
        { blue: 100, green: 0 },
        { blue: 10, green: 90 },
        { blue: 0, green: 100 },
      ];
      for (const weights of plan) {
        await new Promise((r) => setTimeout(r, 300));
        await sw.setWeights(weights);
      }
      await new Promise((r) => setTimeout(r, 300));
      const result = await load.stop();
      expect(result.failed, result.errors.join('\n')).toBe(0);
      if (!options.closesIdleKeepAlive) expect(result.retried).toBe(0);
      expect(result.ok).toBeGreaterThan(200);
      expect(result.byBody.blue).toBeGreaterThan(0);
      expect(result.byBody.green).toBeGreaterThan(0);
    });

    it('refuses an unknown backend and out-of-range weights, changing nothing', async () => {
      await sw.setWeights({ blue: 40, green: 60 });
      await expect(sw.setWeights({ blue: 0, purple: 100 })).rejects.toMatchObject({
        code: 'SLW_TRAFFIC_INVALID',
        message: expect.stringContaining('"purple"'),
      });
      for (const bad of [101, -1, 1.5, Number.NaN]) {
        await expect(sw.setWeights({ green: bad })).rejects.toMatchObject({
          code: 'SLW_TRAFFIC_INVALID',
          message: expect.stringContaining(String(bad)),
        });
      }
      await expect(sw.drain('purple', 10)).rejects.toMatchObject({ code: 'SLW_TRAFFIC_INVALID' });
      expect(await sw.weights()).toEqual({ blue: 40, green: 60 });
      const counts = await distribution(ctx.url, 50);
      expect((counts.blue ?? 0) + (counts.green ?? 0)).toBe(50);
    });

    it('answers 502 (not a hang) when every backend has weight 0, and recovers', async () => {
      await sw.setWeights({ blue: 0, green: 0 });
      expect(await sw.weights()).toEqual({ blue: 0, green: 0 });
      const r = await get(ctx.url);
      expect(r.status).toBeGreaterThanOrEqual(500);
      await sw.setWeights({ green: 100 });
      expect(await distribution(ctx.url, 10)).toEqual({ green: 10 });
    });
  });
}
