/**
 * Starts real OpenSSH `sshd` servers on loopback for tests and benchmarks: one per simulated host.
 *
 *     const fleet = await startSshd(3);              // 3 hosts, ~100 ms each, in parallel
 *     await startSshd(1, { hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });  // hosts offering several key types
 *     const [web1] = fleet.hosts;
 *     web1.spec();                                   // an SshTargetSpec for it (root, key, known_hosts set)
 *     await web1.acceptedLogins();                   // "Accepted publickey" lines in its log so far
 *     await web1.kill();                             // SIGKILL sshd and every session process: the host dies
 *     await web1.freeze(); await web1.thaw();        // SIGSTOP / SIGCONT them: the host hangs, sockets open
 *     await web1.restart({ newHostKey: true });      // same port, a freshly generated host key
 *     await fleet.stop();                            // afterAll: stop all, remove the temp folder
 *
 * - `/usr/sbin/sshd` from Debian's `openssh-server` (`scripts/ensure-system-packages.sh` installs it).
 *   Each host gets its own ed25519 host key, its own config (`-f`, run with `-D -e`, `LogLevel VERBOSE` in `sshd.log`: logins, sessions),
 *   its own port (a free one picked at start, retried if taken meanwhile), `ListenAddress 127.0.0.1`, and
 *   its own root folder (an empty temp dir meant as the target `root`).
 * - Logins: public key only, as the user running the tests (root in CI: `PermitRootLogin prohibit-password`),
 *   with one client key per fleet (`identityFile`), listed in a per-fleet `authorized_keys`
 *   (`StrictModes no`, `UsePAM no`). `knownHostsFile` holds a `[127.0.0.1]:<port>` line per host;
 *   `unknownHostsFile` is an empty file (for "unknown host" tests).
 * - sftp is `internal-sftp`; TCP forwarding is allowed, so one host can be the jump host of another.
 * - `SetEnv SHLVL=1`: bash then skips ~/.bashrc for SSH commands, so the test machine's own shell setup
 *   (which can take 100+ ms per command) does not slow every simulated host.
 * - As root, sshd needs its privilege-separation folder `/run/sshd`: it is created when missing.
 * - Servers left running by a crashed test are killed when the Node process exits.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SshTargetSpec } from '../../src/core/process.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
const STARTS = 5;

export interface SshdHost {
  /** `host1`, `host2`, … */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The login user (the user running the tests). */
  readonly user: string;
  /** The fleet's client private key (no passphrase). */
  readonly identityFile: string;
  /** The fleet's known_hosts file (every host of the fleet, current keys). */
  readonly knownHostsFile: string;
  /** This host's known_hosts line (`[127.0.0.1]:<port> ssh-ed25519 …`) for its current (first type's) key. */
  readonly knownHostsLine: string;
  /** The line of each of its host key types. */
  readonly knownHostsLines: Readonly<Partial<Record<HostKeyType, string>>>;
  /** `SHA256:…` of the current (first type's) host key. */
  readonly hostKeyFingerprint: string;
  readonly hostKeyFingerprints: Readonly<Partial<Record<HostKeyType, string>>>;
  /** An empty folder for the target root (created at start, removed by `stop`). */
  readonly root: string;
  /** sshd's log (stderr with `-e`). */
  readonly logFile: string;
  /** The listener's pid (changes on restart). */
  readonly pid: number;
  /** An SshTargetSpec for this host; `overrides` win. */
  spec(overrides?: Partial<SshTargetSpec>): SshTargetSpec;
  /** Count of successful logins ("Accepted publickey" lines) in the log so far. */
  acceptedLogins(): Promise<number>;
  /** SIGKILLs sshd and all its descendants (sessions and the commands they run): the host dies at once. */
  kill(): Promise<void>;
  /** SIGSTOPs sshd and its descendants: the host hangs with its TCP connections open (a network partition). */
  freeze(): Promise<void>;
  /** SIGCONTs what `freeze` stopped. */
  thaw(): Promise<void>;
  /** Starts sshd again on the same port; `newHostKey` regenerates its host key (known_hosts is NOT updated). */
  restart(options?: { readonly newHostKey?: boolean }): Promise<void>;
  /** Stops sshd (SIGTERM, then SIGKILL of anything left). Safe to call twice. */
  stop(): Promise<void>;
}

