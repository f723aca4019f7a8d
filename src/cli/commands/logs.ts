/** `slipway logs <id> [--follow]`: the deployment's log, from its events; --follow waits for more until it ends or waits. */

import { setTimeout as sleep } from 'node:timers/promises';
import { suggestionHint } from '../../config/did-you-mean.js';
import { formatNumber } from '../../core/analysis.js';
import { viewDeployment } from '../../core/deployment-view.js';
import { SlipwayError } from '../../core/errors.js';
import type { AnyStoredEvent } from '../../core/events.js';
import type { Store } from '../../core/ports.js';
import { isTerminal } from '../../core/state.js';
import { type GlobalOptions, outputFor, parseId, withStore } from '../context.js';
import type { Output } from '../output.js';

const POLL_MS = 300;

export async function logsCommand(
  id: string,
  opts: GlobalOptions & { follow?: boolean; host?: string },
): Promise<number> {
  const out = outputFor(opts);
  const deploymentId = parseId(id);
  return withStore(opts, async (store) => {
    const deployment = await store.getDeployment(deploymentId);
    if (!deployment)
      throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${deploymentId} in this store`);
    if (opts.host !== undefined) await checkHost(store, deploymentId, opts.host);
    let after = 0;
    for (;;) {
      const events = await store.readEvents(deploymentId, after);
      for (const e of events) {
        if (opts.host === undefined) printEvent(out, e);
        else if (onHost(e, opts.host)) printEvent(out, hostLines(e, opts.host));
      }
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

/** `--host` must name a host of the deployment: a typo would otherwise print an empty log. */
async function checkHost(store: Store, id: number, host: string): Promise<void> {
  const hosts = viewDeployment(await store.readEvents(id)).fleet?.hosts.map((h) => h.name) ?? [];
  if (hosts.includes(host)) return;
  throw new SlipwayError(
    'SLW_USAGE',
    hosts.length === 0
      ? `--host ${host}: deployment ${id} ran on no hosts (its environment has a single target)`
      : `--host ${host}: deployment ${id} has no host "${host}"`,
    {
      hint: hosts.length
        ? (suggestionHint(host, hosts, 'its hosts') ?? `its hosts: ${hosts.join(', ')}`)
        : 'leave out --host',
    },
  );
}

/** `--host`: the host's own events, and output lines a fleet step printed for it (prefixed `[host]`). */
function onHost(e: AnyStoredEvent, host: string): boolean {
  if ('host' in e.payload && e.type !== 'step.process') return e.payload.host === host;
  if (e.type === 'step.output') return e.payload.text.includes(`[${host}] `);
  if (e.type === 'rollout.started' || e.type === 'rollout.batch') return e.payload.hosts.includes(host);
  if (e.type === 'traffic.shifted')
    return Object.keys(e.payload.weights).some((id) => id === host || id.startsWith(`${host}-`));
  return false;
}

/** A batch of output holds the lines of several hosts: keep this host's. */
function hostLines(e: AnyStoredEvent, host: string): AnyStoredEvent {
  if (e.type !== 'step.output') return e;
  const text = e.payload.text
    .split(/(?<=\n)/)
    .filter((l) => l.startsWith(`[${host}] `))
    .join('');
  return { ...e, payload: { ...e.payload, text } };
}

function printEvent(out: Output, e: AnyStoredEvent): void {
  if (out.json) {
    const { prevHash: _p, ...rest } = e;
    // One JSON object per line (NDJSON) so `--follow --json` can be piped.
    process.stdout.write(
      `${JSON.stringify(e.type === 'deployment.created' ? { ...rest, payload: { ...e.payload, processSource: undefined, processIncludes: undefined } } : rest)}\n`,
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
    case 'analysis.baseline':
      return `${e.payload.phase}.${e.payload.step} baseline of ${e.payload.release ?? 'nothing live'}: ${e.payload.monitors
        .map((b) =>
          b.usable
            ? `${b.monitor} ${formatNumber(b.median ?? 0)} (${b.valued} samples)`
            : `${b.monitor} unusable`,
        )
        .join(' · ')}`;
    case 'analysis.interval':
      return `${e.payload.phase}.${e.payload.step} interval ${e.payload.index}/${e.payload.of}: ${e.payload.monitors
        .map(
          (m) => `${m.monitor} ${m.detail} ${m.verdict === 'pass' ? '✓' : m.verdict === 'fail' ? '✗' : '?'}`,
        )
        .join(' · ')}${e.payload.trigger ? ` — TRIGGER ${e.payload.trigger.kind}` : ''}`;
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
    case 'rollout.started':
      return `${e.payload.phase}: ${e.payload.strategy} rollout of ${e.payload.steps.join(', ')} on ${e.payload.hosts.join(', ')}`;
    case 'rollout.batch':
      return `${e.payload.phase}: batch ${e.payload.index + 1}: ${e.payload.hosts.join(', ')}`;
    case 'host.step.started':
      return `[${e.payload.host}] ${e.payload.phase}.${e.payload.step} started (attempt ${e.payload.attempt})`;
    case 'host.step.succeeded':
      return `[${e.payload.host}] ${e.payload.phase}.${e.payload.step} succeeded: ${e.payload.summary} (${e.payload.durationMs}ms)`;
    case 'host.step.failed':
      return `[${e.payload.host}] ${e.payload.phase}.${e.payload.step} FAILED [${e.payload.code}]: ${e.payload.error}${e.payload.willRetry ? ` — retry in ${e.payload.retryInMs}ms` : ''}`;
    case 'traffic.shifted':
      return `traffic: ${e.payload.reason} ${JSON.stringify(e.payload.weights)}${e.payload.drained ? ` drained ${JSON.stringify(e.payload.drained)}` : ''}`;
    case 'host.restored':
      return `[${e.payload.host}] rollback ${e.payload.ok ? 'restored' : 'FAILED'} ${e.payload.release ?? ''}: ${e.payload.detail}`;
  }
}
