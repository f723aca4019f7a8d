/** One SSH connection per host: opened lazily, host key verified, reused for every channel, re-opened only after a loss. */

import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { SlipwayError } from '../../core/errors.js';
import type { SecretSource, SshJumpSpec, SshTargetSpec } from '../../core/process.js';
import {
  checkHostKey,
  fingerprint,
  type HostKeyVerdict,
  type KnownHostEntry,
  keyTypeOf,
  knownHostName,
  knownHostsLine,
  knownKeyTypes,
  parseKnownHosts,
} from './known-hosts.js';

/** Time between keepalive probes; a host that answers none of KEEPALIVE_COUNT_MAX in a row is gone. @default 15000 */
export const KEEPALIVE_INTERVAL_MS = 15_000;
/** @default 3 */
export const KEEPALIVE_COUNT_MAX = 3;

/** Tuning that is not part of the process file (tests shorten the keepalive to see a frozen host quickly). */
export interface SshConnectionOptions {
  /** @default KEEPALIVE_INTERVAL_MS */
  readonly keepaliveIntervalMs?: number;
  /** @default KEEPALIVE_COUNT_MAX */
  readonly keepaliveCountMax?: number;
}
/**
 * Channels open at once on one connection. sshd refuses more than `MaxSessions` (10 by default); two stay free
 * for the kill commands that stop timed-out or aborted commands. @default 8
 */
export const MAX_CHANNELS = 8;

