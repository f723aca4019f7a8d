/** The Target for a host reached over SSH: the local target's layout and guarantees, driven through one connection. */

import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { ExecOptions, ExecResult, Target, TargetLayout } from '../../core/ports.js';
import type { CommandSpec, SshTargetSpec } from '../../core/process.js';
import { verifyArtifact } from '../artifact-check.js';
import { expectedSha256, parseReleaseMarker, type ReleaseMarker } from '../release-marker.js';
import { assertReleaseName, isReleaseName } from '../release-name.js';
import { type ArchiveSummary, inspectArchive } from '../safe-archive.js';
import { SshConnection, type SshConnectionOptions } from './ssh-connection.js';
import { execRemote, RemoteKiller } from './ssh-exec.js';
import {
  FREE_SPACE,
  INSTALL,
  LIST,
  MARKER,
  PREPARE,
  PRUNE,
  READ_CURRENT,
  READ_MARKER,
  REMOVE,
  ScriptExit,
  SWITCH,
  WRITE_FILE,
} from './ssh-scripts.js';

/** Time allowed to one housekeeping script (not a user command); an abort signal can stop it sooner. @default 600000 */
export const SCRIPT_TIMEOUT_MS = 600_000;

/** Work files in `releases/`: uploads being verified and folders being unpacked. Never releases (they start with "."). */
export const INCOMING_PREFIX = '.incoming-';
export const TMP_PREFIX = '.tmp-';

/** Enough for listing thousands of release markers. */
const SCRIPT_OUTPUT_BYTES = 8 * 1024 * 1024;

/** Rejects values that could be read as an option or carry control characters, before anything connects. */
export function validateSshSpec(spec: SshTargetSpec): void {
  const bad = (key: string, value: string, why: string): SlipwayError =>
    new SlipwayError('SLW_USAGE', `ssh target: ${key} ${JSON.stringify(value)} ${why}`, {
      hint: `fix "${key}" in the process file`,
    });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  const unsafe = /[\s\x00-\x1f\x7f]/;
  for (const [key, value] of [
    ['address', spec.address],
    ['user', spec.user],
    ...(spec.jump
      ? [['jump.address', spec.jump.address] as const, ['jump.user', spec.jump.user] as const]
      : []),
  ] as const) {
    if (value === '') throw bad(key, value, 'is empty');
    if (value.startsWith('-')) throw bad(key, value, 'starts with "-" (it would be read as an option)');
    if (unsafe.test(value)) throw bad(key, value, 'contains whitespace or control characters');
  }
  if (!spec.root.startsWith('/')) throw bad('root', spec.root, 'is not an absolute path');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(spec.root)) throw bad('root', spec.root, 'contains control characters');
  for (const [key, port] of [
    ['port', spec.port],
    ...(spec.jump ? [['jump.port', spec.jump.port] as const] : []),
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      throw bad(key, String(port), 'is not a port (1–65535)');
  }
}

export function createSshTarget(spec: SshTargetSpec, options: SshConnectionOptions = {}): SshTarget {
  return new SshTarget(spec, options);
}

export class SshTarget implements Target {
  readonly description: string;
  readonly layout: TargetLayout;
  /** The host's connection; exposed for tests (`connects`) and the fleet's progress display (`label`). */
  readonly connection: SshConnection;
  private readonly killer: RemoteKiller;

  constructor(spec: SshTargetSpec, options: SshConnectionOptions = {}) {
    validateSshSpec(spec);
    const root = path.posix.normalize(spec.root).replace(/(.)\/$/, '$1');
    this.layout = Object.freeze({
      root,
      releases: path.posix.join(root, 'releases'),
      current: path.posix.join(root, 'current'),
      shared: path.posix.join(root, 'shared'),
    });
    this.connection = new SshConnection(spec, options);
    this.killer = new RemoteKiller(this.connection);
    this.description = `ssh:${this.connection.label}${root}`;
  }

  async prepare(signal?: AbortSignal): Promise<void> {
    const { root, releases, shared } = this.layout;
    const r = await this.script(PREPARE, [root, releases, shared], signal);
    this.expectOk(r, `create ${root}`);
  }

