/** Reads nginx's master and worker processes from /proc: which workers serve the new config, which still finish old requests. */

import { readdir, readFile } from 'node:fs/promises';

export interface NginxWorker {
  readonly pid: number;
  /** nginx renames a worker of the previous generation to "… is shutting down" while it finishes its requests. */
  readonly shuttingDown: boolean;
}

/**
 * The master's pid from its pid file, or undefined when the file is missing or stale. A pid file left by a
 * crashed nginx may name a process that reused the pid: only a process titled "nginx: master process" counts,
 * so a reload never sends SIGHUP (which ends most programs) to anything else.
 */
export async function readMasterPid(pidFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const title = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return title.startsWith('nginx: master process') ? pid : undefined;
  } catch {
    return undefined; // no such process
  }
}

/** Worker processes (children) of the master, excluding the cache manager/loader. */
export async function listWorkers(masterPid: number): Promise<NginxWorker[]> {
  const workers: NginxWorker[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: the fields after the last ")" are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== masterPid) continue;
      const title = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (!title.includes('worker process')) continue;
      workers.push({ pid: Number(name), shuttingDown: title.includes('is shutting down') });
    } catch {
      // The process exited while we looked: it is no worker any more.
    }
  }
  return workers;
}
