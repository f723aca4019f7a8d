/** The service's own stop/start/reload commands, and switching `current` between them; used by restart and rollback. */

import { SlipwayError } from '../core/errors.js';
import type { CommandSpec } from '../core/process.js';
import { renderRecord } from '../core/template.js';
import { commandDisplay } from '../targets/local-exec.js';
import { checkExit, renderCommand } from './command-runner.js';
import type { StepRuntime } from './step-executor.js';

export type ServiceAction = 'start' | 'stop' | 'reload';

/** Runs one service command on the target; a missing optional command is skipped (returns false). */
export async function runServiceCommand(rt: StepRuntime, action: ServiceAction): Promise<boolean> {
  const service = rt.environment.service;
  const command: CommandSpec | undefined = service[action];
  if (!command) {
    if (action === 'stop') return false;
    throw new SlipwayError(
      'SLW_CONFIG_INVALID',
      `service has no "${action}" command for environment ${rt.environment.name}`,
      {
        hint: `declare service.${action} in the process file`,
      },
    );
  }
  const rendered = renderCommand(command, rt, `service.${action}`);
  const env = { ...rt.commandEnv, ...renderRecord(service.env, rt.scope, 'service.env') };
  rt.output(`$ ${rt.redact(commandDisplay(rendered))}\n`);
  const result = await rt.target.exec(rendered, {
    env,
    cwd: rt.target.layout.root,
    timeoutMs: rt.timeoutMs,
    signal: rt.signal,
    onOutput: rt.output,
    ...(rt.onSpawn ? { onSpawn: (pid: number) => rt.onSpawn?.(pid, true) } : {}),
  });
  checkExit(result, `service ${action}: ${rt.redact(commandDisplay(rendered))}`);
  return true;
}

/** Points `current` at `releaseName` unless it already does; returns what it pointed at before. */
export async function switchTo(rt: StepRuntime, releaseName: string): Promise<string | null> {
  const before = await rt.target.currentRelease(rt.signal);
  if (before === releaseName) return rt.facts.previousRelease ?? null;
  const { previous } = await rt.target.switchCurrent(releaseName, rt.signal);
  rt.output(`current → releases/${releaseName}${previous ? ` (was ${previous})` : ''}\n`);
  return previous;
}