  /** Runs on the host (see `execRemote`). A relative or missing `cwd` is taken from the target root. */
  async exec(command: CommandSpec, options: ExecOptions): Promise<ExecResult> {
    return await execRemote(this.connection, this.killer, command, {
      ...options,
      cwd: path.posix.resolve(this.layout.root, options.cwd ?? '.'),
    });
  }

  async installRelease(
    artifactPath: string,
    sha256: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<{ readonly dir: string; readonly reused: boolean }> {
    assertReleaseName(name);
    const expected = expectedSha256(sha256);
    signal?.throwIfAborted();
    const dir = this.releaseDir(name);
    const existing = await this.readMarker(dir, signal);
    if (existing) return { dir, reused: this.sameRelease(existing, expected, name, dir) };

    // Everything about the artifact is checked on this machine before a byte goes to the host.
    const { size, summary } = await checkArtifact(artifactPath, expected, signal);

    await this.prepare(signal);
    const suffix = randomBytes(6).toString('hex');
    const incoming = path.posix.join(this.layout.releases, `${INCOMING_PREFIX}${name}-${suffix}.tar.gz`);
    const tmp = path.posix.join(this.layout.releases, `${TMP_PREFIX}${name}-${suffix}`);
    try {
      await this.upload(artifactPath, incoming, size, signal);
      const marker: ReleaseMarker = {
        name,
        sha256: expected,
        installedAt: new Date().toISOString(),
        ...summary,
      };
      const r = await this.script(
        INSTALL,
        [incoming, tmp, dir, expected, JSON.stringify(marker), this.layout.current, name],
        signal,
      );
      if (r.exitCode === ScriptExit.exists) {
        const winner = parseReleaseMarker(r.output, path.posix.basename(dir));
        if (winner) return { dir, reused: this.sameRelease(winner, expected, name, dir) };
      }
      if (r.exitCode === ScriptExit.checksum) {
        throw new SlipwayError(
          'SLW_ARTIFACT_CHECKSUM',
          `the artifact uploaded to ${this.connection.label} has SHA-256 ${r.output.trim()}, expected ${expected}; nothing was unpacked`,
          { hint: 'the upload was corrupted or the file changed on the host; deploy again' },
        );
      }
      if (r.exitCode === ScriptExit.currentIsIncomplete) {
        throw new SlipwayError(
          'SLW_TARGET_FAILED',
          `${dir} on ${this.connection.label} is incomplete but current links to it; not replacing it`,
          {
            hint: `inspect ${dir} on the host, then move it away and deploy again`,
          },
        );
      }
      if (r.exitCode === ScriptExit.unpack) {
        // GNU tar reports ENOSPC as "Wrote only N of M bytes": the free space measured at the failure tells.
        const free = /free-kib:(\d+)/.exec(r.output);
        const freeKiB = free ? Number(free[1]) : null;
        const full = freeKiB !== null && freeKiB * 1024 < summary.bytes;
        this.expectOk(
          { ...r, output: r.output.replace(/\n?free-kib:\d*\n?/, '') },
          `unpack ${name} (${Math.ceil(summary.bytes / 1024)} KiB${freeKiB === null ? '' : `, ${freeKiB} KiB were free`}) into ${tmp}`,
          full,
        );
      }
      this.expectOk(r, `install release ${name} into ${dir}`);
      return { dir, reused: false };
    } finally {
      // After a successful rename `tmp` no longer exists; otherwise this removes the partial unpack. Not
      // tied to `signal`: an aborted install must still clean up.
      await this.script(REMOVE, [incoming, tmp], undefined, 60_000).catch(() => undefined);
    }
  }

  async writeReleaseFile(
    name: string,
    relativePath: string,
    content: string,
    signal?: AbortSignal,
  ): Promise<void> {
    assertReleaseName(name);
    signal?.throwIfAborted();
    const dir = this.releaseDir(name);
    const refuse = (why: string): SlipwayError =>
      new SlipwayError(
        'SLW_TARGET_FAILED',
        `cannot write ${JSON.stringify(relativePath)} into release ${name} on ${this.connection.label}: ${why}`,
        {
          hint: 'config destinations are paths relative to the release folder, without ".." leaving it',
        },
      );
    if (relativePath === '' || relativePath.includes('\0'))
      throw refuse('the path is empty or contains a NUL byte');
    if (path.posix.isAbsolute(relativePath)) throw refuse('the path is absolute');
    const lexical = path.posix.resolve(dir, relativePath);
    const rel = path.posix.relative(dir, lexical);
    if (rel === '' || rel === '..' || rel.startsWith('../'))
      throw refuse('the path leaves the release folder');
    const segments = rel.split('/');
    const base = segments.pop()!;
    const tmpName = `.${base}.tmp-${randomBytes(6).toString('hex')}`;
    // The content goes through stdin: it may hold secrets, which must not show up in the host's process list.
    const r = await this.script(
      WRITE_FILE,
      [dir, base, tmpName, ...segments],
      signal,
      SCRIPT_TIMEOUT_MS,
      content,
    );
    switch (r.exitCode) {
      case 0:
        return;
      case ScriptExit.notComplete:
        throw this.notInstalled(name, 'write into');
      case ScriptExit.escapes:
        throw refuse(`"${r.output}" is a symlink that leads outside the release`);
      case ScriptExit.notFolder:
        throw refuse(`"${r.output}" is not a folder`);
      case ScriptExit.reserved:
        throw refuse(`${MARKER} is reserved for Slipway`);
      case ScriptExit.isFolder:
        throw refuse('a folder of that name exists');
      default:
        this.expectOk(r, `write ${lexical}`);
    }
  }

  async switchCurrent(name: string, signal?: AbortSignal): Promise<{ readonly previous: string | null }> {
    assertReleaseName(name);
    signal?.throwIfAborted();
    const { root, current } = this.layout;
    const tmpLink = path.posix.join(root, `current.tmp-${randomBytes(6).toString('hex')}`);
    const r = await this.script(SWITCH, [this.releaseDir(name), root, name, tmpLink], signal);
    if (r.exitCode === ScriptExit.notComplete) throw this.notInstalled(name, 'switch to');
    if (r.exitCode === ScriptExit.notSymlink) throw this.notSymlink(current);
    this.expectOk(r, `switch ${current}`);
    return { previous: r.output === '' ? null : this.releaseOfLink(r.output) };
  }

  async currentRelease(signal?: AbortSignal): Promise<string | null> {
    const { current } = this.layout;
    const r = await this.script(READ_CURRENT, [current], signal);
    if (r.exitCode === ScriptExit.notSymlink) throw this.notSymlink(current);
    this.expectOk(r, `read ${current}`);
    if (!r.output.startsWith('link:')) return null;
    return this.releaseOfLink(r.output.slice('link:'.length).replace(/\n$/, ''));
  }

  /** Complete releases, oldest first by the install time in their marker (ties by name), as the local target. */
  async listReleases(signal?: AbortSignal): Promise<readonly string[]> {
    const { releases } = this.layout;
    const r = await this.script(LIST, [releases], signal);
    this.expectOk(r, `list ${releases}`);
    const parts = r.output.split('\0');
    const found: { name: string; installedAt: string }[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const name = parts[i]!;
      if (!isReleaseName(name)) continue;
      const marker = parseReleaseMarker(parts[i + 1]!, name);
      if (marker) found.push({ name, installedAt: marker.installedAt });
    }
    found.sort((a, b) =>
      a.installedAt === b.installedAt ? compare(a.name, b.name) : compare(a.installedAt, b.installedAt),
    );
    return found.map((f) => f.name);
  }

  async pruneReleases(
    keep: number,
    protect: readonly string[],
    signal?: AbortSignal,
  ): Promise<readonly string[]> {
    if (!Number.isInteger(keep) || keep < 0) {
      throw new SlipwayError('SLW_INTERNAL', `pruneReleases: keep must be a whole number ≥ 0, got ${keep}`);
    }
    const all = await this.listReleases(signal);
    const current = await this.currentRelease(signal);
    const stays = new Set([...protect, ...(current === null ? [] : [current])]);
    const doomed = all.slice(0, Math.max(0, all.length - keep)).filter((n) => !stays.has(n));
    // Renamed out of the way first: deleting in place could stop half-way and leave a folder that still
    // has its marker, i.e. looks complete.
    const pairs = doomed.flatMap((n) => [
      this.releaseDir(n),
      path.posix.join(this.layout.releases, `${TMP_PREFIX}${n}-pruned-${randomBytes(6).toString('hex')}`),
    ]);
    const r = await this.script(PRUNE, [this.layout.releases, this.layout.root, ...pairs], signal);
    this.expectOk(r, `prune releases in ${this.layout.releases}`);
    return doomed;
  }

  /**
   * Stops process groups left on the host by an earlier runner (pgids reported by `onSpawn` of this host's
   * commands): SIGTERM, then SIGKILL after the grace period. A takeover must use this, never a local kill:
   * the numbers are the host's, not this machine's.
   */
  async stopProcessGroups(pgids: readonly number[], signal?: AbortSignal): Promise<void> {
    for (const pgid of pgids) {
      if (!Number.isInteger(pgid) || pgid <= 1) continue;
      signal?.throwIfAborted();
      this.killer.terminate(pgid);
    }
    await this.killer.flushAfterGrace(signal);
  }

  async close(): Promise<void> {
    await this.killer.flush();
    await this.connection.close();
  }

  // ───────────────────────────── internals ─────────────────────────────

  private releaseDir(name: string): string {
    return path.posix.join(this.layout.releases, name);
  }

  /** Runs one of the constant scripts with its arguments as positional parameters. */
  private async script(
    script: string,
    args: readonly string[],
    signal: AbortSignal | undefined,
    timeoutMs = SCRIPT_TIMEOUT_MS,
    stdin?: string,
  ): Promise<ExecResult> {
    const r = await execRemote(
      this.connection,
      this.killer,
      { argv: ['/bin/sh', '-c', script, 'slipway', ...args] },
      {
        cwd: '/',
        timeoutMs,
        maxOutputBytes: SCRIPT_OUTPUT_BYTES,
        ...(signal ? { signal } : {}),
        ...(stdin === undefined ? {} : { stdin }),
      },
    );
    if (r.timedOut) {
      throw new SlipwayError(
        'SLW_TARGET_FAILED',
        `a file operation on ${this.connection.label} took longer than ${timeoutMs} ms and was stopped`,
        {
          hint: 'the host may be overloaded or its disk stuck; check it',
        },
      );
    }
    return r;
  }

  private expectOk(r: ExecResult, what: string, diskFull = false): void {
    if (r.exitCode === 0) return;
    const output = r.output.trim().slice(-1000);
    const full = diskFull || /No space left on device|Disk quota exceeded/i.test(output);
    throw new SlipwayError(
      'SLW_TARGET_FAILED',
      `${what} failed on ${this.connection.label}${full ? ': the disk is full' : ''} (exit ${r.exitCode ?? r.signal})${output ? `: ${output}` : ''}`,
      {
        hint: full
          ? 'free space on the host (e.g. prune old releases, or grow the file system) and deploy again'
          : "check the target folder on the host and the login user's permissions there",
      },
    );
  }

  private async readMarker(dir: string, signal: AbortSignal | undefined): Promise<ReleaseMarker | null> {
    const r = await this.script(READ_MARKER, [dir], signal);
    this.expectOk(r, `read ${dir}`);
    return r.output.startsWith('marker\n')
      ? parseReleaseMarker(r.output.slice('marker\n'.length), path.posix.basename(dir))
      : null;
  }

  private sameRelease(existing: ReleaseMarker, expected: string, name: string, dir: string): true {
    if (existing.sha256 === expected) return true;
    throw new SlipwayError(
      'SLW_RELEASE_CHANGED',
      `release ${name} is already installed in ${dir} on ${this.connection.label} from an artifact with SHA-256 ${existing.sha256}, not ${expected}`,
      { hint: 'releases are immutable: give the new build a new release id' },
    );
  }

  /** Uploads once over SFTP (parallel requests); a failure says how much space the host has left. */
  private async upload(
    local: string,
    remote: string,
    size: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const sftp = await this.connection.sftp(signal);
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          // ssh2 cannot cancel one transfer; ending the SFTP session does (it is re-opened on next use).
          this.connection.dropSftp();
          sftp.end();
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        sftp.fastPut(local, remote, { mode: 0o600, concurrency: 64, chunkSize: 32_768 }, (err) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve();
        });
      });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (this.connection.lost !== null) throw this.connection.lostError(`upload ${local} to ${remote}`, e);
      const free = await this.script(FREE_SPACE, [path.posix.dirname(remote)], undefined, 30_000).catch(
        () => null,
      );
      const freeKiB = free && /^\d+\s*$/.test(free.output) ? Number(free.output) : null;
      const full = freeKiB !== null && freeKiB * 1024 < size;
      throw new SlipwayError(
        'SLW_TARGET_FAILED',
        `uploading ${local} (${Math.ceil(size / 1024)} KiB) to ${remote} on ${this.connection.label} failed: ${e instanceof Error ? e.message : String(e)}${freeKiB === null ? '' : ` (${freeKiB} KiB free there)`}${full ? ': the disk is full' : ''}`,
        {
          hint: full
            ? 'free space on the host (e.g. prune old releases, or grow the file system) and deploy again'
            : "check the target folder on the host and the login user's permissions there",
          cause: e,
        },
      );
    }
  }

  /** The release a `current` link target names, or null when it points outside `releases/`. */
  private releaseOfLink(target: string): string | null {
    const abs = path.posix.resolve(this.layout.root, target);
    const name = path.posix.basename(abs);
    return path.posix.dirname(abs) === this.layout.releases && isReleaseName(name) ? name : null;
  }

  private notInstalled(name: string, action: string): SlipwayError {
    return new SlipwayError(
      'SLW_TARGET_FAILED',
      `cannot ${action} release ${name}: it is not installed in ${this.layout.releases} on ${this.connection.label}`,
      { hint: 'install it first (the release step does)' },
    );
  }

  private notSymlink(current: string): SlipwayError {
    return new SlipwayError(
      'SLW_TARGET_FAILED',
      `cannot switch ${current} on ${this.connection.label}: it is not a symlink`,
      {
        hint: `move ${current} away once; Slipway manages it as a symlink to releases/<name>`,
      },
    );
  }
}

