/** The contract every Store implementation must pass; each implementation's test file runs it against a real database. */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyNewEvent, AnyStoredEvent } from '../src/core/events.js';
import type { DeploymentRecord, Store } from '../src/core/ports.js';
import { GENESIS_HASH, hashEvent } from '../src/store/event-hash.js';
import {
  type CreatedOptions,
  createdEvent,
  errorOf,
  event,
  failed,
  phaseStarted,
  succeeded,
} from './store-fixtures.js';

/** Raw access to the underlying database, to play the attacker who edits the file behind the store's back. */
export interface StoreTamper {
  /** Replaces the stored payload (JSON text) of the event with this global id. */
  updatePayload(eventId: number, json: string): Promise<void>;
  deleteEvent(eventId: number): Promise<void>;
  /** Swaps the contents of two events, leaving their global ids (chain positions) in place. */
  swapEvents(eventIdA: number, eventIdB: number): Promise<void>;
}

export interface OpenedStore {
  readonly store: Store;
  readonly cleanup: () => Promise<void>;
  /** Without it, the tampering tests are skipped. */
  readonly tamper?: StoreTamper;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    /** Creates a deployment and appends `events` to it; returns its record after. */
    async function deploy(options: CreatedOptions, ...events: AnyNewEvent[]): Promise<DeploymentRecord> {
      const { deployment } = await store.createDeployment(createdEvent(options));
      if (events.length > 0) await store.append(deployment.id, deployment.lastSeq, events);
      return (await store.getDeployment(deployment.id))!;
    }

    async function snapshot() {
      const deployments = await store.listDeployments({ limit: 1000 });
      const chain = await store.verifyChain();
      return { deployments, eventsChecked: chain.eventsChecked, headHash: chain.headHash };
    }

    describe('createDeployment', () => {
      it('stores the deployment and its first event, and reads them back', async () => {
        const created = createdEvent({
          app: 'shop',
          environment: 'production',
          release: '2.1.0',
          user: 'bob',
        });
        const { deployment, event: first } = await store.createDeployment(created);

        expect(deployment).toMatchObject({
          app: 'shop',
          environment: 'production',
          release: '2.1.0',
          state: 'running',
          startedBy: 'bob',
          finishedAt: null,
          reason: null,
          lastSeq: 1,
        });
        expect(deployment.id).toBeGreaterThan(0);
        expect(new Date(deployment.createdAt).toISOString()).toBe(deployment.createdAt);
        expect(deployment.updatedAt).toBe(deployment.createdAt);

        expect(first).toMatchObject({
          deploymentId: deployment.id,
          seq: 1,
          type: 'deployment.created',
          prevHash: GENESIS_HASH,
        });
        expect(first.at).toBe(deployment.createdAt);
        expect(first.payload).toEqual(created.payload);
        expect(first.hash).toMatch(/^[0-9a-f]{64}$/);

        expect(await store.getDeployment(deployment.id)).toEqual(deployment);
        expect(await store.readEvents(deployment.id)).toEqual([first]);
      });

      it('returns undefined / no events for an unknown deployment', async () => {
        expect(await store.getDeployment(424242)).toBeUndefined();
        expect(await store.readEvents(424242)).toEqual([]);
      });

      it('refuses a second active deployment of the same environment, naming the one in the way', async () => {
        const first = await deploy({ environment: 'production', release: '1.0.0' });
        const before = await snapshot();

        const err = await errorOf(
          store.createDeployment(createdEvent({ environment: 'production', release: '1.1.0' })),
        );
        expect(err.code).toBe('SLW_ENV_BUSY');
        expect(err.message).toContain(`deployment ${first.id}`);
        expect(err.message).toContain('1.0.0');
        expect(err.message).toContain('running');
        expect(err.hint).toContain(`slipway status ${first.id}`);
        expect(err.hint).toMatch(/wait/);
        expect(err.hint).toMatch(/slipway cancel/);
        expect(await snapshot()).toEqual(before);
      });

      it('counts waiting and rolling-back deployments as active too', async () => {
        const waiting = await deploy(
          { environment: 'production' },
          event('gate.waiting', { phase: 'prod', step: 'ok', gate: 'approval', roles: ['qa'] }),
        );
        expect(waiting.state).toBe('waiting');
        expect(
          (await errorOf(store.createDeployment(createdEvent({ environment: 'production' })))).code,
        ).toBe('SLW_ENV_BUSY');

        const rolling = await deploy(
          { environment: 'staging' },
          event('rollback.started', { reason: 'x', trigger: 'manual', toReleaseDir: null, toRelease: null }),
        );
        expect(rolling.state).toBe('rolling-back');
        const err = await errorOf(store.createDeployment(createdEvent({ environment: 'staging' })));
        expect(err.code).toBe('SLW_ENV_BUSY');
        expect(err.message).toContain('rolling-back');
      });

      it('leaves other environments and other apps free, and frees the environment once the deployment ends', async () => {
        const first = await deploy({ app: 'shop', environment: 'production' });
        await expect(deploy({ app: 'shop', environment: 'staging' })).resolves.toMatchObject({
          state: 'running',
        });
        await expect(deploy({ app: 'blog', environment: 'production' })).resolves.toMatchObject({
          state: 'running',
        });

        await store.append(first.id, first.lastSeq, [succeeded()]);
        const second = await deploy({ app: 'shop', environment: 'production', release: '1.1.0' });
        expect(second.id).toBeGreaterThan(first.id);

        await store.append(second.id, second.lastSeq, [failed()]);
        await expect(
          deploy({ app: 'shop', environment: 'production', release: '1.2.0' }),
        ).resolves.toMatchObject({
          state: 'running',
        });
      });
    });

