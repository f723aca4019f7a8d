/** A minimal client for HAProxy's runtime API on its admin socket: one command per connection, answer read to the end. */

import net from 'node:net';
import { SlipwayError } from '../../core/errors.js';

/** @default for the time one runtime API command may take. */
export const RUNTIME_API_TIMEOUT_MS = 5_000;

/**
 * Sends one command and returns HAProxy's answer. Commands are built only from names checked against
 * HAProxy's name rule, and a `;` or newline (which the runtime API reads as "next command") is refused
 * here as a last line of defence.
 */
export function runtimeCommand(
  socketPath: string,
  command: string,
  signal?: AbortSignal,
  timeoutMs: number = RUNTIME_API_TIMEOUT_MS,
): Promise<string> {
  if (/[;\n\r]/.test(command)) {
    return Promise.reject(
      new SlipwayError(
        'SLW_INTERNAL',
        `HAProxy runtime API: refusing a command with ";" or a newline: ${JSON.stringify(command)}`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const chunks: Buffer[] = [];
    const socket = net.createConnection({ path: socketPath });
    const fail = (e: unknown): void => {
      cleanup();
      socket.destroy();
      reject(e);
    };
    const onAbort = (): void => fail(signal?.reason);
    const timer = setTimeout(
      () =>
        fail(
          new SlipwayError(
            'SLW_TRAFFIC_FAILED',
            `HAProxy admin socket ${socketPath}: no answer to "${command}" within ${timeoutMs} ms`,
            {
              hint: 'is HAProxy overloaded or the socket owned by another program?',
            },
          ),
        ),
      timeoutMs,
    );
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) =>
      fail(
        new SlipwayError('SLW_TRAFFIC_FAILED', `HAProxy admin socket ${socketPath}: ${e.code ?? e.message}`, {
          hint: 'HAProxy must run with `stats socket <path> level admin` in its global section, and Slipway needs access to that path',
          cause: e,
        }),
      ),
    );
    socket.on('close', () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
