/** Child processes of throw-away test servers (nginx, HAProxy, Prometheus): killed when the test process exits, polled until they answer. */

import type { ChildProcess } from 'node:child_process';
import { get } from '../traffic-backends.js';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Kills `child` if the test process exits first (a crashed test must not leave a server behind). */
export function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Whether `url` answers (any status) within `timeoutMs`; false at once when `child` exited (e.g. its port was taken). */
export async function answers(url: string, child: ChildProcess, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      await get(url); // without keep-alive: no idle connection outlives the check
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 30));
    }
  }
  return false;
}