/** Host key algorithms ssh2 speaks, in the order asked for when known_hosts has no preference for the host. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/** Where OpenSSH looks when no file is configured; new keys go to the first. */
export function defaultKnownHostsFiles(): string[] {
  return [path.join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** `user@host:port`: how every message names the host. */
export function sshLabel(user: string, address: string, port: number): string {
  return `${user}@${address}:${port}`;
}

/** The login user when the spec leaves it out. */
export function defaultSshUser(): string {
  return process.env.USER ?? userInfo().username;
}

interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly identityFile?: string | undefined;
}

/**
 * The connection of one SSH target. `client()` connects on first use and hands back the same client until
 * it is lost (host died, network cut); only then does the next call connect again.
 */
export class SshConnection {
  readonly label: string;
  /** Successful logins so far (tests check that many commands share one). */
  connects = 0;
  private current: Promise<Client> | null = null;
  private jumpClient: Client | null = null;
  private sftpSession: Promise<SFTPWrapper> | null = null;
  /** Why the live connection ended, while channels may still be waiting on it. */
  private lostReason: string | null = null;
  private closed = false;
  /** The client of the current connection, once logged in. */
  private live: Client | null = null;
  private readonly slots = new Semaphore(MAX_CHANNELS);

  constructor(
    private readonly spec: SshTargetSpec,
    private readonly options: SshConnectionOptions = {},
  ) {
    this.label = sshLabel(spec.user, spec.address, spec.port);
  }

  /** The live client, connecting (once, however many callers wait) when there is none. */
  async client(signal?: AbortSignal): Promise<Client> {
    signal?.throwIfAborted();
    if (this.closed) {
      throw new SlipwayError('SLW_INTERNAL', `SSH target ${this.label} was used after close()`);
    }
    if (this.current === null) {
      const connecting = this.connect();
      this.current = connecting;
      connecting.catch(() => {
        if (this.current === connecting) this.current = null;
      });
    }
    return await abortable(this.current, signal);
  }

  /**
   * Opens an exec channel for `command` (a complete remote shell command line). Waits for a free channel slot
   * unless `urgent` (kill commands must get through while every slot is busy). sshd refusing a session
   * because it counts one that is just closing (MaxSessions) is retried for a few seconds.
   */
  async exec(command: string, signal: AbortSignal | undefined, urgent = false): Promise<OpenChannel> {
    const release = urgent ? () => undefined : await this.slots.acquire(signal);
    try {
      for (let attempt = 0; ; attempt++) {
        const client = await this.client(signal);
        try {
          return await new Promise<OpenChannel>((resolve, reject) => {
            client.exec(command, (err, ch) => {
              if (err) return reject(err);
              // Attached in this callback: the exit status may arrive in the same network read as the
              // channel's confirmation, before any promise continuation could attach a listener.
              const open = new OpenChannel(ch);
              ch.once('close', release);
              resolve(open);
            });
          });
        } catch (e) {
          const prohibited = (e as { reason?: number }).reason === 2;
          if (!prohibited || attempt >= 50) throw e;
          await sleep(20 + attempt * 10, signal);
        }
      }
    } catch (e) {
      release();
      if (e instanceof SlipwayError || signal?.aborted) throw e;
      throw this.lostError('open a channel for a command', e);
    }
  }

  /** The connection's SFTP session, opened once. */
  async sftp(signal?: AbortSignal): Promise<SFTPWrapper> {
    const client = await this.client(signal);
    if (this.sftpSession === null) {
      const opening = new Promise<SFTPWrapper>((resolve, reject) => {
        client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
      });
      this.sftpSession = opening;
      opening.then(
        (s) =>
          s.once('close', () => {
            if (this.sftpSession === opening) this.sftpSession = null;
          }),
        () => {
          if (this.sftpSession === opening) this.sftpSession = null;
        },
      );
    }
    try {
      return await abortable(this.sftpSession, signal);
    } catch (e) {
      if (e instanceof SlipwayError || signal?.aborted) throw e;
      throw new SlipwayError(
        'SLW_TARGET_FAILED',
        `${this.label}: cannot open an SFTP session: ${message(e)}`,
        {
          hint: 'the host\'s sshd must allow the sftp subsystem ("Subsystem sftp internal-sftp" or sftp-server)',
          cause: e,
        },
      );
    }
  }

  /** Forgets the SFTP session (before ending it to cancel a transfer): the next use opens a fresh one. */
  dropSftp(): void {
    this.sftpSession = null;
  }

  /** A clear error for a connection that broke while `what` was going on. */
  lostError(what: string, cause?: unknown): SlipwayError {
    const reason = this.lostReason ?? (cause === undefined ? 'the connection closed' : message(cause));
    return new SlipwayError(
      'SLW_TARGET_DISCONNECTED',
      `lost the SSH connection to ${this.label} while trying to ${what}: ${reason}`,
      {
        hint: 'the host may have rebooted, crashed or dropped off the network; check it, then deploy again (completed steps are not repeated)',
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }

  /** Whether the connection in use broke (the reason), or null. */
  get lost(): string | null {
    return this.lostReason;
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.current;
    this.current = null;
    const client = await pending?.catch(() => null);
    await endClient(client ?? null);
    await endClient(this.jumpClient);
    this.jumpClient = null;
  }

  // ───────────────────────────── connecting ─────────────────────────────

  private async connect(): Promise<Client> {
    const { spec } = this;
    let sock: Duplex | undefined;
    if (spec.jump) {
      await endClient(this.jumpClient);
      this.jumpClient = null;
      const jumpEndpoint: Endpoint = {
        ...spec.jump,
        identityFile: spec.jump.identityFile ?? spec.identityFile,
      };
      const jump = await connectEndpoint(
        spec,
        jumpEndpoint,
        undefined,
        `jump host ${labelOf(spec.jump)}`,
        this.options,
      );
      this.jumpClient = jump;
      try {
        sock = await new Promise<Duplex>((resolve, reject) => {
          jump.forwardOut('127.0.0.1', 0, spec.address, spec.port, (err, stream) =>
            err ? reject(err) : resolve(stream),
          );
        });
      } catch (e) {
        await endClient(jump);
        throw new SlipwayError(
          'SLW_TARGET_UNREACHABLE',
          `cannot reach ${this.label} through the jump host ${labelOf(spec.jump)}: ${message(e)}`,
          {
            hint: 'check the address and port as seen from the jump host, and that its sshd allows TCP forwarding (AllowTcpForwarding)',
            cause: e,
          },
        );
      }
    }
    const client = await connectEndpoint(spec, spec, sock, undefined, this.options);
    this.connects++;
    this.lostReason = null;
    this.live = client;
    const onGone = (why: string): void => {
      // A late event of an older connection must not throw away a newer one.
      if (this.live !== client) return;
      this.live = null;
      this.lostReason = why;
      this.current = null;
      this.sftpSession = null;
    };
    client.on('error', (e) => onGone(message(e)));
    client.on('close', () => onGone('the connection closed'));
    return client;
  }
}

function labelOf(j: SshJumpSpec): string {
  return sshLabel(j.user, j.address, j.port);
}

/** Connects and logs in to one endpoint (the target, or its jump host), verifying its host key first. */
async function connectEndpoint(
  spec: SshTargetSpec,
  endpoint: Endpoint,
  sock: Duplex | undefined,
  role: string | undefined,
  tuning: SshConnectionOptions,
): Promise<Client> {
  const label = sshLabel(endpoint.user, endpoint.address, endpoint.port);
  const who = role === undefined ? label : `${role} ${label}`;
  const files = spec.knownHosts === undefined ? defaultKnownHostsFiles() : [spec.knownHosts];
  const appendTo = files[0]!;
  const entries = await readKnownHosts(files);
  const name = knownHostName(endpoint.address, endpoint.port);
  const auth = await credentials(spec, endpoint, who);

  const check = new HostKeyCheck(entries, name, spec.acceptNewHosts);
  const config: ConnectConfig = {
    host: endpoint.address,
    port: endpoint.port,
    username: endpoint.user,
    ...auth,
    ...(sock === undefined ? {} : { sock }),
    readyTimeout: spec.connectTimeoutMs,
    keepaliveInterval: tuning.keepaliveIntervalMs ?? KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax: tuning.keepaliveCountMax ?? KEEPALIVE_COUNT_MAX,
    algorithms: { serverHostKey: hostKeyOrder(knownKeyTypes(entries, name)) },
    hostVerifier: (key: Buffer): boolean => check.verify(key),
  };

  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error & { level?: string; code?: string }): void => {
      client.removeListener('ready', onReady);
      client.end();
      reject(connectError(err, check.verdict, who, endpoint, spec, appendTo));
    };
    const onReady = (): void => {
      client.removeListener('error', onError);
      resolve();
    };
    client.once('ready', onReady);
    client.once('error', onError);
    try {
      client.connect(config);
    } catch (e) {
      // ssh2 throws synchronously for a key it cannot parse (e.g. encrypted without a passphrase).
      client.removeListener('error', onError);
      reject(
        new SlipwayError('SLW_AUTH_FAILED', `cannot use the private key for ${who}: ${message(e)}`, {
          hint: endpoint.identityFile
            ? `check ${endpoint.identityFile} (an encrypted key needs "passphrase: { env: VAR }")`
            : 'check the key settings',
          cause: e,
        }),
      );
    }
  });
  const accepted = check.accepted;
  if (accepted !== null)
    await recordHostKey(appendTo, name, accepted).catch(async (e: unknown) => {
      await endClient(client);
      throw e;
    });
  // Errors after login are reported by whoever uses the connection; without a listener they would crash us.
  client.on('error', () => undefined);
  return client;
}

