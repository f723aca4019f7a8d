/**
 * The Ansible side of the fleet benchmark (issue 3): the same work Slipway's fleet does — upload a 5 MB
 * artifact, unpack it, switch `current`, restart the service, HTTP health check — done by `ansible-playbook`
 * against N real sshd hosts on loopback, timed with Ansible's defaults and tuned (pipelining + ControlPersist).
 *
 *     const fleet = await startSshd(10);
 *     const work = await prepareWorkload(fleet, dir);        // artifact, per-host ports and roots
 *     const t = await runAnsible(fleet, work, 'defaults');   // { wallMs, ok, … }
 *     await stopServices(work);
 *
 *     // or all of it: 10 and 30 hosts, both modes, fleets started and stopped
 *     const timings = await ansibleTimings([10, 30]);
 *
 * The Slipway side (H3's fleet) reuses `prepareWorkload`: its artifact holds `bin/restart.sh <port>
 * <root>` (stops the previous service by its pid file in `<root>/shared`, starts `server.cjs` with setsid +
 * nohup on the host's port, returns once it accepts connections) and `server.cjs` (answers `GET /` with
 * the VERSION file). Each host gets a fresh root per run, so both tools do exactly the same work.
 *
 * Modes: `defaults` is what `ansible-playbook` does out of the box (forks 5, no pipelining, interpreter
 * discovery; Ansible's default ssh_args already hold ControlMaster=auto + ControlPersist=60s). `tuned`
 * adds pipelining=True, ControlPersist=60s explicitly, a fixed interpreter and forks = `tunedForks`
 * (default 10, Slipway's default fan-out). Host keys are checked in both (the fleet's known_hosts file).
 * Each run gets its own ControlPath folder, so no run reuses another's master connections; the masters
 * are closed (`ssh -O exit`) after the run.
 */

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create as createTar } from 'tar';
import { freePorts } from '../test/servers/free-port.js';
import { type SshdFleet, type SshdHost, startSshd } from '../test/servers/sshd.js';

export type AnsibleMode = 'defaults' | 'tuned';

export interface Workload {
  /** The release id, also the content of VERSION (what the health check expects). */
  readonly release: string;
  /** The .tar.gz (about 5 MB, incompressible) and its SHA-256. */
  readonly artifact: { readonly path: string; readonly sha256: string; readonly bytes: number };
  /** Per host (same order as fleet.hosts): the service port and a fresh, empty root for this run. */
  readonly hosts: readonly { readonly host: SshdHost; readonly port: number; readonly root: string }[];
}

export interface AnsibleTiming {
  readonly hosts: number;
  readonly mode: AnsibleMode;
  readonly forks: number;
  readonly wallMs: number;
  /** ansible-playbook exited 0 and every host then served the new release. */
  readonly ok: boolean;
  /** The PLAY RECAP (or the tail of the output when it failed). */
  readonly recap: string;
}

const SERVER = `// Tiny HTTP service for the fleet benchmark: answers GET / with the release's VERSION.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const version = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
http.createServer((req, res) => res.end(version + '\\n')).listen(Number(process.argv[2]), '127.0.0.1');
`;

const RESTART = `#!/bin/sh
# restart.sh PORT ROOT: stop the previous service (pid file in ROOT/shared), start this release's, wait until it answers.
set -eu
port=$1; root=$2; here=$(cd "$(dirname "$0")/.." && pwd -P)
mkdir -p "$root/shared"
if [ -f "$root/shared/service.pid" ]; then kill "$(cat "$root/shared/service.pid")" 2>/dev/null || :; fi
i=0; while [ $i -lt 100 ] && node -e "require('net').connect($port,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; do i=$((i+1)); sleep 0.05; done
setsid nohup node "$here/server.cjs" "$port" > "$root/shared/service.log" 2>&1 < /dev/null &
echo $! > "$root/shared/service.pid"
i=0; until node -e "require('net').connect($port,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; do
  i=$((i+1)); [ $i -lt 200 ] || { echo "service did not start on port $port" >&2; exit 1; }; sleep 0.05
done
`;

const PLAYBOOK = `- hosts: web
  gather_facts: false
  tasks:
    - name: upload the artifact
      copy: { src: "{{ artifact }}", dest: "{{ root }}/releases/{{ release }}.tar.gz", mode: "0600" }
    - name: release folder
      file: { path: "{{ root }}/releases/{{ release }}", state: directory, mode: "0750" }
    - name: unpack
      unarchive: { src: "{{ root }}/releases/{{ release }}.tar.gz", dest: "{{ root }}/releases/{{ release }}", remote_src: true }
    - name: switch current (symlink + rename)
      command: sh -c 'ln -s "releases/$1" "$2/current.tmp" && mv -T "$2/current.tmp" "$2/current"' sh "{{ release }}" "{{ root }}"
    - name: restart the service
      command: "{{ root }}/current/bin/restart.sh {{ service_port }} {{ root }}"
    - name: health check
      uri: { url: "http://127.0.0.1:{{ service_port }}/", return_content: true }
      register: health
      failed_when: health.status != 200 or release not in health.content
`;

