/** Holds a deployment's execution lease while a runner works on it, renewing it and noticing when it is lost. */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SlipwayError } from '../core/errors.js';
import type { Store } from '../core/ports.js';

export class LeaseKeeper {
  private readonly lost = new AbortController();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly store: Store,
    private readonly deploymentId: number,
    readonly owner: string,
    ttlMs: number,
  ) {
    // A busy store may refuse one renewal; the lease lasts three intervals, so only give up when it is
    // really gone (another owner) or renewals kept failing until it would have expired.
    let failures = 0;
    this.timer = setInterval(
      () => {
        store.renewLease(deploymentId, owner, ttlMs).then(
          (ok) => {
            failures = 0;
            if (!ok)
              this.lost.abort(
                new SlipwayError('SLW_LEASE_HELD', `lost the lease on deployment ${deploymentId}`),
              );
          },
          (e: unknown) => {
            if (++failures >= 3) this.lost.abort(e);
          },
        );
      },
      Math.max(1000, Math.floor(ttlMs / 3)),
    );
    this.timer.unref();
  }

  /** Aborted when renewal fails: the runner must stop, another may have taken over. */
  get lostSignal(): AbortSignal {
    return this.lost.signal;
  }

  /**
   * Takes the lease. A lease left by a dead process on this host is taken over at once (no need to wait
   * for it to expire); one held by a live process is refused with who holds it.
   */
  static async take(store: Store, deploymentId: number, ttlMs: number): Promise<LeaseKeeper> {
    const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    let result = await store.acquireLease(deploymentId, owner, ttlMs);
    if (!result.acquired && holderIsDeadHere(result.holder)) {
      await store.releaseLease(deploymentId, result.holder);
      result = await store.acquireLease(deploymentId, owner, ttlMs);
    }
    if (!result.acquired) {
      const [host, pid] = result.holder.split(':');
      throw new SlipwayError(
        'SLW_LEASE_HELD',
        `deployment ${deploymentId} is being run by process ${pid} on ${host} (lease until ${result.expiresAt})`,
        { hint: 'follow it with "slipway logs --follow", or wait for that process to finish' },
      );
    }
    return new LeaseKeeper(store, deploymentId, owner, ttlMs);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.store.releaseLease(this.deploymentId, this.owner);
  }
}

/** Whether the lease holder is a process on this machine that no longer exists. */
export function holderIsDeadHere(holder: string): boolean {
  const [host, pidText] = holder.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Whether some live Slipway process is running the deployment now (judged by its lease). */
export async function hasLiveRunner(
  store: Store,
  deploymentId: number,
  nowMs = Date.now(),
): Promise<boolean> {
  const lease = await store.getLease(deploymentId);
  return lease !== undefined && Date.parse(lease.expiresAt) > nowMs && !holderIsDeadHere(lease.owner);
}
