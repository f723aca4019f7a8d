/** Commands outlive a killed runner (they run in their own process groups): record them, and stop them on take-over. */

import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Target } from '../core/ports.js';
import type { RunContext } from './run-context.js';

const GRACE_MS = 5000;

/**
 * Records a started command's process group so that a successor runner can stop it. Best effort. A group on a
 * remote target is recorded under the target's description: its id means nothing on this machine.
 */
export function recordSpawn(
  ctx: RunContext,
  phase: string,
  step: string,
  pid: number,
  onTarget = false,
  fleetHost?: { readonly name: string; readonly target: Target },
): void {
  const target = fleetHost?.target ?? ctx.target;
  const host = onTarget && target.stopProcessGroups ? target.description : hostname();
  ctx
    .append([
      {
        type: 'step.process',
        payload: { phase, step, host, pid, ...(fleetHost ? { fleetHost: fleetHost.name } : {}) },
      },
    ])
    .catch(() => undefined);
}

/**
 * Stops the process groups recorded since the last runner took over that still run on this host (SIGTERM,
 * then SIGKILL after a grace period), and asks each remote target (the environment's, a fleet's hosts') to stop
 * those recorded on it, all at once. Returns the groups of this host that were still running, and the remote ones.
 */
export async function stopLeftoverProcesses(
  spawned: readonly { host: string; pid: number }[],
  targets: readonly Target[] = [],
): Promise<number[]> {
  // A fleet's first host is also the environment's target: one stop per machine, through the first target listed
  // (the fleet's, whose connection the run already uses).
  const remotes = new Map<string, Target>();
  for (const t of targets)
    if (t.stopProcessGroups && !remotes.has(t.description)) remotes.set(t.description, t);
  const remote = [...remotes.values()].map((t) => ({
    target: t,
    pids: spawned.filter((p) => p.host === t.description).map((p) => p.pid),
  }));
  const [local] = await Promise.all([
    stopLocalGroups(spawned),
    Promise.all(remote.map((r) => (r.pids.length > 0 ? r.target.stopProcessGroups?.(r.pids) : undefined))),
  ]);
  return [...remote.flatMap((r) => r.pids), ...local];
}

async function stopLocalGroups(spawned: readonly { host: string; pid: number }[]): Promise<number[]> {
  const here = hostname();
  const alive = spawned.filter((p) => p.host === here && groupAlive(p.pid)).map((p) => p.pid);
  if (alive.length === 0) return [];
  for (const pid of alive) signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline && alive.some(groupAlive)) await sleep(50);
  for (const pid of alive) if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
  return alive;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // The group exists; on Linux, look closer: members that are only zombies (exited, not yet reaped) are gone.
  try {
    return readdirSync('/proc').some((entry) => /^\d+$/.test(entry) && isLiveMember(entry, pgid));
  } catch {
    return true;
  }
}

function isLiveMember(pid: string, pgid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state ppid pgrp ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(pgrp) === pgid && state !== 'Z';
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Gone in the meantime: nothing to stop.
  }
}