/** Builds the artifact and gives every host a free port and a fresh root (inside its sshd root folder). */
export async function prepareWorkload(
  fleet: SshdFleet,
  dir: string,
  release = `r${Date.now()}`,
): Promise<Workload> {
  const staging = await mkdtemp(path.join(dir, 'artifact-'));
  await mkdir(path.join(staging, 'bin'));
  await writeFile(path.join(staging, 'VERSION'), `${release}\n`);
  await writeFile(path.join(staging, 'server.cjs'), SERVER);
  await writeFile(path.join(staging, 'bin', 'restart.sh'), RESTART, { mode: 0o755 });
  await writeFile(path.join(staging, 'payload.bin'), randomBytes(5 * 1024 * 1024));
  const file = path.join(dir, `app-${release}.tar.gz`);
  await createTar({ gzip: true, file, cwd: staging, portable: true }, ['.']);
  await rm(staging, { recursive: true });
  const bytes = await readFile(file);
  const hosts = [];
  // Distinct ports: one free-port probe at a time may hand the same port back twice.
  const ports = await freePorts(fleet.hosts.length);
  for (const [i, host] of fleet.hosts.entries()) {
    const root = await mkdtemp(path.join(host.root, 'bench-'));
    await mkdir(path.join(root, 'releases'));
    await mkdir(path.join(root, 'shared'));
    hosts.push({ host, port: ports[i] as number, root });
  }
  return {
    release,
    artifact: { path: file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length },
    hosts,
  };
}

/** Runs the playbook once and times it (wall clock of `ansible-playbook`), then checks every host's service. */
export async function runAnsible(
  fleet: SshdFleet,
  work: Workload,
  mode: AnsibleMode,
  options: { readonly tunedForks?: number } = {},
): Promise<AnsibleTiming> {
  const dir = await mkdtemp(path.join(tmpdir(), `slipway-ansible-${mode}-`));
  const controlDir = path.join(dir, 'cp');
  await mkdir(controlDir);
  const forks = mode === 'tuned' ? (options.tunedForks ?? 10) : 5;
  const inventory = [
    '[web]',
    ...work.hosts.map(
      (h) =>
        `${h.host.name} ansible_host=${h.host.address} ansible_port=${h.host.port} root=${h.root} service_port=${h.port}`,
    ),
    '',
    '[web:vars]',
    `ansible_user=${fleet.hosts[0]?.user ?? 'root'}`,
    `ansible_ssh_private_key_file=${fleet.identityFile}`,
    // Host keys checked against the fleet's file, as Slipway does.
    `ansible_ssh_common_args=-o UserKnownHostsFile=${fleet.knownHostsFile} -o StrictHostKeyChecking=yes`,
    `artifact=${work.artifact.path}`,
    `release=${work.release}`,
    '',
  ].join('\n');
  const cfg = [
    '[defaults]',
    'inventory = inventory.ini',
    `forks = ${forks}`,
    'retry_files_enabled = False',
    `local_tmp = ${path.join(dir, 'tmp')}`,
    ...(mode === 'tuned' ? ['interpreter_python = /usr/bin/python3'] : []),
    '[ssh_connection]',
    `control_path_dir = ${controlDir}`,
    ...(mode === 'tuned'
      ? ['pipelining = True', 'ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s']
      : []),
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'inventory.ini'), inventory);
  await writeFile(path.join(dir, 'ansible.cfg'), cfg);
  await writeFile(path.join(dir, 'playbook.yml'), PLAYBOOK);

  try {
    const started = performance.now();
    const { code, output } = await runCommand('ansible-playbook', ['playbook.yml'], dir, {
      ANSIBLE_CONFIG: path.join(dir, 'ansible.cfg'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_HOST_KEY_CHECKING: 'True',
    });
    const wallMs = performance.now() - started;
    const served = await Promise.all(work.hosts.map((h) => httpGet(h.port)));
    const ok = code === 0 && served.every((body) => body?.trim() === work.release);
    const recapAt = output.lastIndexOf('PLAY RECAP');
    return {
      hosts: work.hosts.length,
      mode,
      forks,
      wallMs: Math.round(wallMs),
      ok,
      recap: recapAt === -1 ? output.slice(-3000) : output.slice(recapAt).trim(),
    };
  } finally {
    // Master connections outlive the run (ControlPersist): close each one through its socket.
    const sockets = await readdir(controlDir).catch(() => [] as string[]);
    await Promise.all(
      sockets.map((s) =>
        runCommand('ssh', ['-O', 'exit', '-o', `ControlPath=${path.join(controlDir, s)}`, 'x'], dir, {}),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

/** Stops the services the runs started (by the pid each host recorded). */
export async function stopServices(work: Workload): Promise<void> {
  for (const h of work.hosts) {
    const pid = Number(
      (await readFile(path.join(h.root, 'shared', 'service.pid'), 'utf8').catch(() => '')).trim(),
    );
    if (Number.isInteger(pid) && pid > 1) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}

/** For each host count: a fleet, then one `defaults` and one `tuned` run on fresh roots. */
export async function ansibleTimings(
  counts: readonly number[] = [10, 30],
  options: { readonly tunedForks?: number } = {},
): Promise<AnsibleTiming[]> {
  const results: AnsibleTiming[] = [];
  for (const n of counts) {
    const fleet = await startSshd(n);
    const dir = await mkdtemp(path.join(tmpdir(), 'slipway-fleet-bench-'));
    try {
      for (const mode of ['defaults', 'tuned'] as const) {
        const work = await prepareWorkload(fleet, dir);
        try {
          results.push(await runAnsible(fleet, work, mode, options));
        } finally {
          await stopServices(work);
        }
      }
    } finally {
      await fleet.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return results;
}

/** Runs a program to its end with `env` added to this process's environment; the output is stdout + stderr. */
export function runCommand(
  file: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

/** The body of `GET http://127.0.0.1:<port>/`, or null when it does not answer 200 within 5 s. */
export async function httpGet(port: number): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    const body = await res.text();
    return res.status === 200 ? body : null;
  } catch {
    return null;
  }
}

// `node --import tsx bench/fleet-vs-ansible.ts [counts…]` prints the timings as JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  console.log(JSON.stringify(await ansibleTimings(counts.length > 0 ? counts : [10, 30]), null, 2));
}