/**
 * The host key check of one connection: known_hosts' verdict on the key the host offers, and that key pinned.
 * ssh2 asks again at every re-key; a host must keep offering the key the connection was verified with (as
 * OpenSSH requires), even where acceptNewHosts would let an unknown host's first key in.
 */
export class HostKeyCheck {
  /** What known_hosts said about the first key offered (for the error when it is refused). */
  verdict: (HostKeyVerdict & { offered: Buffer }) | null = null;
  /** The key let in as a new host's (acceptNewHosts), to record once logged in. */
  accepted: Buffer | null = null;
  private pinned: Buffer | null = null;

  constructor(
    private readonly entries: readonly KnownHostEntry[],
    private readonly name: string,
    private readonly acceptNew: boolean,
  ) {}

  verify(key: Buffer): boolean {
    if (this.pinned !== null) return this.pinned.equals(key);
    const v = checkHostKey(this.entries, this.name, key);
    this.verdict = { ...v, offered: key };
    const ok = v.status === 'known' || (v.status === 'unknown' && this.acceptNew);
    if (!ok) return false;
    this.pinned = key;
    if (v.status === 'unknown') this.accepted = key;
    return true;
  }
}

async function readKnownHosts(files: readonly string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw new SlipwayError('SLW_TARGET_FAILED', `cannot read known_hosts file ${file}: ${e.message}`, {
        hint: 'fix its permissions, or point "knownHosts" at another file',
        cause: e,
      });
    });
    all.push(...parseKnownHosts(text));
  }
  return all;
}

