/** Runs a command on an SSH host: one quoted command line, its own process group, timeout/abort kill the group remotely. */

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { SlipwayError } from '../../core/errors.js';
import type { ExecOptions, ExecResult } from '../../core/ports.js';
import type { CommandSpec } from '../../core/process.js';
import {
  commandDisplay,
  DEFAULT_MAX_OUTPUT_BYTES,
  EXIT_DRAIN_MS,
  KILL_GRACE_MS,
  OutputTail,
} from '../local-exec.js';
import { quoteShellArg, shellCommand } from './shell-quote.js';
import type { SshConnection } from './ssh-connection.js';

/** setTimeout fires at once for longer delays, so longer timeouts are clamped to this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The remote wrapper, run by `/bin/sh -c` with: nonce, working directory, `1` when stdin carries the
 * environment (`export NAME='value'` lines, every value quoted by `quoteShellArg`; then stdin is /dev/null
 * for the command) else `0`, then the command's argv. It is a constant: values only ever reach it as
 * positional parameters or that quoted stdin, never spliced into its text.
 *
 * It checks the working directory and the program the way spawn(2) would fail on them, then prints one line
 * `<nonce> pgid <pid>` (or `<nonce> fail <why>`) on stdout before anything of the command can appear, and
 * execs the command in its own place. sshd starts every session with setsid(), so the pid is already a process
 * group (and session) leader; if some sshd did not, `setsid` (which does not fork for a non-leader) makes it
 * one. The pid that sshd waits for is the command itself, so its exit code or signal comes back unchanged.
 */
export const EXEC_WRAPPER = `n=$1; d=$2; e=$3; shift 3
if [ "$e" = 1 ]; then eval "$(cat)"; exec </dev/null; fi
fail() { printf '\\n%s fail %s\\n' "$n" "$1"; exit 126; }
if [ ! -d "$d" ]; then if [ -e "$d" ]; then fail notdir; else fail nocwd; fi; fi
cd "$d" 2>/dev/null || fail cwdaccess
case $1 in
*/*) [ -e "$1" ] || fail notfound; { [ -f "$1" ] && [ -x "$1" ]; } || fail noexec ;;
*) f=; set -f; o=$IFS; IFS=:
  for x in $PATH; do if [ -f "\${x:-.}/$1" ] && [ -x "\${x:-.}/$1" ]; then f=1; break; fi; done
  IFS=$o; set +f
  [ -n "$f" ] || fail notfound ;;
esac
g=
if [ -r /proc/$$/stat ]; then read -r s < /proc/$$/stat; third() { g=$3; }; set -f; third \${s##*)}; set +f; fi
printf '\\n%s pgid %s\\n' "$n" "$$"
if [ -n "$g" ] && [ "$g" != "$$" ]; then exec setsid "$@"; fi
exec "$@"`;

export interface RemoteExecOptions extends ExecOptions {
  /** Sent to the command's stdin (then EOF). Without it, stdin is empty. Used for file contents (secrets stay off argv). */
  readonly stdin?: string | Buffer;
  /** Absolute working directory on the host (already resolved). */
  readonly cwd: string;
}

/** Sends kill signals to remote process groups and remembers the SIGKILLs still due, so `close()` can send them at once. */
export class RemoteKiller {
  private readonly due = new Map<number, NodeJS.Timeout>();

  constructor(private readonly conn: SshConnection) {}

  /** SIGTERM to the group now, SIGKILL after KILL_GRACE_MS (a member that ignores SIGTERM still goes). */
  terminate(pgid: number): void {
    void this.send('TERM', pgid);
    clearTimeout(this.due.get(pgid));
    this.due.set(
      pgid,
      setTimeout(() => {
        this.due.delete(pgid);
        void this.send('KILL', pgid);
      }, KILL_GRACE_MS),
    );
  }

  /** Waits out the grace period of every pending SIGKILL, then sends them all. */
  async flushAfterGrace(signal?: AbortSignal): Promise<void> {
    if (this.due.size === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, KILL_GRACE_MS);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
    await this.flush();
  }

  /** Sends every SIGKILL still due now (before the connection closes). */
  async flush(): Promise<void> {
    const pending = [...this.due.keys()];
    for (const t of this.due.values()) clearTimeout(t);
    this.due.clear();
    await Promise.all(pending.map((pgid) => this.send('KILL', pgid)));
  }

  private async send(sig: 'TERM' | 'KILL', pgid: number): Promise<void> {
    try {
      // The pgid is a number parsed from digits; quoted anyway, like every value.
      const command = `kill -s ${sig} -- ${quoteShellArg(`-${pgid}`)} 2>/dev/null`;
      const { channel } = await this.conn.exec(command, undefined, true);
      channel.resume();
      channel.stderr.resume();
      channel.end();
      await new Promise<void>((resolve) => channel.once('close', () => resolve()));
    } catch {
      // The connection is gone: so is any way (or need) to signal the group from here.
    }
  }
}