export interface SshdFleet {
  readonly hosts: readonly SshdHost[];
  /** The fleet's temp folder (keys, configs, logs, roots). */
  readonly dir: string;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  /** An empty known_hosts file. */
  readonly unknownHostsFile: string;
  /** Stops every host and removes `dir` (unmounting anything a test mounted below it). */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface StartSshdOptions {
  /** Host key types each host offers; the first is the one `knownHostsLine` names. @default ['ed25519'] */
  readonly hostKeyTypes?: readonly HostKeyType[];
}

/** Starts `count` sshd hosts in parallel. */
export async function startSshd(count = 1, options: StartSshdOptions = {}): Promise<SshdFleet> {
  const keyTypes = options.hostKeyTypes ?? ['ed25519'];
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-sshd-'));
  const identityFile = path.join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-test-client', '-f', identityFile]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, await readFile(`${identityFile}.pub`), { mode: 0o600 });
  const knownHostsFile = path.join(dir, 'known_hosts');
  const unknownHostsFile = path.join(dir, 'known_hosts.empty');
  await writeFile(unknownHostsFile, '');
  const user = os.userInfo().username;

  const hosts: Host[] = [];
  try {
    const started = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const host = new Host(`host${i + 1}`, path.join(dir, `host${i + 1}`), {
          user,
          identityFile,
          knownHostsFile,
          authorizedKeys,
          keyTypes,
        });
        hosts.push(host);
        await host.start();
        return host;
      }),
    );
    const writeKnownHosts = async (): Promise<void> => {
      await writeFile(knownHostsFile, `${started.map((h) => h.originalLine).join('\n')}\n`);
    };
    await writeKnownHosts();
    return {
      hosts: started,
      dir,
      identityFile,
      knownHostsFile,
      unknownHostsFile,
      async stop() {
        await Promise.all(hosts.map((h) => h.stop()));
        await unmountBelow(dir);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.all(hosts.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

interface Shared {
  readonly user: string;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  readonly authorizedKeys: string;
  readonly keyTypes: readonly HostKeyType[];
}

interface HostKey {
  readonly type: HostKeyType;
  readonly file: string;
  /** `<algorithm> <base64>` as in the .pub file. */
  readonly pub: string;
  readonly fingerprint: string;
}

class Host implements SshdHost {
  readonly address = '127.0.0.1';
  port = 0;
  readonly root: string;
  readonly logFile: string;
  /** The lines written to the fleet's known_hosts at start (restart with a new key does not change them). */
  originalLine = '';
  private keys: HostKey[] = [];
  private child: ChildProcess | null = null;
  private readonly config: string;

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly shared: Shared,
  ) {
    this.root = path.join(dir, 'root');
    this.logFile = path.join(dir, 'sshd.log');
    this.config = path.join(dir, 'sshd_config');
  }

  get user(): string {
    return this.shared.user;
  }
  get identityFile(): string {
    return this.shared.identityFile;
  }
  get knownHostsFile(): string {
    return this.shared.knownHostsFile;
  }
  get knownHostsLine(): string {
    return this.lineOf(this.keys[0]!);
  }
  get knownHostsLines(): Partial<Record<HostKeyType, string>> {
    return Object.fromEntries(this.keys.map((k) => [k.type, this.lineOf(k)]));
  }
  get hostKeyFingerprint(): string {
    return this.keys[0]?.fingerprint ?? '';
  }
  get hostKeyFingerprints(): Partial<Record<HostKeyType, string>> {
    return Object.fromEntries(this.keys.map((k) => [k.type, k.fingerprint]));
  }
  get pid(): number {
    return this.child?.pid ?? -1;
  }

  spec(overrides: Partial<SshTargetSpec> = {}): SshTargetSpec {
    return {
      type: 'ssh',
      address: this.address,
      port: this.port,
      user: this.user,
      identityFile: this.identityFile,
      knownHosts: this.knownHostsFile,
      acceptNewHosts: false,
      root: this.root,
      connectTimeoutMs: 5_000,
      ...overrides,
    } as SshTargetSpec;
  }

  async start(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await mkdir(this.dir, { recursive: true });
    await this.newKeys();
    let lastError: unknown;
    for (let attempt = 0; attempt < STARTS; attempt++) {
      this.port = await freePort();
      try {
        await this.launch();
        this.originalLine = this.keys.map((k) => this.lineOf(k)).join('\n');
        return;
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError;
  }

  async acceptedLogins(): Promise<number> {
    const log = await readFile(this.logFile, 'utf8').catch(() => '');
    return log.split('\n').filter((l) => l.includes('Accepted publickey')).length;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined) return;
    const exited = new Promise((r) => child.once('exit', r));
    // Descendants first, collected before anything dies (orphans would be re-parented and lost).
    for (const pid of [...descendants(child.pid), child.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    live.delete(child);
    this.child = null;
  }

  private frozen: number[] = [];

  async freeze(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.frozen = [pid, ...descendants(pid)];
    for (const p of this.frozen) {
      try {
        process.kill(p, 'SIGSTOP');
      } catch {
        // gone
      }
    }
  }

  async thaw(): Promise<void> {
    for (const p of this.frozen.splice(0)) {
      try {
        process.kill(p, 'SIGCONT');
      } catch {
        // gone
      }
    }
  }

  async restart(options: { readonly newHostKey?: boolean } = {}): Promise<void> {
    await this.stop();
    if (options.newHostKey) await this.newKeys();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.thaw();
    const child = this.child;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      const family = descendants(child.pid!);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
      for (const pid of family) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    live.delete(child);
    this.child = null;
  }

  private lineOf(key: HostKey): string {
    return `[${this.address}]:${this.port} ${key.pub}`;
  }

  private async newKeys(): Promise<void> {
    this.keys = [];
    for (const type of this.shared.keyTypes) {
      const file = path.join(this.dir, `ssh_host_${type}_key`);
      await rm(file, { force: true });
      await rm(`${file}.pub`, { force: true });
      const size = type === 'rsa' ? ['-b', '2048'] : type === 'ecdsa' ? ['-b', '256'] : [];
      await run('ssh-keygen', ['-q', '-t', type, ...size, '-N', '', '-C', this.name, '-f', file]);
      const [alg, b64] = (await readFile(`${file}.pub`, 'utf8')).trim().split(' ');
      const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]);
      this.keys.push({ type, file, pub: `${alg} ${b64}`, fingerprint: stdout.split(' ')[1] ?? '' });
    }
  }

  private async launch(): Promise<void> {
    await writeFile(
      this.config,
      [
        `Port ${this.port}`,
        `ListenAddress ${this.address}`,
        ...this.keys.map((k) => `HostKey ${k.file}`),
        `PidFile ${path.join(this.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${this.shared.authorizedKeys}`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowTcpForwarding yes',
        'Subsystem sftp internal-sftp',
        'MaxStartups 100:30:200',
        'LogLevel VERBOSE',
        // bash sources ~/.bashrc for every SSH command when SHLVL < 2; this machine's user's bashrc (pyenv
        // init here) is no part of a simulated host and would add ~150 ms to each command.
        'SetEnv SHLVL=1',
        '',
      ].join('\n'),
    );
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(SSHD, ['-D', '-e', '-f', this.config], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    live.add(child);
    this.child = child;
    try {
      await waitForBanner(this.port, child);
    } catch (e) {
      await this.stop();
      const tail = (await readFile(this.logFile, 'utf8').catch(() => '')).slice(-2000);
      throw new Error(
        `sshd ${this.name} did not start on port ${this.port}: ${(e as Error).message}\n${tail}`,
      );
    }
  }
}

/** Resolves once the port answers with an SSH banner; rejects if sshd exits first or 10 s pass. */
async function waitForBanner(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(1_000);
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString('latin1').startsWith('SSH-'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('no SSH banner within 10 s');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every descendant pid of `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Unmounts anything a test mounted below `dir` (e.g. a small tmpfs to fill a disk), deepest first. */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => m?.startsWith(`${dir}/`) === true)
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
}