    describe('append', () => {
      it('numbers events 1, 2, 3… per deployment and returns them as stored', async () => {
        const a = await deploy({ environment: 'staging' });
        const b = await deploy({ environment: 'production' });
        const appendedA = await store.append(a.id, 1, [phaseStarted('build'), phaseStarted('test')]);
        const appendedB = await store.append(b.id, 1, [phaseStarted('build')]);
        const moreA = await store.append(a.id, 3, [event('phase.succeeded', { phase: 'test' })]);

        expect(appendedA.map((e) => e.seq)).toEqual([2, 3]);
        expect(appendedB.map((e) => e.seq)).toEqual([2]);
        expect(moreA.map((e) => e.seq)).toEqual([4]);

        const logA = await store.readEvents(a.id);
        expect(logA.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
        expect(logA.slice(1)).toEqual([...appendedA, ...moreA]);
        expect(await store.readEvents(a.id, 2)).toEqual(logA.slice(2));
        expect(await store.readEvents(a.id, 4)).toEqual([]);
        expect((await store.getDeployment(a.id))?.lastSeq).toBe(4);

        // The global id is the chain order: strictly increasing across deployments in append order.
        const ids = [...appendedA, ...appendedB, ...moreA].map((e) => e.id);
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
      });

      it('refuses a stale expectedSeq and writes nothing', async () => {
        const d = await deploy({}, phaseStarted());
        const before = await snapshot();

        const stale = await errorOf(store.append(d.id, 1, [phaseStarted('again')]));
        expect(stale.code).toBe('SLW_CONCURRENT_APPEND');
        expect(stale.message).toContain(String(d.id));
        const ahead = await errorOf(store.append(d.id, 5, [phaseStarted('again')]));
        expect(ahead.code).toBe('SLW_CONCURRENT_APPEND');

        expect(await snapshot()).toEqual(before);
        expect(await store.readEvents(d.id)).toHaveLength(2);
      });

      it('refuses an unknown deployment', async () => {
        expect((await errorOf(store.append(999, 1, [phaseStarted()]))).code).toBe('SLW_DEPLOYMENT_NOT_FOUND');
      });

      it('refuses an illegal transition anywhere in the batch and writes none of it', async () => {
        const d = await deploy({});
        const before = await snapshot();

        // phase.started is legal; gate.checked is not legal while running.
        const err = await errorOf(
          store.append(d.id, 1, [
            phaseStarted(),
            event('gate.checked', {
              phase: 'p',
              step: 's',
              role: 'qa',
              actor: { user: 'q', via: 'env' },
              comment: '',
            }),
          ]),
        );
        expect(err.code).toBe('SLW_ILLEGAL_TRANSITION');
        expect(err.message).toContain('running');
        expect(err.message).toContain(String(d.id));
        expect(await snapshot()).toEqual(before);

        await store.append(d.id, 1, [succeeded()]);
        const final = await errorOf(store.append(d.id, 2, [phaseStarted()]));
        expect(final.code).toBe('SLW_ILLEGAL_TRANSITION');
        expect(final.message).toContain('succeeded');
      });

      it('never lets a second deployment.created into a log', async () => {
        const d = await deploy({});
        expect((await errorOf(store.append(d.id, 1, [createdEvent()]))).code).toBe('SLW_ILLEGAL_TRANSITION');
      });

      it('accepts an empty batch as a no-op (but still checks expectedSeq)', async () => {
        const d = await deploy({});
        expect(await store.append(d.id, 1, [])).toEqual([]);
        expect((await errorOf(store.append(d.id, 7, []))).code).toBe('SLW_CONCURRENT_APPEND');
        expect((await store.getDeployment(d.id))?.lastSeq).toBe(1);
      });
    });

    describe('projection', () => {
      it('follows gates: waiting until nothing is awaited, then running', async () => {
        const d = await deploy({});
        const actor = { user: 'q', via: 'env' } as const;
        const step = { phase: 'prod', step: 'ok' };
        await store.append(d.id, 1, [
          event('gate.waiting', { ...step, gate: 'approval', roles: ['qa', 'ops'] }),
        ]);
        expect((await store.getDeployment(d.id))?.state).toBe('waiting');
        await store.append(d.id, 2, [
          event('gate.approved', { ...step, role: 'qa', actor, comment: '', remaining: ['ops'] }),
        ]);
        expect((await store.getDeployment(d.id))?.state).toBe('waiting');
        await store.append(d.id, 3, [
          event('gate.approved', { ...step, role: 'ops', actor, comment: '', remaining: [] }),
        ]);
        const after = await store.getDeployment(d.id);
        expect(after).toMatchObject({ state: 'running', lastSeq: 4, finishedAt: null, reason: null });
      });

      it('records finish time and reason of a failure', async () => {
        const d = await deploy({});
        const [end] = await store
          .append(d.id, 1, [phaseStarted(), failed('migrations failed')])
          .then((e) => e.slice(1));
        expect(await store.getDeployment(d.id)).toMatchObject({
          state: 'failed',
          reason: 'migrations failed',
          finishedAt: end!.at,
          updatedAt: end!.at,
          lastSeq: 3,
        });
      });

      it('tracks an automatic rollback: reason from rollback.started, then from deployment.rolled-back', async () => {
        const d = await deploy({});
        await store.append(d.id, 1, [
          event('rollback.started', {
            reason: 'smoke failed',
            trigger: 'step-failed',
            toReleaseDir: '/r/1',
            toRelease: '1',
          }),
        ]);
        expect(await store.getDeployment(d.id)).toMatchObject({
          state: 'rolling-back',
          reason: 'smoke failed',
          finishedAt: null,
        });

        const [, end] = await store.append(d.id, 2, [
          event('rollback.succeeded', { release: '1', durationMs: 10 }),
          event('deployment.rolled-back', { reason: 'smoke failed; back on 1', release: '1' }),
        ]);
        expect(await store.getDeployment(d.id)).toMatchObject({
          state: 'rolled-back',
          reason: 'smoke failed; back on 1',
          finishedAt: end!.at,
          lastSeq: 4,
        });
      });

      it('reopens a succeeded deployment on a manual rollback, which makes the environment busy again', async () => {
        const d = await deploy({ environment: 'production' }, succeeded());
        expect(d).toMatchObject({ state: 'succeeded', reason: null });
        expect(d.finishedAt).not.toBeNull();

        await store.append(d.id, 2, [
          event('rollback.started', {
            reason: 'customers report errors',
            trigger: 'manual',
            toReleaseDir: null,
            toRelease: null,
          }),
        ]);
        expect(await store.getDeployment(d.id)).toMatchObject({
          state: 'rolling-back',
          finishedAt: null,
          reason: 'customers report errors',
        });
        const busy = await errorOf(store.createDeployment(createdEvent({ environment: 'production' })));
        expect(busy.code).toBe('SLW_ENV_BUSY');
        expect(busy.message).toContain(`deployment ${d.id}`);
      });

      it('refuses a manual rollback of an old deployment while another one holds the environment', async () => {
        const old = await deploy({ environment: 'production', release: '1.0.0' }, succeeded());
        const current = await deploy({ environment: 'production', release: '2.0.0' });
        const before = await snapshot();

        const err = await errorOf(
          store.append(old.id, 2, [
            event('rollback.started', {
              reason: 'x',
              trigger: 'manual',
              toReleaseDir: null,
              toRelease: null,
            }),
          ]),
        );
        expect(err.code).toBe('SLW_ENV_BUSY');
        expect(err.message).toContain(`deployment ${current.id}`);
        expect(await snapshot()).toEqual(before);
      });
    });

    describe('hash chain', () => {
      it('verifies an empty store', async () => {
        expect(await store.verifyChain()).toEqual({ ok: true, eventsChecked: 0, headHash: GENESIS_HASH });
      });

      it('chains every event to the one before it in the whole store', async () => {
        const a = await deploy({ environment: 'staging' });
        const b = await deploy({ environment: 'production' });
        await store.append(a.id, 1, [phaseStarted()]);
        await store.append(b.id, 1, [phaseStarted(), succeeded()]);
        await store.append(a.id, 2, [failed()]);

        const all = [...(await store.readEvents(a.id)), ...(await store.readEvents(b.id))].sort(
          (x, y) => x.id - y.id,
        );
        let prev = GENESIS_HASH;
        for (const e of all) {
          expect(e.prevHash).toBe(prev);
          expect(e.hash).toBe(hashEvent(prev, e));
          prev = e.hash;
        }
        expect(await store.verifyChain()).toEqual({ ok: true, eventsChecked: 6, headHash: prev });
      });

      it('hashes what it stores, whatever the key order of the payload given', async () => {
        const d = await deploy({});
        const payload = { summary: 'ok', durationMs: 5, attempt: 1, step: 'compile', phase: 'build' };
        const [stored] = await store.append(d.id, 1, [event('step.succeeded', payload)]);
        expect((await store.readEvents(d.id, 1))[0]).toEqual(stored);
        const sorted = { attempt: 1, durationMs: 5, phase: 'build', step: 'compile', summary: 'ok' };
        expect(stored!.hash).toBe(hashEvent(stored!.prevHash, { ...stored!, payload: sorted }));
        expect((await store.verifyChain()).ok).toBe(true);
      });
    });

    describe('tampering', () => {
      /** Three deployments interleaved, so the chain crosses deployments: ids 1..7 in this order. */
      async function history(): Promise<AnyStoredEvent[]> {
        const a = await deploy({ environment: 'a' });
        const b = await deploy({ environment: 'b' });
        await store.append(a.id, 1, [phaseStarted('a1')]);
        await store.append(b.id, 1, [phaseStarted('b1')]);
        await store.append(a.id, 2, [phaseStarted('a2'), succeeded()]);
        await store.append(b.id, 2, [failed()]);
        const all = [...(await store.readEvents(a.id)), ...(await store.readEvents(b.id))];
        return all.sort((x, y) => x.id - y.id);
      }

      it('names an event whose payload was edited', async ({ skip }) => {
        if (!opened.tamper) return skip();
        const events = await history();
        const victim = events[3]!; // b's phase.started
        await opened.tamper.updatePayload(victim.id, JSON.stringify({ phase: 'something else' }));

        const chain = await store.verifyChain();
        expect(chain.ok).toBe(false);
        expect(chain.firstBad).toEqual({
          id: victim.id,
          deploymentId: victim.deploymentId,
          seq: victim.seq,
          problem: 'payload edited',
        });
        expect(chain.eventsChecked).toBe(events.length);
      });

      it('names the event after one that was deleted', async ({ skip }) => {
        if (!opened.tamper) return skip();
        const events = await history();
        await opened.tamper.deleteEvent(events[2]!.id);

        const next = events[3]!;
        const chain = await store.verifyChain();
        expect(chain.ok).toBe(false);
        expect(chain.firstBad).toEqual({
          id: next.id,
          deploymentId: next.deploymentId,
          seq: next.seq,
          problem: 'previous hash does not match — an event before it was removed or changed',
        });
      });

      it('detects events put in another order', async ({ skip }) => {
        if (!opened.tamper) return skip();
        const events = await history();
        const [first, second] = [events[3]!, events[4]!];
        await opened.tamper.swapEvents(first.id, second.id);

        const chain = await store.verifyChain();
        expect(chain.ok).toBe(false);
        // The event now at the first position is the second one, pointing at a hash that is not before it.
        expect(chain.firstBad).toEqual({
          id: first.id,
          deploymentId: second.deploymentId,
          seq: second.seq,
          problem: 'previous hash does not match — an event before it was removed or changed',
        });
      });

      it('does not see a cut-off tail by itself: that is what publishing headHash is for', async ({
        skip,
      }) => {
        if (!opened.tamper) return skip();
        const events = await history();
        const published = (await store.verifyChain()).headHash;
        expect(published).toBe(events.at(-1)!.hash);

        await opened.tamper.deleteEvent(events.at(-1)!.id);
        const chain = await store.verifyChain();
        expect(chain.ok).toBe(true);
        expect(chain.headHash).not.toBe(published);
      });
    });

    describe('leases', () => {
      it('is taken when free, refused to another owner, and re-entrant for its owner', async () => {
        const d = await deploy({});
        expect(await store.acquireLease(d.id, 'runner-a', 60_000)).toEqual({ acquired: true });
        expect(await store.acquireLease(d.id, 'runner-a', 60_000)).toEqual({ acquired: true });

        const refused = await store.acquireLease(d.id, 'runner-b', 60_000);
        expect(refused).toMatchObject({ acquired: false, holder: 'runner-a' });
        if (refused.acquired) throw new Error('unreachable');
        expect(Date.parse(refused.expiresAt)).toBeGreaterThan(Date.now() + 50_000);
      });

      it('is taken over once expired', async () => {
        const d = await deploy({});
        await store.acquireLease(d.id, 'runner-a', 40);
        expect((await store.acquireLease(d.id, 'runner-b', 60_000)).acquired).toBe(false);
        await sleep(80);
        expect(await store.acquireLease(d.id, 'runner-b', 60_000)).toEqual({ acquired: true });
        // The old owner has lost it: it can neither renew nor release it.
        expect(await store.renewLease(d.id, 'runner-a', 60_000)).toBe(false);
        await store.releaseLease(d.id, 'runner-a');
        expect(await store.acquireLease(d.id, 'runner-a', 60_000)).toMatchObject({
          acquired: false,
          holder: 'runner-b',
        });
      });

      it('is renewed only by its owner, which keeps it from expiring', async () => {
        const d = await deploy({});
        await store.acquireLease(d.id, 'runner-a', 60);
        expect(await store.renewLease(d.id, 'runner-b', 60_000)).toBe(false);
        expect(await store.renewLease(d.id, 'runner-a', 60_000)).toBe(true);
        await sleep(100);
        expect(await store.acquireLease(d.id, 'runner-b', 60_000)).toMatchObject({
          acquired: false,
          holder: 'runner-a',
        });
      });

      it('is released only by its owner', async () => {
        const d = await deploy({});
        await store.acquireLease(d.id, 'runner-a', 60_000);
        await store.releaseLease(d.id, 'runner-b');
        expect((await store.acquireLease(d.id, 'runner-b', 60_000)).acquired).toBe(false);
        await store.releaseLease(d.id, 'runner-a');
        expect(await store.acquireLease(d.id, 'runner-b', 60_000)).toEqual({ acquired: true });
        expect(await store.renewLease(d.id, 'runner-a', 60_000)).toBe(false);
      });

      it('is per deployment, and refused for an unknown deployment', async () => {
        const a = await deploy({ environment: 'a' });
        const b = await deploy({ environment: 'b' });
        await store.acquireLease(a.id, 'runner-a', 60_000);
        expect(await store.acquireLease(b.id, 'runner-b', 60_000)).toEqual({ acquired: true });
        expect((await errorOf(store.acquireLease(999, 'runner-a', 60_000))).code).toBe(
          'SLW_DEPLOYMENT_NOT_FOUND',
        );
      });
    });

    describe('releases', () => {
      it('keeps the first checksum recorded for a release', async () => {
        const first = await store.recordRelease({
          app: 'shop',
          release: '1.0.0',
          sha256: 'a'.repeat(64),
          sizeBytes: 100,
        });
        expect(first).toMatchObject({
          app: 'shop',
          release: '1.0.0',
          sha256: 'a'.repeat(64),
          sizeBytes: 100,
        });
        expect(new Date(first.createdAt).toISOString()).toBe(first.createdAt);

        const again = await store.recordRelease({
          app: 'shop',
          release: '1.0.0',
          sha256: 'f'.repeat(64),
          sizeBytes: 999,
        });
        expect(again).toEqual(first);
        expect(await store.getRelease('shop', '1.0.0')).toEqual(first);
      });

      it('keys releases by app and name', async () => {
        await store.recordRelease({ app: 'shop', release: '1.0.0', sha256: 'a'.repeat(64), sizeBytes: 1 });
        const blog = await store.recordRelease({
          app: 'blog',
          release: '1.0.0',
          sha256: 'b'.repeat(64),
          sizeBytes: 2,
        });
        expect(blog.sha256).toBe('b'.repeat(64));
        expect(await store.getRelease('shop', '2.0.0')).toBeUndefined();
        expect(await store.getRelease('other', '1.0.0')).toBeUndefined();
      });
    });

    describe('listDeployments', () => {
      it('lists newest first, 50 by default', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 55; i++) ids.push((await deploy({ environment: `env-${i}` })).id);
        const listed = await store.listDeployments();
        expect(listed).toHaveLength(50);
        expect(listed.map((d) => d.id)).toEqual(ids.reverse().slice(0, 50));
        expect(listed[0]).toEqual(await store.getDeployment(ids[0]!));
      });

      it('filters by app, environment and states, and limits', async () => {
        const s1 = await deploy({ app: 'shop', environment: 'staging' }, succeeded());
        const p1 = await deploy({ app: 'shop', environment: 'production' }, failed());
        const s2 = await deploy({ app: 'shop', environment: 'staging' });
        const b1 = await deploy({ app: 'blog', environment: 'staging' }, succeeded());
        const p2 = await deploy(
          { app: 'shop', environment: 'production' },
          event('gate.waiting', { phase: 'p', step: 's', gate: 'approval', roles: ['qa'] }),
        );
        const ids = (list: readonly DeploymentRecord[]) => list.map((d) => d.id);

        expect(ids(await store.listDeployments())).toEqual([p2.id, b1.id, s2.id, p1.id, s1.id]);
        expect(ids(await store.listDeployments({ app: 'shop' }))).toEqual([p2.id, s2.id, p1.id, s1.id]);
        expect(ids(await store.listDeployments({ environment: 'staging' }))).toEqual([b1.id, s2.id, s1.id]);
        expect(ids(await store.listDeployments({ app: 'shop', environment: 'staging' }))).toEqual([
          s2.id,
          s1.id,
        ]);
        expect(ids(await store.listDeployments({ states: ['running', 'waiting', 'rolling-back'] }))).toEqual([
          p2.id,
          s2.id,
        ]);
        expect(ids(await store.listDeployments({ app: 'shop', states: ['succeeded', 'failed'] }))).toEqual([
          p1.id,
          s1.id,
        ]);
        expect(ids(await store.listDeployments({ states: [] }))).toEqual([]);
        expect(ids(await store.listDeployments({ limit: 2 }))).toEqual([p2.id, b1.id]);
        expect(ids(await store.listDeployments({ app: 'nope' }))).toEqual([]);
      });
    });
  });
}
