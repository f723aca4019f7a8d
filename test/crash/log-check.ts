/** An independent reading of a deployment's event log after crashes: lists every way it is not consistent. */

import type { LoggedEvent } from './store-watch.js';

export interface PlannedStep {
  readonly phase: string;
  readonly id: string;
  readonly idempotent: boolean;
}

const TERMINAL = new Set(['deployment.succeeded', 'deployment.failed', 'deployment.rolled-back']);

interface Attempt {
  readonly phase: string;
  readonly step: string;
  readonly attempt: number;
}

const same = (a: Attempt | null, p: { phase?: string; step?: string; attempt?: number }): boolean =>
  a !== null && a.phase === p.phase && a.step === p.step && a.attempt === p.attempt;

/**
 * Checks: seq 1..n without gaps; deployment.created first and one terminal event last; phases open and close in
 * plan order; every step.started is closed by exactly one succeeded/failed/interrupted of that attempt before any
 * other step starts (an interrupted non-idempotent attempt is then closed as failed); attempts count up by one;
 * a non-idempotent step starts again only after a clean failure that promised a retry, never after an
 * interruption; nothing but rollback actions after rollback.started; the rollback ends as it should.
 */
export function logProblems(events: readonly LoggedEvent[], plan: readonly PlannedStep[]): string[] {
  const problems: string[] = [];
  const at = (e: LoggedEvent, what: string) => problems.push(`#${e.seq} ${e.type}: ${what}`);
  if (events.length === 0) return ['the log is empty'];
  events.forEach((e, i) => {
    if (e.seq !== i + 1) problems.push(`event ${i + 1} has seq ${e.seq} (gap or reorder)`);
  });
  if (events[0]?.type !== 'deployment.created')
    problems.push('the log does not start with deployment.created');
  const terminals = events.filter((e) => TERMINAL.has(e.type));
  if (terminals.length !== 1) problems.push(`${terminals.length} terminal events (expected exactly 1)`);
  if (!TERMINAL.has(events.at(-1)?.type ?? ''))
    problems.push(`the last event is ${events.at(-1)?.type}, not terminal`);

  const stepOf = (phase: string, id: string) => plan.find((s) => s.phase === phase && s.id === id);
  const phases = [...new Set(plan.map((s) => s.phase))];
  const lastAttempt = new Map<string, { attempt: number; ended: string; willRetry: boolean }>();
  const succeeded = new Set<string>();
  let phaseOpen: string | null = null;
  let phasesDone = 0;
  let open: Attempt | null = null;
  /** An interrupted attempt that is not re-run: the next step event must fail it. */
  let mustFail: Attempt | null = null;
  let rollingBack = false;
  let rollbackEnd: string | null = null;

  for (const e of events.slice(1)) {
    const p = e.payload ?? {};
    const key = `${p.phase}.${p.step}`;
    if (mustFail && e.type !== 'deployment.runner' && !(e.type === 'step.failed' && same(mustFail, p))) {
      at(
        e,
        `follows the interruption of non-idempotent ${mustFail.phase}.${mustFail.step} #${mustFail.attempt}, which was never failed`,
      );
      mustFail = null;
    }
    if (rollbackEnd !== null && e.type !== rollbackEnd)
      at(e, `expected ${rollbackEnd} right after the rollback ended`);
    rollbackEnd = null;
    if (
      rollingBack &&
      !['rollback.step', 'rollback.succeeded', 'rollback.failed', 'deployment.runner'].includes(e.type)
    ) {
      if (
        !((e.type === 'step.output' || e.type === 'step.process') && p.phase === 'rollback') &&
        !TERMINAL.has(e.type)
      )
        at(e, 'a non-rollback event during the rollback');
    }
    switch (e.type) {
      case 'deployment.runner':
        break;
      case 'phase.started':
        if (phaseOpen !== null) at(e, `phase ${p.phase} starts while ${phaseOpen} is open`);
        if (p.phase !== phases[phasesDone]) at(e, `phase ${p.phase} out of plan order`);
        phaseOpen = p.phase;
        break;
      case 'phase.succeeded':
        if (phaseOpen !== p.phase) at(e, `phase ${p.phase} was not open`);
        if (open) at(e, `${open.step} #${open.attempt} is still open`);
        if (plan.some((s) => s.phase === p.phase && !succeeded.has(`${s.phase}.${s.id}`)))
          at(e, 'not every step of the phase succeeded');
        phaseOpen = null;
        phasesDone++;
        break;
      case 'step.started': {
        const step = stepOf(p.phase, p.step);
        if (!step) at(e, `unknown step ${key}`);
        if (rollingBack) at(e, 'a step starts during the rollback');
        if (phaseOpen !== p.phase) at(e, `its phase ${p.phase} is not open`);
        if (open) at(e, `${open.phase}.${open.step} #${open.attempt} was never closed`);
        const before = lastAttempt.get(key);
        if (p.attempt !== (before?.attempt ?? 0) + 1)
          at(e, `attempt ${p.attempt} after attempt ${before?.attempt ?? 0}`);
        if (step && !step.idempotent && before && !(before.ended === 'step.failed' && before.willRetry)) {
          at(
            e,
            `non-idempotent ${key} starts again after its attempt ${before.attempt} ended by ${before.ended}: it may run twice`,
          );
        }
        if (succeeded.has(key)) at(e, `${key} already succeeded`);
        open = { phase: p.phase, step: p.step, attempt: p.attempt };
        break;
      }
      case 'step.output':
      case 'step.process':
        if (p.phase === 'rollback' ? !rollingBack : open?.phase !== p.phase || open?.step !== p.step) {
          at(e, `output of ${key} while ${open ? `${open.step} is running` : 'no step is running'}`);
        }
        break;
      case 'step.succeeded':
      case 'step.failed':
      case 'step.interrupted': {
        if (e.type === 'step.failed' && same(mustFail, p)) {
          lastAttempt.set(key, { attempt: p.attempt, ended: 'step.interrupted', willRetry: false });
          mustFail = null;
          break;
        }
        if (!same(open, p)) {
          at(
            e,
            `closes ${key} #${p.attempt}, but the open attempt is ${open ? `${open.step} #${open.attempt}` : 'none'}`,
          );
        }
        open = null;
        const step = stepOf(p.phase, p.step);
        if (e.type === 'step.interrupted') {
          if (step && p.rerun !== step.idempotent)
            at(e, `rerun=${p.rerun} for a step with idempotent=${step.idempotent}`);
          if (!p.rerun) mustFail = { phase: p.phase, step: p.step, attempt: p.attempt };
        }
        if (e.type === 'step.succeeded') succeeded.add(key);
        lastAttempt.set(key, { attempt: p.attempt, ended: e.type, willRetry: p.willRetry === true });
        break;
      }
      case 'rollback.started':
        if (open) at(e, `${open.step} #${open.attempt} is still open`);
        rollingBack = true;
        break;
      case 'rollback.step':
        if (!rollingBack) at(e, 'outside a rollback');
        break;
      case 'rollback.succeeded':
        rollbackEnd = 'deployment.rolled-back';
        break;
      case 'rollback.failed':
        rollbackEnd = 'deployment.failed';
        break;
      case 'deployment.succeeded':
        if (open || phaseOpen !== null || phasesDone !== phases.length) at(e, 'before every phase finished');
        break;
      case 'deployment.rolled-back':
        if (!rollingBack) at(e, 'without a rollback');
        break;
      case 'deployment.failed':
        if (open) at(e, `${open.step} #${open.attempt} is still open`);
        break;
      default:
        at(e, 'unexpected event type in this process');
    }
  }
  if (mustFail) problems.push(`the interruption of ${mustFail.step} #${mustFail.attempt} was never failed`);
  return problems;
}

/** The last events, one line each, for failure messages and the report. */
export function tail(events: readonly LoggedEvent[], n = 8): string {
  return events
    .slice(-n)
    .map((e) => {
      const p = e.payload ?? {};
      const what = [
        p.phase,
        p.step ?? p.action,
        p.attempt !== undefined ? `#${p.attempt}` : undefined,
        p.rerun !== undefined ? `rerun=${p.rerun}` : undefined,
      ]
        .filter((x) => x !== undefined)
        .join(' ');
      return `  ${e.seq} ${e.type}${what ? ` ${what}` : ''}`;
    })
    .join('\n');
}