/**
 * Appends a newly accepted key (accept-new), unless another connection recorded it meanwhile. The host was
 * unknown when the handshake began; if another connection recorded a different key for it since (two targets on
 * one host, connecting at once), the file now says this key is not the host's: refused, never a second key.
 */
export async function recordHostKey(file: string, name: string, key: Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = await readFile(file, 'utf8').catch(() => '');
  const verdict = checkHostKey(parseKnownHosts(text), name, key);
  if (verdict.status === 'known') return;
  if (verdict.status !== 'unknown') {
    throw new SlipwayError(
      'SLW_HOST_KEY_CHANGED',
      `HOST KEY CHANGED for ${name}: it offered the ${keyTypeOf(key) ?? 'unknown'} key ${fingerprint(key)} as a new host, but ${file} now ${verdict.status === 'revoked' ? 'marks that key @revoked' : `expects ${verdict.expected.join(' or ')}`}`,
      {
        hint: `two connections to ${name} saw different keys: someone may be intercepting one of them. Verify the key with the host's owner before deploying`,
        details: { host: name, offered: fingerprint(key) },
      },
    );
  }
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${sep}${knownHostsLine(name, key)}\n`, { mode: 0o600 });
}

/** Asks first for the key types known_hosts holds for the host, so a known host is not taken for a changed one. */
function hostKeyOrder(known: readonly string[]): HostKeyAlgorithm[] {
  const preferred = new Set<HostKeyAlgorithm>();
  for (const type of known) {
    if (type === 'ssh-rsa')
      for (const a of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] as const) preferred.add(a);
    else if ((HOST_KEY_ALGORITHMS as readonly string[]).includes(type))
      preferred.add(type as HostKeyAlgorithm);
  }
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.has(a))];
}

async function credentials(
  spec: SshTargetSpec,
  endpoint: Endpoint,
  who: string,
): Promise<Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'agent'>> {
  const agent = spec.agent ?? process.env.SSH_AUTH_SOCK;
  if (endpoint.identityFile === undefined) {
    if (agent === undefined || agent === '') {
      throw new SlipwayError(
        'SLW_AUTH_FAILED',
        `no way to log in to ${who}: no identityFile and no SSH agent`,
        {
          hint: 'set "identityFile" to a private key, or start ssh-agent so SSH_AUTH_SOCK is set',
        },
      );
    }
    return { agent };
  }
  const file = expandHome(endpoint.identityFile);
  const privateKey = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new SlipwayError(
      'SLW_AUTH_FAILED',
      `cannot read the private key ${file} for ${who}: ${e.message}`,
      {
        hint: 'check "identityFile": the file must exist and be readable by the user running Slipway',
        cause: e,
      },
    );
  });
  const passphrase = spec.passphrase === undefined ? undefined : await readSecret(spec.passphrase, who);
  return {
    privateKey,
    ...(passphrase === undefined ? {} : { passphrase }),
    // The agent is offered too, as OpenSSH does, when one is explicitly configured.
    ...(spec.agent === undefined ? {} : { agent: spec.agent }),
  };
}

async function readSecret(source: SecretSource, who: string): Promise<string> {
  if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined) {
      throw new SlipwayError(
        'SLW_SECRET_MISSING',
        `the key passphrase for ${who} should be in $${source.env}, which is not set`,
        {
          hint: `export ${source.env} before running Slipway`,
        },
      );
    }
    return value;
  }
  try {
    return (await readFile(source.file, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    throw new SlipwayError(
      'SLW_SECRET_MISSING',
      `cannot read the key passphrase file ${source.file} for ${who}`,
      {
        hint: 'check the "passphrase: { file }" setting',
        cause: e,
      },
    );
  }
}

export function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? path.join(homedir(), p.slice(2)) : p;
}

/** Turns what ssh2 reports into the error a person can act on. */
function connectError(
  err: Error & { level?: string; code?: string },
  verdict: (HostKeyVerdict & { offered: Buffer }) | null,
  who: string,
  endpoint: Endpoint,
  spec: SshTargetSpec,
  knownHostsFile: string,
): SlipwayError {
  const { address, port } = endpoint;
  if (
    verdict !== null &&
    verdict.status !== 'known' &&
    !(verdict.status === 'unknown' && spec.acceptNewHosts)
  ) {
    const offered = `${keyTypeOf(verdict.offered) ?? 'unknown'} key ${fingerprint(verdict.offered)}`;
    const scan = `ssh-keyscan -p ${port} ${address} >> ${knownHostsFile}`;
    if (verdict.status === 'unknown') {
      return new SlipwayError(
        'SLW_HOST_KEY_UNKNOWN',
        `${who} is not in ${knownHostsFile}; it offered the ${offered}`,
        {
          hint: `check the fingerprint with the host's owner (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on it), then add it: ${scan} — or set "acceptNewHosts: true" to record new hosts on first contact`,
          details: { host: address, port, offered: fingerprint(verdict.offered) },
        },
      );
    }
    if (verdict.status === 'revoked') {
      return new SlipwayError(
        'SLW_HOST_KEY_CHANGED',
        `${who} offered the ${offered}, which known_hosts marks @revoked`,
        {
          hint: 'the host is using a key that was withdrawn: do not deploy to it until its owner fixed it',
          details: { host: address, port, offered: fingerprint(verdict.offered) },
        },
      );
    }
    return new SlipwayError(
      'SLW_HOST_KEY_CHANGED',
      `HOST KEY CHANGED for ${who} (host ${address}, port ${port}): known_hosts expects ${verdict.expected.join(' or ')}, the host offered the ${offered}`,
      {
        hint: `someone may be intercepting the connection, or the host was reinstalled. Verify the new key with the host's owner; only then remove the old entry (ssh-keygen -R "${knownHostName(address, port)}" -f ${knownHostsFile}) and add the new one`,
        details: { host: address, port, expected: verdict.expected, offered: fingerprint(verdict.offered) },
      },
    );
  }
  if (err.level === 'client-authentication') {
    const how =
      endpoint.identityFile === undefined ? "the SSH agent's keys" : `the key ${endpoint.identityFile}`;
    return new SlipwayError('SLW_AUTH_FAILED', `${who} refused the login of "${endpoint.user}" with ${how}`, {
      hint: `add the matching public key to ~${endpoint.user}/.ssh/authorized_keys on the host, or fix "user"/"identityFile"`,
      cause: err,
    });
  }
  const code = err.code;
  const reason =
    err.level === 'client-timeout'
      ? `no SSH handshake within ${spec.connectTimeoutMs} ms`
      : code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'unknown host name'
          : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
            ? 'no route to the host'
            : code === 'ETIMEDOUT'
              ? 'connection timed out'
              : err.message;
  return new SlipwayError('SLW_TARGET_UNREACHABLE', `cannot reach ${who}: ${reason}`, {
    hint: `check that the host is up, sshd listens on port ${port}, and nothing (firewall, address, port) blocks the way`,
    cause: err,
    details: { host: address, port },
  });
}

async function endClient(client: Client | null): Promise<void> {
  if (client === null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, 1_000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** An exec channel with its exit status captured from the moment it opened. */
export class OpenChannel {
  /** null until the command exited. */
  exit: { readonly code: number | null; readonly signal: string | null } | null = null;
  private listeners: (() => void)[] = [];

  constructor(readonly channel: ClientChannel) {
    channel.once('exit', (code: number | null, sig?: string) => {
      this.exit = {
        code: typeof code === 'number' ? code : null,
        signal: typeof sig === 'string' ? (sig.startsWith('SIG') ? sig : `SIG${sig}`) : null,
      };
      for (const l of this.listeners.splice(0)) l();
    });
  }

  /** Calls `listener` once the command exited (at once if it already has). */
  onExit(listener: () => void): void {
    if (this.exit !== null) listener();
    else this.listeners.push(listener);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for `promise` unless `signal` fires first (the underlying work goes on, shared with other callers). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** A counting semaphore with abortable waits. */
class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return () => this.release();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.waiting = this.waiting.filter((w) => w !== grant);
        reject(signal?.reason);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return () => this.release();
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