/**
 * Runs `command` on the host with the same contract as `execLocal`, except that the environment is the
 * login session's (what sshd sets: PATH, HOME, USER, …) plus `env`: argv without a shell (every element
 * quoted), a shell string as `/bin/sh -c`, `env` as quoted `export` lines on stdin (never SSH setenv, which
 * sshd refuses unless AcceptEnv lists the name; never on the command line, where `ps` and audit logs would
 * show secrets), its own process group, timeout → `timedOut`, abort → group
 * killed then rejected with `signal.reason`, output tail bounded, and SLW_TARGET_FAILED when it cannot start.
 * A connection lost mid-command rejects with SLW_TARGET_DISCONNECTED.
 */
export async function execRemote(
  conn: SshConnection,
  killer: RemoteKiller,
  command: CommandSpec,
  options: RemoteExecOptions,
): Promise<ExecResult> {
  const { signal, cwd } = options;
  signal?.throwIfAborted();
  const display = commandDisplay(command);
  const argv = 'argv' in command ? command.argv : ['/bin/sh', '-c', command.shell];
  if (argv[0] === undefined || argv[0] === '') {
    throw new SlipwayError('SLW_TARGET_FAILED', `cannot run "${display}": the command is empty`, {
      hint: 'give the program to run as the first argv element',
    });
  }
  if (argv.some((a) => a.includes('\0'))) {
    throw new SlipwayError(
      'SLW_TARGET_FAILED',
      `cannot run "${display}" on ${conn.label}: an argument contains a NUL byte`,
      {
        hint: 'arguments cannot carry NUL bytes; pass binary data through a file',
      },
    );
  }
  const timeoutMs = checkedTimeout(options.timeoutMs);
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new SlipwayError(
      'SLW_INTERNAL',
      `exec: maxOutputBytes must be a whole number ≥ 0, got ${maxOutputBytes}`,
    );
  }
  const nonce = randomBytes(8).toString('hex');
  const { line, stdin } = remoteCommandLine(argv, {
    nonce,
    cwd,
    env: envAssignments(options.env, display),
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
  });

  const started = performance.now();
  const opened = await conn.exec(line, signal);
  const { channel } = opened;

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

    // Before the wrapper's status line, stdout is login noise (discarded) and stderr is held back.
    let header: { pgid: number } | { fail: string } | null = null;
    let preOut = '';
    let preErr = '';
    const outDecoder = new StringDecoder('utf8');
    const errDecoder = new StringDecoder('utf8');
    const marker = `${nonce} `;
    const onStdout = (text: string): void => {
      if (header !== null) {
        emit(text);
        return;
      }
      preOut += text;
      const at = preOut.indexOf(marker);
      const eol = at === -1 ? -1 : preOut.indexOf('\n', at);
      if (eol === -1) return;
      const [kind, value = ''] = preOut.slice(at + marker.length, eol).split(' ');
      const rest = preOut.slice(eol + 1);
      preOut = '';
      if (kind === 'pgid' && /^\d+$/.test(value)) {
        header = { pgid: Number(value) };
        try {
          options.onSpawn?.(header.pgid);
        } catch {
          // as for onOutput
        }
        emit(preErr);
        preErr = '';
        emit(rest);
        if (terminating !== null) killer.terminate(header.pgid);
      } else {
        header = { fail: value };
      }
    };
    const onStderr = (text: string): void => {
      if (header === null) preErr += text;
      else if ('pgid' in header) emit(text);
    };
    channel.on('data', (chunk: Buffer) => onStdout(outDecoder.write(chunk)));
    channel.stderr.on('data', (chunk: Buffer) => onStderr(errDecoder.write(chunk)));
    channel.on('error', () => undefined);

    let settled = false;
    let terminating: 'timeout' | 'abort' | null = null;
    let sentSignal: string | null = null;
    let exit: { code: number | null; signal: string | null } | null = null;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const terminate = (why: 'timeout' | 'abort'): void => {
      if (terminating !== null || exit !== null) return;
      terminating = why;
      sentSignal = 'SIGTERM';
      // Before the status line the pgid is unknown: the kill goes out as soon as it arrives.
      if (header !== null && 'pgid' in header) killer.terminate(header.pgid);
    };
    const onAbort = (): void => terminate('abort');

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(drainTimer);
      clearTimeout(timeoutTimer);
      signal?.removeEventListener('abort', onAbort);
      onStdout(outDecoder.end());
      onStderr(errDecoder.end());
      // A daemon the command started may hold the channel open; the command is done, so let go of it.
      channel.close();
      if (terminating === 'abort') {
        reject(signal?.reason ?? new DOMException('The operation was aborted', 'AbortError'));
        return;
      }
      if (header !== null && 'fail' in header) {
        reject(startError(display, cwd, header.fail, conn.label));
        return;
      }
      if (exit === null || header === null) {
        const seen = `${preOut}${preErr}`.trim().slice(-500);
        reject(
          exit === null
            ? conn.lostError(`run "${display}"`)
            : new SlipwayError(
                'SLW_TARGET_FAILED',
                `cannot run "${display}" on ${conn.label}: the remote shell exited with ${exit.code ?? exit.signal} before starting it${seen ? `: ${seen}` : ''}`,
                {
                  hint: "the login user's shell must be a POSIX shell (sh, bash, dash, zsh) and /bin/sh must exist on the host",
                },
              ),
        );
        return;
      }
      const { output, truncated } = tail.result();
      const timedOut = terminating === 'timeout';
      resolve({
        exitCode: timedOut ? null : exit.code,
        signal: exit.signal ?? (timedOut ? sentSignal : null),
        timedOut,
        output,
        truncated,
        durationMs: Math.round(performance.now() - started),
      });
    };

    opened.onExit(() => {
      exit = opened.exit;
      clearTimeout(timeoutTimer);
      signal?.removeEventListener('abort', onAbort);
      drainTimer = setTimeout(finish, EXIT_DRAIN_MS);
    });
    channel.once('close', finish);

    if (stdin !== undefined) channel.end(stdin);
    else channel.end();

    if (timeoutMs !== null) timeoutTimer = setTimeout(() => terminate('timeout'), timeoutMs);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The command line sshd's login shell runs, and what goes to the command's stdin. Values travel on stdin as
 * `export NAME='value'` lines, so secrets never show up in the host's process list or in audit logs of
 * command lines; only when stdin carries data for the command do they go on the line, through env(1).
 */