/**
 * Artifacts already checked in this process, by path + size + mtime + SHA-256: a fleet installs the same
 * file on every host, and hashing and listing it once is enough. Safe because the host verifies the
 * SHA-256 of what it received before unpacking, so a file changed since its check is still refused.
 */
const checked = new Map<string, Promise<{ size: number; summary: ArchiveSummary }>>();
const CHECKED_MAX = 64;

async function checkArtifact(
  file: string,
  expected: string,
  signal: AbortSignal | undefined,
): Promise<{ size: number; summary: ArchiveSummary }> {
  const st = await stat(file).catch(() => null);
  const key = st === null ? null : `${file}\0${st.size}\0${st.mtimeMs}\0${expected}`;
  const known = key === null ? undefined : checked.get(key);
  if (known) return await known;
  const checking = (async () => {
    const size = await verifyArtifact(
      file,
      expected,
      signal,
      (e) =>
        new SlipwayError('SLW_TARGET_FAILED', `cannot read artifact ${file}: ${(e as Error).message}`, {
          cause: e,
        }),
    );
    return { size, summary: await inspectArchive(file, signal) };
  })();
  if (key !== null) {
    if (checked.size >= CHECKED_MAX) checked.delete(checked.keys().next().value as string);
    checked.set(key, checking);
    // Only successful checks are remembered.
    checking.catch(() => checked.delete(key));
  }
  return await checking;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
