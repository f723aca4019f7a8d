/** Live progress of a running deployment: a line per phase and step; on a terminal, a ticking line for the running step. */

import type { DeploymentView } from '../core/deployment-view.js';
import { formatDuration } from '../core/duration.js';
import type { AnyStoredEvent } from '../core/events.js';
import type { EngineHooks } from '../engine/run-context.js';
import { fleetEventLine, HostBoard, isFleetEvent } from './fleet-progress.js';
import type { Output } from './output.js';
import { localTime, nextGateHint } from './render.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface ProgressOptions {
  /** Print every command's output as it comes (else only failures show their tail). */
  readonly verbose?: boolean;
  /** Prefix for every line, e.g. "[demo] ". */
  readonly prefix?: string;
}

export function progressHooks(out: Output, options: ProgressOptions = {}): EngineHooks & { stop(): void } {
  const { c, stream } = out;
  const live = stream.isTTY === true;
  const prefix = options.prefix ?? '';
  let ticking: { label: string; since: number; timer: NodeJS.Timeout; frame: number } | undefined;

  // Fleets: on a terminal, one line per host stays at the bottom, redrawn in place (src/cli/fleet-progress.ts).
  const board = new HostBoard((t) => stream.write(t), prefix);
  const write = (text: string) => {
    clearTick();
    if (live) board.clear();
    stream.write(`${prefix}${text}\n`);
    if (live) board.draw();
    if (ticking) drawTick();
  };
  const clearTick = () => {
    if (live && ticking) stream.write('\r\x1b[2K');
  };
  const drawTick = () => {
    if (!live || !ticking) return;
    const t = ticking;
    t.frame = (t.frame + 1) % SPINNER.length;
    stream.write(
      `${prefix}    ${c.blue(SPINNER[t.frame] ?? '')} ${t.label} ${c.dim(formatDuration(Date.now() - t.since))}`,
    );
  };
  const startTick = (label: string) => {
    stopTick();
    if (!live) return;
    ticking = {
      label,
      since: Date.now(),
      frame: 0,
      timer: setInterval(() => {
        clearTick();
        drawTick();
      }, 100),
    };
    ticking.timer.unref();
    drawTick();
  };
  const stopTick = () => {
    if (!ticking) return;
    clearTick();
    clearInterval(ticking.timer);
    ticking = undefined;
  };

  const onEvent = (e: AnyStoredEvent, view: DeploymentView) => {
    if (isFleetEvent(e)) {
      board.update(e, view, c);
      const line = fleetEventLine(e, view, c);
      // On a terminal the board shows host steps; batches and traffic changes scroll above it.
      if (!live || (line && !e.type.startsWith('host.step.'))) {
        if (line) write(line);
        return;
      }
      clearTick();
      board.clear();
      board.draw();
      if (ticking) drawTick();
      return;
    }
    if ((e.type === 'step.succeeded' || e.type === 'step.failed') && live) {
      clearTick();
      board.clear();
      for (const l of board.finish()) stream.write(`${prefix}    ${l}\n`);
    }
    switch (e.type) {
      case 'deployment.runner':
        if (e.payload.resumed) write(c.yellow(`resuming deployment ${view.id} where its log ends`));
        break;
      case 'phase.started': {
        const phase = view.phases.find((p) => p.id === e.payload.phase);
        write(c.bold(`▸ ${phase?.name ?? e.payload.phase}`));
        break;
      }
      case 'step.started':
        startTick(`${e.payload.step}${e.payload.attempt > 1 ? ` (attempt ${e.payload.attempt})` : ''}`);
        break;
      case 'step.succeeded':
        stopTick();
        write(
          `    ${c.green('✓')} ${e.payload.step.padEnd(22)} ${e.payload.summary} ${c.dim(formatDuration(e.payload.durationMs))}`,
        );
        break;
      case 'step.failed':
        stopTick();
        write(`    ${c.red('✗')} ${e.payload.step.padEnd(22)} ${c.red(indent(e.payload.error))}`);
        if (e.payload.willRetry)
          write(c.dim(`      retrying in ${formatDuration(e.payload.retryInMs ?? 0)}`));
        break;
      case 'step.interrupted':
        write(
          c.yellow(
            `    ! ${e.payload.step} was cut short by a stop of Slipway; ${e.payload.rerun ? 'it is idempotent: running it again' : 'not idempotent: not run again'}`,
          ),
        );
        break;
      case 'gate.waiting': {
        // An automatic checklist item is ticked in the same breath: its "checked by slipway" line says it all.
        if (e.payload.roles.length === 0) break;
        const gate = view.phases
          .flatMap((p) => p.steps)
          .find((s) => s.id === e.payload.step && s.phase === e.payload.phase);
        write(
          `    ${c.cyan('⏸')} ${e.payload.step.padEnd(22)} ${e.payload.item ?? `approval by ${e.payload.roles.join(' + ')}`}`,
        );
        if (gate) write(`      ${nextGateHint(view.id, gate, c, view.plan.people)}`);
        break;
      }
      case 'gate.approved':
      case 'gate.checked':
        write(
          `    ${c.green('✓')} ${e.payload.step.padEnd(22)} ${e.type === 'gate.approved' ? 'approved' : 'checked'} by ${e.payload.actor.user} (${e.payload.role})${e.payload.comment ? `: ${e.payload.comment}` : ''}`,
        );
        break;
      case 'gate.rejected':
        write(
          `    ${c.red('✗')} ${e.payload.step.padEnd(22)} rejected by ${e.payload.actor.user} (${e.payload.role}): ${e.payload.comment}`,
        );
        break;
      case 'window.waiting':
        stopTick();
        write(
          c.cyan(
            `    ⏸ waiting for the maintenance window (${e.payload.reason}): opens ${e.payload.opensAtText ?? `${e.payload.opensAt} (${localTime(e.payload.opensAt)} your time)`}`,
          ),
        );
        break;
      case 'window.opened':
        write(c.cyan('    ▶ maintenance window open: continuing'));
        break;
      case 'gate.expired':
        write(
          `    ${c.red('✗')} ${e.payload.step.padEnd(22)} ${c.red(`expired: not cleared since ${e.payload.openedAt}`)}`,
        );
        break;
      case 'rollback.started':
        write(
          c.yellow(c.bold(`↩ rolling back to ${e.payload.toRelease ?? '(nothing)'}: ${e.payload.reason}`)),
        );
        break;
      case 'rollback.step':
        stopTick();
        write(
          `    ${e.payload.ok ? c.green('✓') : c.red('✗')} ${e.payload.action.padEnd(22)} ${indent(e.payload.detail)}`,
        );
        break;
      case 'deployment.succeeded':
        write(
          c.green(
            c.bold(
              `✔ deployment ${view.id}: ${view.release} is live in ${view.environment} (${formatDuration(e.payload.durationMs)})`,
            ),
          ),
        );
        break;
      case 'deployment.rolled-back':
        write(
          c.yellow(
            c.bold(
              `↩ deployment ${view.id} rolled back: ${e.payload.release} is live in ${view.environment} again`,
            ),
          ),
        );
        break;
      case 'deployment.failed':
        write(c.red(c.bold(`✗ deployment ${view.id} failed: ${e.payload.reason}`)));
        break;
      default:
        break;
    }
  };

  return {
    onEvent,
    ...(options.verbose
      ? {
          onOutput: (_id: number, _phase: string, _step: string, chunk: string) => {
            for (const l of chunk.replace(/\n$/, '').split('\n')) write(c.dim(`      │ ${l}`));
          },
        }
      : {}),
    stop: stopTick,
  };
}

function indent(text: string): string {
  return text.replace(/\n/g, '\n      ');
}
