/** Runs a command on this machine in its own process group, with timeout, abort and a bounded tail of its output. */

import { type ChildProcess, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { SlipwayError } from '../core/errors.js';
import type { ExecOptions, ExecResult } from '../core/ports.js';
import type { CommandSpec } from '../core/process.js';

/** @default for `ExecOptions.maxOutputBytes`. */
export const DEFAULT_MAX_OUTPUT_BYTES = 65_536;

/** Between SIGTERM and SIGKILL of a timed-out or aborted process group: time to shut down cleanly. */
export const KILL_GRACE_MS = 2_000;

/**
 * How long to wait, after the command exited, for its output pipes to close. A daemon the command started
 * may have inherited the pipes and keep them open for ever; the command is done when it exits, and this
 * only lets the last buffered output arrive.
 */
export const EXIT_DRAIN_MS = 200;

/**
 * The only variables inherited from Slipway's own environment: enough for ordinary tools to work, while
 * Slipway's secrets (tokens, database URLs in its environment) never leak into deployed commands.
 */
export const INHERITED_ENV_VARS = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'SHELL',
] as const;

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** setTimeout fires at once for longer delays, so longer timeouts are clamped to this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The command as the user wrote it: argv joined with spaces, a shell string as is. */
export function commandDisplay(command: CommandSpec): string {
  return 'argv' in command ? command.argv.join(' ') : command.shell;
}

/**
 * Runs `command` and resolves with its exit status and output tail once it exits (see EXIT_DRAIN_MS).
 *
 * - argv runs without a shell; a shell string runs as `/bin/sh -c <string>`, so values must reach it
 *   through `options.env` ("$VAR"), never spliced into the string.
 * - The command leads its own process group. On timeout or abort the whole group gets SIGTERM, then
 *   SIGKILL after KILL_GRACE_MS, so no grandchild survives. When the command exits by itself nothing is
 *   killed: daemons it started on purpose keep running.
 * - A timeout resolves with `timedOut: true`, `exitCode: null` and the signal sent; an abort rejects with
 *   the signal's reason once the command has exited.
 * - A command that cannot be started (not found, not executable, bad cwd) throws SLW_TARGET_FAILED.
 */
