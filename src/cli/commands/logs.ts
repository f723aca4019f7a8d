/** `slipway logs <id> [--follow]`: the deployment's log, from its events; --follow waits for more until it ends or waits. */

import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../../core/errors.js';
import type { AnyStoredEvent } from '../../core/events.js';
import { isTerminal } from '../../core/state.js';
import { type GlobalOptions, outputFor, parseId, withStore } from '../context.js';
import type { Output } from '../output.js';

const POLL_MS = 300;

export async function logsCommand(id: string, opts: GlobalOptions & { follow?: boolean }): Promise<number> {
  const out = outputFor(opts);
  const deploymentId = parseId(id);
  return withStore(opts, async (store) => {
    const deployment = await store.getDeployment(deploymentId);
    if (!deployment)
      throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${deploymentId} in this store`);
    let after = 0;
    for (;;) {
      const events = await store.readEvents(deploymentId, after);
      for (const e of events) printEvent(out, e);
      after = events.at(-1)?.seq ?? after;
      if (!opts.follow) return 0;
      const now = await store.getDeployment(deploymentId);
      if (!now || isTerminal(now.state) || now.state === 'waiting') {
        if (events.length === 0) return 0;
        continue;
      }
      await sleep(POLL_MS);
    }
  });
}

function printEvent(out: Output, e: AnyStoredEvent): void {
  if (out.json) {
    const { prevHash: _p, ...rest } = e;
    // One JSON object per line (NDJSON) so `--follow --json` can be piped.
    process.stdout.write(
      `${JSON.stringify(e.type === 'deployment.created' ? { ...rest, payload: { ...e.payload, processSource: undefined } } : rest)}\n`,
    );
    return;
  }
  const time = out.c.dim(e.at.slice(11, 23));
  const text = describe(e);
  if (text === undefined) return;
  for (const line of text.replace(/\n$/, '').split('\n')) out.line(`${time} ${line}`);
}

function describe(e: AnyStoredEvent): string | undefined {
  switch (e.type) {
    case 'deployment.created':
      return `created by ${e.payload.actor.user}: ${e.payload.app} ${e.payload.release} → ${e.payload.environment} (sha256 ${e.payload.artifactSha256.slice(0, 12)}…)`;
    case 'deployment.runner':
      // A new runner after every gate is routine; only a take-over after a crash is news.
      return e.payload.resumed ? `runner ${e.payload.runner} resumed after an interruption` : undefined;
    case 'phase.started':
      return `── phase ${e.payload.phase}`;
    case 'phase.succeeded':
      return `── phase ${e.payload.phase} done`;
    case 'step.started':
      return `${e.payload.phase}.${e.payload.step} started (attempt ${e.payload.attempt})`;
    case 'step.output':
      return e.payload.text
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => `${e.payload.phase}.${e.payload.step} │ ${l}`)
        .join('\n');
    case 'step.succeeded':
      return `${e.payload.phase}.${e.payload.step} succeeded: ${e.payload.summary} (${e.payload.durationMs}ms)`;
    case 'step.failed':
      return `${e.payload.phase}.${e.payload.step} FAILED [${e.payload.code}]: ${e.payload.error}${e.payload.willRetry ? ` — retry in ${e.payload.retryInMs}ms` : ''}`;
    case 'step.interrupted':
      return `${e.payload.phase}.${e.payload.step} interrupted (attempt ${e.payload.attempt}); ${e.payload.rerun ? 'will run again' : 'not run again'}`;
    case 'gate.waiting':
      return `${e.payload.phase}.${e.payload.step} waiting for ${e.payload.roles.join(' + ')}${e.payload.item ? `: ${e.payload.item}` : ''}`;
    case 'gate.approved':
    case 'gate.checked':
    case 'gate.rejected':
      return `${e.payload.phase}.${e.payload.step} ${e.type.slice(5)} by ${e.payload.actor.user} (${e.payload.role})${e.payload.comment ? `: ${e.payload.comment}` : ''}`;
    case 'rollback.started':
      return `ROLLBACK to ${e.payload.toRelease ?? '(none)'} [${e.payload.trigger}]: ${e.payload.reason}`;
    case 'rollback.step':
      return `rollback ${e.payload.action}: ${e.payload.ok ? 'ok' : 'FAILED'} — ${e.payload.detail}`;
    case 'rollback.succeeded':
      return `rollback done: ${e.payload.release} live (${e.payload.durationMs}ms)`;
    case 'rollback.failed':
      return `rollback FAILED: ${e.payload.error}`;
    case 'deployment.succeeded':
      return `deployment succeeded (${e.payload.durationMs}ms)`;
    case 'deployment.failed':
      return `deployment FAILED [${e.payload.code}]: ${e.payload.reason}`;
    case 'deployment.rolled-back':
      return `deployment rolled back to ${e.payload.release}: ${e.payload.reason}`;
  }
}
