/** The one place that knows TTY vs. pipe, `--json` and NO_COLOR; every command writes through it. */

import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export interface Output {
  readonly json: boolean;
  /** stdout is a terminal: live progress may redraw lines. */
  readonly interactive: boolean;
  readonly c: Colors;
  /** A line for people (suppressed under --json). */
  line(text?: string): void;
  /** A line on stderr (progress under --json, warnings). */
  note(text: string): void;
  /** The command's result: JSON under --json, else the human rendering. */
  result(data: unknown, human: () => string): void;
  /** Raw writes for live progress. */
  readonly stream: NodeJS.WriteStream;
}

export interface OutputOptions {
  readonly json?: boolean;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
  readonly env?: NodeJS.ProcessEnv;
}

/** Colour only on a terminal, never with NO_COLOR (any value) or under --json; FORCE_COLOR forces it. */
export function colorEnabled(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv, json: boolean): boolean {
  if (json || 'NO_COLOR' in env) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function createOutput(options: OutputOptions = {}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const json = options.json === true;
  const c = pc.createColors(colorEnabled(stdout, env, json));
  return {
    json,
    interactive: stdout.isTTY === true && !json,
    c,
    stream: json ? stderr : stdout,
    line(text = '') {
      if (!json) stdout.write(`${text}\n`);
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
    result(data, human) {
      if (json) stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else stdout.write(`${human()}\n`);
    },
  };
}