export function remoteCommandLine(
  argv: readonly string[],
  options: {
    readonly nonce: string;
    readonly cwd: string;
    /** `NAME=value` pairs, names already checked. */
    readonly env: readonly string[];
    readonly stdin?: string | Buffer;
  },
): { line: string; stdin: string | Buffer | undefined } {
  const viaStdin = options.stdin === undefined ? options.env : [];
  const viaEnv = options.stdin === undefined ? [] : options.env;
  const stdin =
    viaStdin.length > 0
      ? viaStdin
          .map((a) => `export ${a.slice(0, a.indexOf('='))}=${quoteShellArg(a.slice(a.indexOf('=') + 1))}\n`)
          .join('')
      : options.stdin;
  const wrapper = [
    '/bin/sh',
    '-c',
    EXEC_WRAPPER,
    'slipway',
    options.nonce,
    options.cwd,
    viaStdin.length > 0 ? '1' : '0',
  ];
  const line = [
    'exec',
    ...(viaEnv.length > 0 ? ['env', ...viaEnv.map(quoteShellArg)] : []),
    shellCommand([...wrapper, ...argv]),
  ].join(' ');
  return { line, stdin };
}

/** Names a POSIX shell can `export`. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `NAME=value` pairs, refusing names a shell cannot carry (and so never an option of env(1)). */
function envAssignments(extra: Readonly<Record<string, string>> | undefined, display: string): string[] {
  return Object.entries(extra ?? {}).map(([name, value]) => {
    // Only the name is shown: the value may be a secret. The remote /bin/sh drops variables whose names are
    // not shell names, so those are refused rather than silently lost.
    if (!SHELL_NAME.test(name) || value.includes('\0')) {
      throw new SlipwayError(
        'SLW_TARGET_FAILED',
        `cannot run "${display}" on an SSH host: invalid environment variable ${JSON.stringify(name)}`,
        {
          hint: 'on SSH targets variable names are letters, digits and "_" (not starting with a digit), and values may not contain NUL bytes',
        },
      );
    }
    return `${name}=${value}`;
  });
}

/** null = no timer (Infinity). */
function checkedTimeout(timeoutMs: number): number | null {
  if (!(timeoutMs > 0))
    throw new SlipwayError('SLW_INTERNAL', `exec: timeoutMs must be > 0, got ${timeoutMs}`);
  if (timeoutMs === Number.POSITIVE_INFINITY) return null;
  return Math.min(Math.ceil(timeoutMs), MAX_TIMER_MS);
}

function startError(display: string, cwd: string, why: string, label: string): SlipwayError {
  const [reason, hint] =
    why === 'nocwd'
      ? ['the working directory does not exist', 'create the folder first, or fix the "cwd" setting']
      : why === 'notdir'
        ? ['the working directory is not a directory', 'fix the "cwd" setting']
        : why === 'cwdaccess'
          ? [
              'the working directory cannot be entered (permission denied)',
              'the login user needs search permission on it',
            ]
          : why === 'noexec'
            ? ['permission denied', 'the program must be a file executable by the login user']
            : [
                'command not found',
                "is it installed on the host and on the login user's PATH? (argv commands run without a shell, so no aliases or functions)",
              ];
  return new SlipwayError('SLW_TARGET_FAILED', `cannot run "${display}" in ${cwd} on ${label}: ${reason}`, {
    hint,
    details: { cwd, host: label },
  });
}