export async function execLocal(command: CommandSpec, options: ExecOptions): Promise<ExecResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const display = commandDisplay(command);
  const [file, args] = invocation(command, display);
  const timeoutMs = checkedTimeout(options.timeoutMs);
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new SlipwayError(
      'SLW_INTERNAL',
      `exec: maxOutputBytes must be a whole number ≥ 0, got ${maxOutputBytes}`,
    );
  }
  const env = buildEnv(options.env, display);

  const started = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env,
      // Its own process group (pgid = pid), so a timeout can signal every process the command started.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    // Invalid arguments (e.g. a NUL byte in argv) are thrown synchronously rather than emitted.
    throw await startError(display, options.cwd, e);
  }
  if (child.pid !== undefined) options.onSpawn?.(child.pid);

  return await new Promise<ExecResult>((resolve, reject) => {
    const tail = new OutputTail(maxOutputBytes);
    const emit = (text: string): void => {
      if (text === '') return;
      tail.push(text);
      try {
        options.onOutput?.(text);
      } catch {
        // A failing progress display must not take the command (and the deployment) down with it.
      }
    };
    // One decoder per pipe: a multi-byte character split across two chunks of the same pipe is joined again.
    const pipes = [child.stdout, child.stderr].flatMap((stream) => (stream ? [stream] : []));
    const decoders = pipes.map((stream) => {
      const decoder = new StringDecoder('utf8');
      stream.on('data', (chunk: Buffer) => emit(decoder.write(chunk)));
      // A read error on a pipe only ends the output early; unhandled, it would crash the process.
      stream.on('error', () => undefined);
      return decoder;
    });

    let spawned = false;
    let settled = false;
    let terminating: 'timeout' | 'abort' | null = null;
    let sentSignal: NodeJS.Signals | null = null;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

    const signalGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
        sentSignal = sig;
      } catch {
        // ESRCH: the whole group is already gone.
      }
    };
    const terminate = (why: 'timeout' | 'abort'): void => {
      if (terminating !== null || exit !== null) return;
      terminating = why;
      signalGroup('SIGTERM');
      // Kept (and not unref'd) after the leader exits: a grandchild that ignores SIGTERM still gets SIGKILL.
      killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = (): void => terminate('abort');

    const finish = (): void => {
      if (settled || exit === null) return;
      settled = true;
      clearTimeout(drainTimer);
      for (const decoder of decoders) emit(decoder.end());
      // If a daemon still holds the pipes, let go of our ends so they do not keep this process alive.
      for (const stream of pipes) stream.destroy();
      if (terminating === 'abort') {
        reject(signal?.reason ?? new DOMException('The operation was aborted', 'AbortError'));
        return;
      }
      const { output, truncated } = tail.result();
      const timedOut = terminating === 'timeout';
      resolve({
        // A command that traps SIGTERM and exits with a code still counts as stopped by the timeout.
        exitCode: timedOut ? null : exit.code,
        signal: exit.signal ?? (timedOut ? sentSignal : null),
        timedOut,
        output,
        truncated,
        durationMs: Math.round(performance.now() - started),
      });
    };

    child.once('spawn', () => {
      spawned = true;
    });
    child.on('error', (err) => {
      if (spawned || settled) return; // only start failures matter; later ones (signalling) are handled above
      settled = true;
      clearTimeout(timeoutTimer);
      signal?.removeEventListener('abort', onAbort);
      startError(display, options.cwd, err).then(reject, reject);
    });
    child.once('exit', (code, sig) => {
      exit = { code, signal: sig };
      clearTimeout(timeoutTimer);
      signal?.removeEventListener('abort', onAbort);
      // Once the whole group is gone, its id may be reused: never signal it again.
      if (killTimer !== undefined && !groupExists(child.pid)) clearTimeout(killTimer);
      drainTimer = setTimeout(finish, EXIT_DRAIN_MS);
    });
    child.once('close', finish);

    if (timeoutMs !== null) timeoutTimer = setTimeout(() => terminate('timeout'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function groupExists(pgid: number | undefined): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function invocation(command: CommandSpec, display: string): [string, string[]] {
  if ('shell' in command) return ['/bin/sh', ['-c', command.shell]];
  const [file, ...args] = command.argv;
  if (file === undefined || file === '') {
    throw new SlipwayError('SLW_TARGET_FAILED', `cannot run "${display}": the command is empty`, {
      hint: 'give the program to run as the first argv element',
    });
  }
  return [file, args];
}

/** null = no timer (Infinity). */
function checkedTimeout(timeoutMs: number): number | null {
  if (!(timeoutMs > 0))
    throw new SlipwayError('SLW_INTERNAL', `exec: timeoutMs must be > 0, got ${timeoutMs}`);
  if (timeoutMs === Number.POSITIVE_INFINITY) return null;
  return Math.min(Math.ceil(timeoutMs), MAX_TIMER_MS);
}

function buildEnv(
  extra: Readonly<Record<string, string>> | undefined,
  display: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV_VARS) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= FALLBACK_PATH;
  for (const [name, value] of Object.entries(extra ?? {})) {
    // Only the name is shown: the value may be a secret.
    if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
      throw new SlipwayError(
        'SLW_TARGET_FAILED',
        `cannot run "${display}": invalid environment variable ${JSON.stringify(name)}`,
        {
          hint: 'variable names must be non-empty without "=" and values may not contain NUL bytes',
        },
      );
    }
    env[name] = value;
  }
  return env;
}

async function startError(display: string, cwd: string | undefined, err: unknown): Promise<SlipwayError> {
  const where = cwd ?? process.cwd();
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  let reason = err instanceof Error ? err.message : String(err);
  let hint = 'check the command and its working directory';
  // spawn reports a missing cwd as ENOENT for the command, so look at the cwd before blaming the command.
  const cwdProblem = await stat(where).then(
    (s) => (s.isDirectory() ? null : 'the working directory is not a directory'),
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? 'the working directory does not exist' : null),
  );
  if (cwdProblem !== null && (code === 'ENOENT' || code === 'ENOTDIR')) {
    reason = cwdProblem;
    hint = 'create the folder first, or fix the "cwd" setting';
  } else if (code === 'ENOENT') {
    reason = 'command not found';
    hint = 'is it installed and on PATH? (argv commands run without a shell, so no aliases or functions)';
  } else if (code === 'EACCES') {
    reason = 'permission denied';
    hint = 'the program must be executable and the working directory searchable by this user';
  } else if (code === 'E2BIG') {
    reason = 'argument list too long';
    hint = 'pass large values through a file instead';
  }
  return new SlipwayError('SLW_TARGET_FAILED', `cannot run "${display}" in ${where}: ${reason}`, {
    hint,
    cause: err,
    details: { cwd: where, ...(code === undefined ? {} : { errno: code }) },
  });
}

/** Keeps the last `max` bytes of the output, cut at a character boundary. */
export class OutputTail {
  private chunks: string[] = [];
  private sizes: number[] = [];
  private bytes = 0;
  private dropped = false;

  constructor(private readonly max: number) {}

  push(text: string): void {
    const size = Buffer.byteLength(text);
    this.chunks.push(text);
    this.sizes.push(size);
    this.bytes += size;
    // Drop whole chunks from the front while what remains still fills the limit.
    while (this.chunks.length > 1 && this.bytes - this.sizes[0]! >= this.max) {
      this.bytes -= this.sizes.shift()!;
      this.chunks.shift();
      this.dropped = true;
    }
  }

  result(): { output: string; truncated: boolean } {
    const text = this.chunks.join('');
    if (this.bytes <= this.max) return { output: text, truncated: this.dropped };
    const buf = Buffer.from(text, 'utf8');
    let start = buf.length - this.max;
    // Skip UTF-8 continuation bytes so the tail starts on a whole character.
    while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
    return { output: buf.subarray(start).toString('utf8'), truncated: true };
  }
}
