/** Live per-host progress of a fleet rollout: a board of one line per host (terminal), or a line per host event (pipe). */

import type { DeploymentView } from '../core/deployment-view.js';
import { formatDuration } from '../core/duration.js';
import type { AnyStoredEvent } from '../core/events.js';
import type { FleetView, HostView } from '../core/fleet-view.js';
import type { Colors } from './output.js';

/** One host as a status line: name, state, step, done/total, and the error when it failed. */
export function hostLine(h: HostView, c: Colors): string {
  const icon =
    h.state === 'succeeded'
      ? c.green('✓')
      : h.state === 'failed' || h.state === 'restore-failed'
        ? c.red('✗')
        : h.state === 'restored'
          ? c.yellow('↩')
          : h.state === 'running'
            ? c.blue('▶')
            : c.dim('·');
  const count = c.dim(`${h.done}/${h.total}`);
  const detail =
    h.state === 'failed' && h.error
      ? c.red(`${h.error.step}: ${firstLine(h.error.message)}`)
      : h.state === 'restored' || h.state === 'restore-failed'
        ? `back to ${h.restored?.release ?? '?'}: ${firstLine(h.restored?.detail ?? '')}`
        : (h.lastStep ?? '');
  return `${icon} ${h.name.padEnd(14)} ${count.padEnd(5)} ${detail}`;
}

/** Lines for the pipe: what one fleet event says, or undefined for events the board only redraws on. */
export function fleetEventLine(e: AnyStoredEvent, view: DeploymentView, c: Colors): string | undefined {
  switch (e.type) {
    case 'rollout.started':
      return c.bold(
        `  ⇶ ${e.payload.strategy} rollout of ${e.payload.steps.join(' → ')} on ${e.payload.hosts.length} host${e.payload.hosts.length === 1 ? '' : 's'}${e.payload.batches.length > 1 ? ` in ${e.payload.batches.length} batches` : ''}`,
      );
    case 'rollout.batch':
      return `  batch ${e.payload.index + 1}/${view.fleet?.batches.length ?? '?'}: ${e.payload.hosts.join(', ')}`;
    case 'host.step.started':
      return `    [${e.payload.host}] ${c.blue('▶')} ${e.payload.step}${e.payload.attempt > 1 ? ` (attempt ${e.payload.attempt})` : ''}`;
    case 'host.step.succeeded':
      return `    [${e.payload.host}] ${c.green('✓')} ${e.payload.step.padEnd(14)} ${e.payload.summary} ${c.dim(formatDuration(e.payload.durationMs))}`;
    case 'host.step.failed':
      return `    [${e.payload.host}] ${c.red('✗')} ${e.payload.step.padEnd(14)} ${c.red(firstLine(e.payload.error))}${e.payload.willRetry ? c.dim(` — retry in ${formatDuration(e.payload.retryInMs ?? 0)}`) : ''}`;
    case 'traffic.shifted': {
      const weights = Object.entries(e.payload.weights)
        .map(([id, w]) => `${id}=${w}`)
        .join(' ');
      const drained = Object.entries(e.payload.drained ?? {})
        .map(([id, n]) => (n === 0 ? `${id} drained` : `${id}: ${n} still active`))
        .join(', ');
      return c.cyan(
        `  ⇄ ${e.payload.reason}${weights ? ` [${weights}]` : ''}${drained ? ` (${drained})` : ''}`,
      );
    }
    case 'host.restored':
      return `    [${e.payload.host}] ${e.payload.ok ? c.yellow('↩') : c.red('✗')} ${e.payload.ok ? 'restored' : 'NOT restored'} ${e.payload.release ?? ''}: ${firstLine(e.payload.detail)}`;
    default:
      return undefined;
  }
}

export function isFleetEvent(e: AnyStoredEvent): boolean {
  return (
    e.type === 'rollout.started' ||
    e.type === 'rollout.batch' ||
    e.type === 'host.step.started' ||
    e.type === 'host.step.succeeded' ||
    e.type === 'host.step.failed' ||
    e.type === 'traffic.shifted' ||
    e.type === 'host.restored'
  );
}

/**
 * The terminal board: the host lines stay at the bottom and are redrawn in place; other output scrolls above.
 * `clear` before writing anything else, `draw` after.
 */
export class HostBoard {
  private drawn = 0;
  private lines: string[] = [];
  private active = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly prefix: string,
  ) {}

  /** Takes the fleet's current state (a rollout starts the board); the caller then clears and draws. */
  update(e: AnyStoredEvent, view: DeploymentView, c: Colors): void {
    if (e.type === 'rollout.started') this.active = true;
    if (this.active) this.lines = (view.fleet?.hosts ?? []).map((h) => hostLine(h, c));
  }

  /** The rollout's step ended: the board's last state, to print once for good; the board is gone after. */
  finish(): string[] {
    const last = this.active ? this.lines : [];
    this.active = false;
    this.lines = [];
    return last;
  }

  clear(): void {
    if (this.drawn > 0) this.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  draw(): void {
    for (const l of this.lines) this.write(`${this.prefix}    ${l}\n`);
    this.drawn = this.lines.length;
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 110 ? `${line.slice(0, 109)}…` : line;
}

/** `status`: one row per host — its release, state, last step and error (or what a rollback did there). */
export function hostTable(fleet: FleetView, c: Colors): string[] {
  const rows = fleet.hosts.map((h) => {
    const release = h.restored?.ok
      ? (h.restored.release ?? '')
      : (h.facts.switchedTo ?? h.facts.releaseDir ?? '');
    const detail = h.error
      ? `${h.error.code}: ${firstLine(h.error.message)}`
      : h.restored
        ? firstLine(h.restored.detail)
        : (h.steps[`${fleet.phase}.${h.lastStep ?? ''}`]?.summary ?? '');
    return { h, release, detail };
  });
  const width = Math.max(4, ...fleet.hosts.map((h) => h.name.length));
  const lines = [
    c.bold(
      `hosts (${fleet.strategy}${fleet.percent !== undefined ? `, ${fleet.percent}% on the new slots` : ''}):`,
    ),
    c.dim(
      `    ${'HOST'.padEnd(width)}  ${'STATE'.padEnd(14)} ${'RELEASE'.padEnd(16)} ${'STEPS'.padEnd(5)} ${'LAST STEP'.padEnd(12)} DETAIL`,
    ),
  ];
  for (const { h, release, detail } of rows) {
    const state = h.state.padEnd(14);
    const coloured =
      h.state === 'succeeded'
        ? c.green(state)
        : h.state === 'failed' || h.state === 'restore-failed'
          ? c.red(state)
          : h.state === 'restored'
            ? c.yellow(state)
            : state;
    lines.push(
      `    ${h.name.padEnd(width)}  ${coloured} ${release.padEnd(16)} ${`${h.done}/${h.total}`.padEnd(5)} ${(h.lastStep ?? '').padEnd(12)} ${h.error ? c.red(detail) : detail}`,
    );
  }
  return lines;
}
