/** `command` monitor: a command that must exit 0, on the controller or the target; optionally its last output line is the value. */

import path from 'node:path';
import { formatDuration } from '../../core/duration.js';
import { SlipwayError } from '../../core/errors.js';
import type { Monitor } from '../../core/ports.js';
import type { CommandSpec, MonitorSpec } from '../../core/process.js';
import { renderRecord, renderTemplate } from '../../core/template.js';
import { lastLines } from '../../steps/command-runner.js';
import { commandDisplay, execLocal } from '../../targets/local-exec.js';
import { type MonitorContext, publicScope } from '../monitor-context.js';
import { formatValue, type ProbeResult, takeSample } from '../monitor-sampling.js';

type Spec = Extract<MonitorSpec, { kind: 'command' }>;

/** Output kept per sample: enough for the last line and an error's tail. */
const MAX_OUTPUT_BYTES = 16_384;

export function commandMonitor(spec: Spec, context: MonitorContext): Monitor {
  const where = `monitors.${spec.id}.command`;
  const c = spec.command;
  const open = publicScope(context.scope);
  const command: CommandSpec =
    'shell' in c.command
      ? c.command
      : { argv: c.command.argv.map((a, i) => renderTemplate(a, open, `${where}.run[${i}]`)) };
  const env = {
    ...(context.commandEnv ?? {}),
    ...renderRecord(c.env, context.scope, `${where}.env`),
  };
  const target = context.target;
  if (c.on === 'target' && target === undefined) {
    throw new SlipwayError(
      'SLW_INTERNAL',
      `${where}: runs on the target, but the monitor was given no target`,
    );
  }
  const cwd =
    c.on === 'target'
      ? c.cwd === undefined
        ? target?.layout.current
        : renderTemplate(c.cwd, open, `${where}.cwd`)
      : path.resolve(
          context.baseDir,
          c.cwd === undefined ? '.' : renderTemplate(c.cwd, open, `${where}.cwd`),
        );
  const display = commandDisplay(command);
  const exec = c.on === 'target' && target ? target.exec.bind(target) : execLocal;

  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    const result = await exec(command, {
      env,
      ...(cwd === undefined ? {} : { cwd }),
      timeoutMs: spec.timeoutMs,
      signal,
      maxOutputBytes: MAX_OUTPUT_BYTES,
    });
    const took = formatDuration(result.durationMs);
    const tail = lastLines(result.output, 3);
    if (result.timedOut)
      return { ok: false, detail: `"${display}" timed out after ${formatDuration(spec.timeoutMs)}` };
    if (result.exitCode !== 0) {
      const how =
        result.exitCode === null ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
      return { ok: false, detail: `"${display}" ${how} after ${took}${tail ? `: ${tail}` : ''}` };
    }
    if (c.value === 'exit-code') return { ok: true, detail: `exit 0 in ${took}` };
    const last = lastLines(result.output, 1).trim();
    const value = last === '' ? Number.NaN : Number(last);
    if (!Number.isFinite(value)) {
      return {
        ok: false,
        detail: `"${display}" printed ${last === '' ? 'nothing' : JSON.stringify(last.slice(0, 100))} last, not a number`,
      };
    }
    return { ok: true, value, detail: `${formatValue(value)} (exit 0 in ${took})` };
  };

  return {
    id: spec.id,
    description: `command ${display}${c.on === 'target' ? ' on the target' : ''}`,
    sample: (signal) => takeSample(signal, spec.timeoutMs + 3_000, context.redact, probe),
  };
}
