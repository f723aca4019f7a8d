/** Runs a `run` spec (step, smoke check or service command) on the controller or the target. */

import path from 'node:path';
import { formatDuration } from '../core/duration.js';
import { SlipwayError } from '../core/errors.js';
import type { ExecResult } from '../core/ports.js';
import type { CommandSpec, RunCheckSpec } from '../core/process.js';
import { renderRecord, renderTemplate, type TemplateScope } from '../core/template.js';
import { commandDisplay, execLocal } from '../targets/local-exec.js';
import type { StepRuntime } from './step-executor.js';

/** Renders templates inside argv elements only; shell strings get values through the environment. */
export function renderCommand(command: CommandSpec, rt: StepRuntime, where: string): CommandSpec {
  if ('shell' in command) return command;
  const scope = publicScope(rt);
  return { argv: command.argv.map((a, i) => renderTemplate(a, scope, `${where}[${i}]`)) };
}

/** The template scope without secrets, for argv, URLs and paths: they show in process listings and logs. */
export function publicScope(rt: StepRuntime): TemplateScope {
  const { secrets: _hidden, ...scope } = rt.scope;
  return scope;
}

export interface CommandRun {
  readonly result: ExecResult;
  readonly display: string;
}

/** Runs and returns the result; throws SLW_STEP_FAILED / SLW_STEP_TIMEOUT on non-zero exit or timeout. */
export async function runCommandSpec(
  rt: StepRuntime,
  spec: RunCheckSpec,
  where: string,
): Promise<CommandRun> {
  const command = renderCommand(spec.command, rt, where);
  const env = { ...rt.commandEnv, ...renderRecord(spec.env, rt.scope, `${where}.env`) };
  const cwd = resolveCwd(rt, spec, where);
  const display = rt.redact(commandDisplay(command));
  const exec = spec.on === 'target' ? rt.target.exec.bind(rt.target) : execLocal;
  const result = await exec(command, {
    env,
    cwd,
    timeoutMs: rt.timeoutMs,
    signal: rt.signal,
    onOutput: rt.output,
    ...(rt.onSpawn ? { onSpawn: (pid: number) => rt.onSpawn?.(pid, spec.on === 'target') } : {}),
  });
  checkExit(result, display);
  return { result, display };
}

export function checkExit(result: ExecResult, display: string): void {
  const tail = lastLines(result.output, 5);
  if (result.timedOut) {
    throw new SlipwayError(
      'SLW_STEP_TIMEOUT',
      `"${display}" did not finish within ${formatDuration(result.durationMs)}`,
      {
        hint: 'raise the step\'s "timeout" or make the command faster',
        details: { tail },
      },
    );
  }
  if (result.exitCode !== 0) {
    const how =
      result.exitCode === null ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
    throw new SlipwayError('SLW_STEP_FAILED', `"${display}" ${how}${tail ? `:\n${tail}` : ''}`, {
      details: { tail },
    });
  }
}

function resolveCwd(rt: StepRuntime, spec: RunCheckSpec, where: string): string {
  if (spec.on === 'target') {
    if (spec.cwd !== undefined) return renderTemplate(spec.cwd, publicScope(rt), `${where}.cwd`);
    // A target command runs inside the release being deployed once it is installed, else in `current`.
    return rt.facts.releaseDir ? rt.scope.target.release : rt.scope.target.current;
  }
  if (spec.cwd === undefined) return rt.process.baseDir;
  return path.resolve(rt.process.baseDir, renderTemplate(spec.cwd, publicScope(rt), `${where}.cwd`));
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
