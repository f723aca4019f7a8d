/** The Target for a folder on this machine: releases unpacked side by side, `current` switched by an atomic rename. */

import type { Stats } from 'node:fs';
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  symlink,
} from 'node:fs/promises';
import path from 'node:path';
import { isSlipwayError, SlipwayError } from '../../core/errors.js';
import type { ExecOptions, ExecResult, Target, TargetLayout } from '../../core/ports.js';
import type { CommandSpec } from '../../core/process.js';
import { verifyArtifact } from '../artifact-check.js';
import { execLocal } from '../local-exec.js';
import { expectedSha256, parseReleaseMarker, type ReleaseMarker } from '../release-marker.js';
import { assertReleaseName, isReleaseName } from '../release-name.js';
import { extractArchive, inspectArchive } from '../safe-archive.js';
import { fsyncPath, fsyncTree, randomSuffix, writeNewFileDurably } from './local-durable.js';

/**
 * Written last into a release folder, before the folder gets its final name: a `releases/<name>` with a
 * valid marker is complete. It records the artifact's SHA-256 (for reuse) and the install time (for order).
 */
export const RELEASE_MARKER = '.slipway-release';

/** Work folders in `releases/` (unpacking, being deleted) start with this; they are never releases. */
export const TMP_PREFIX = '.tmp-';

/** Leftover work folders and links older than this are swept by `pruneReleases`. */
export const STALE_TMP_MS = 60_000;

/** Folders: owner and group only, since `shared/` and config files may hold secrets. */
const DIR_MODE = 0o750;
/** Files written by `writeReleaseFile` (configuration, possibly with secrets). */
const FILE_MODE = 0o640;

export function createLocalTarget(root: string): LocalTarget {
  return new LocalTarget(root);
}

export class LocalTarget implements Target {
  readonly description: string;
  readonly layout: TargetLayout;

  constructor(root: string) {
    const abs = path.resolve(root);
    this.layout = Object.freeze({
      root: abs,
      releases: path.join(abs, 'releases'),
      current: path.join(abs, 'current'),
      shared: path.join(abs, 'shared'),
    });
    this.description = `local:${abs}`;
  }

  async prepare(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.fs('prepare', this.layout.root, async () => {
      for (const dir of [this.layout.root, this.layout.releases, this.layout.shared]) {
        await mkdir(dir, { recursive: true, mode: DIR_MODE });
      }
    });
  }

  /** Runs on this machine (see `execLocal`). A relative or missing `cwd` is taken from the target root. */
  async exec(command: CommandSpec, options: ExecOptions): Promise<ExecResult> {
    return await execLocal(command, { ...options, cwd: path.resolve(this.layout.root, options.cwd ?? '.') });
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
    const existing = await this.fs('read release', dir, () => readMarker(dir));
    if (existing) {
      if (existing.sha256 === expected) return { dir, reused: true };
      throw new SlipwayError(
        'SLW_RELEASE_CHANGED',
        `release ${name} is already installed in ${dir} from an artifact with SHA-256 ${existing.sha256}, not ${expected}`,
        { hint: 'releases are immutable: give the new build a new release id' },
      );
    }

    // Everything about the artifact is checked before anything is written.
    await verifyArtifact(artifactPath, expected, signal, (e) =>
      wrapFsError('read artifact', artifactPath, e),
    );
    const summary = await inspectArchive(artifactPath, signal);

    const tmp = path.join(this.layout.releases, `${TMP_PREFIX}${name}-${randomSuffix()}`);
    try {
      await this.fs('install release', tmp, async () => {
        await mkdir(this.layout.releases, { recursive: true, mode: DIR_MODE });
        await mkdir(tmp, { mode: DIR_MODE });
      });
      // The bytes are hashed again while unpacking, in case the file changed since it was verified.
      await extractArchive(artifactPath, tmp, { sha256: expected, ...(signal ? { signal } : {}) });
      await this.fs('install release', tmp, async () => {
        // The name is reserved: whatever the archive put there is not a marker Slipway wrote.
        await rm(path.join(tmp, RELEASE_MARKER), { recursive: true, force: true });
        // Flushed before the marker, so the marker (and then the rename) never gets to disk ahead of the files.
        await fsyncTree(tmp, signal);
        const marker: ReleaseMarker = {
          name,
          sha256: expected,
          installedAt: new Date().toISOString(),
          ...summary,
        };
        await writeNewFileDurably(path.join(tmp, RELEASE_MARKER), `${JSON.stringify(marker)}\n`, FILE_MODE);
        await fsyncPath(tmp);
      });
      signal?.throwIfAborted();
      const reused = await this.publish(tmp, dir, name, expected);
      return { dir, reused };
    } finally {
      // After a successful rename `tmp` no longer exists; otherwise this removes the partial unpack.
      await rm(tmp, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
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
    const dir = await this.completeRelease(name, 'write into');
    const refuse = (why: string): SlipwayError =>
      new SlipwayError(
        'SLW_TARGET_FAILED',
        `cannot write ${JSON.stringify(relativePath)} into release ${name}: ${why}`,
        {
          hint: 'config destinations are paths relative to the release folder, without ".." leaving it',
        },
      );
    if (relativePath === '' || relativePath.includes('\0'))
      throw refuse('the path is empty or contains a NUL byte');
    if (path.isAbsolute(relativePath)) throw refuse('the path is absolute');
    const lexical = path.resolve(dir, relativePath);
    if (!isStrictlyInside(dir, lexical)) throw refuse('the path leaves the release folder');
    const segments = path.relative(dir, lexical).split(path.sep);
    const base = segments.pop()!;

    await this.fs('write release file', lexical, async () => {
      // Walk down with real paths, so a symlink in the release that points outside is caught before anything
      // is created through it (a plain `mkdir -p` would follow it).
      const realDir = await realpath(dir);
      let parent = realDir;
      for (const seg of segments) {
        const next = path.join(parent, seg);
        const st = await lstat(next).catch((e: NodeJS.ErrnoException) =>
          e.code === 'ENOENT' ? null : Promise.reject(e),
        );
        if (st === null) {
          await mkdir(next, { mode: DIR_MODE });
          parent = next;
        } else if (st.isSymbolicLink()) {
          parent = await realpath(next);
          if (!isInsideOrSame(realDir, parent))
            throw refuse(`"${seg}" is a symlink that leads outside the release`);
          if (!(await stat(parent)).isDirectory()) throw refuse(`"${seg}" is not a folder`);
        } else if (st.isDirectory()) {
          parent = next;
        } else {
          throw refuse(`"${seg}" is not a folder`);
        }
      }
      const final = path.join(parent, base);
      if (final === path.join(realDir, RELEASE_MARKER))
        throw refuse(`${RELEASE_MARKER} is reserved for Slipway`);
      const existing = await lstat(final).catch(() => null);
      if (existing?.isDirectory()) throw refuse('a folder of that name exists');
      // Temp file beside the destination (same file system), then rename: readers see the old or the new file.
      const tmp = path.join(parent, `.${base}.tmp-${randomSuffix()}`);
      try {
        await writeNewFileDurably(tmp, content, FILE_MODE);
        signal?.throwIfAborted();
        await rename(tmp, final);
      } finally {
        await rm(tmp, { force: true }).catch(() => undefined);
      }
      await fsyncPath(parent);
    });
  }

  async switchCurrent(name: string, signal?: AbortSignal): Promise<{ readonly previous: string | null }> {
    assertReleaseName(name);
    signal?.throwIfAborted();
    await this.completeRelease(name, 'switch to');
    const previous = await this.currentRelease(signal);
    const { root, current } = this.layout;
    const tmpLink = path.join(root, `current.tmp-${randomSuffix()}`);
    await this.fs('switch current', current, async () => {
      // Relative, so the tree keeps working when the root is moved or mounted elsewhere.
      await symlink(path.posix.join('releases', name), tmpLink);
      try {
        // rename(2) replaces `current` in one step: a reader sees the old release or the new one, never nothing.
        await rename(tmpLink, current);
      } catch (e) {
        await rm(tmpLink, { force: true }).catch(() => undefined);
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
          throw new SlipwayError(
            'SLW_TARGET_FAILED',
            `cannot switch ${current}: it is a folder, not a symlink`,
            {
              hint: `move ${current} away once; Slipway manages it as a symlink to releases/<name>`,
              cause: e,
            },
          );
        }
        throw e;
      }
      await fsyncPath(root);
    });
    return { previous };
  }

  /** The release `current` links to, or null when there is no `current` or it links outside `releases/`. */
  async currentRelease(signal?: AbortSignal): Promise<string | null> {
    signal?.throwIfAborted();
    const { root, releases, current } = this.layout;
    let target: string;
    try {
      target = await readlink(current);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EINVAL') {
        throw new SlipwayError('SLW_TARGET_FAILED', `${current} is not a symlink`, {
          hint: `move ${current} away once; Slipway manages it as a symlink to releases/<name>`,
          cause: e,
        });
      }
      throw wrapFsError('read current', current, e);
    }
    const abs = path.resolve(root, target);
    const name = path.basename(abs);
    return path.dirname(abs) === releases && isReleaseName(name) ? name : null;
  }

  /**
   * Complete releases (with a valid marker), oldest first by the install time recorded in the marker
   * (ties by name). Reusing a release does not make it newer; work folders and incomplete ones are left out.
   */
  async listReleases(signal?: AbortSignal): Promise<readonly string[]> {
    signal?.throwIfAborted();
    const { releases } = this.layout;
    return await this.fs('list releases', releases, async () => {
      const dirents = await readdir(releases, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) =>
        e.code === 'ENOENT' ? [] : Promise.reject(e),
      );
      const found: { name: string; installedAt: string }[] = [];
      for (const d of dirents) {
        // Dirent does not follow symlinks: a symlink in releases/ is never taken for a release.
        if (!d.isDirectory() || !isReleaseName(d.name)) continue;
        const marker = await readMarker(path.join(releases, d.name));
        if (marker) found.push({ name: d.name, installedAt: marker.installedAt });
      }
      found.sort((a, b) =>
        a.installedAt === b.installedAt
          ? compareStrings(a.name, b.name)
          : compareStrings(a.installedAt, b.installedAt),
      );
      return found.map((r) => r.name);
    });
  }

  /**
   * Deletes the oldest complete releases so that only the newest `keep` remain, except the one `current`
   * links to and those in `protect`, which always stay (so up to keep + 1 + protect.length remain).
   * Also sweeps work folders and switch links left by crashed runs (older than STALE_TMP_MS).
   * Returns the deleted release names, oldest first.
   */
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
    const doomed = all.slice(0, Math.max(0, all.length - keep)).filter((name) => !stays.has(name));
    const deleted: string[] = [];
    for (const name of doomed) {
      signal?.throwIfAborted();
      const dir = this.releaseDir(name);
      await this.fs('prune release', dir, async () => {
        // Renamed out of the way first: deleting in place could crash half-way and leave a folder that
        // still has its marker, i.e. looks complete.
        const aside = path.join(this.layout.releases, `${TMP_PREFIX}${name}-pruned-${randomSuffix()}`);
        await rename(dir, aside);
        await rm(aside, { recursive: true, force: true, maxRetries: 3 });
      });
      deleted.push(name);
    }
    await this.sweepLeftovers(signal);
    return deleted;
  }

  async close(): Promise<void> {}

  // ───────────────────────────── internals ─────────────────────────────

  private releaseDir(name: string): string {
    return path.join(this.layout.releases, name);
  }

  /** The folder of a complete release, or SLW_TARGET_FAILED. */
  private async completeRelease(name: string, action: string): Promise<string> {
    const dir = this.releaseDir(name);
    const marker = await this.fs('read release', dir, () => readMarker(dir));
    if (!marker) {
      throw new SlipwayError(
        'SLW_TARGET_FAILED',
        `cannot ${action} release ${name}: it is not installed in ${this.layout.releases}`,
        {
          hint: 'install it first (the release step does)',
        },
      );
    }
    return dir;
  }

  /**
   * Gives the unpacked `tmp` its final name. A leftover `releases/<name>` without a valid marker (from a
   * crash of an older version, or made by hand) is moved aside first; one that became complete meanwhile
   * (another process installed the same release) is reused. Returns whether it was reused.
   */
  private async publish(tmp: string, dir: string, name: string, sha256: string): Promise<boolean> {
    return await this.fs('install release', dir, async () => {
      const stale = await lstat(dir).catch(() => null);
      if (stale !== null && (await readMarker(dir)) === null) {
        if ((await this.currentRelease()) === name) {
          throw new SlipwayError(
            'SLW_TARGET_FAILED',
            `${dir} is incomplete but current links to it; not replacing it`,
            {
              hint: `inspect ${dir}, then move it away and deploy again`,
            },
          );
        }
        const aside = path.join(this.layout.releases, `${TMP_PREFIX}${name}-stale-${randomSuffix()}`);
        await rename(dir, aside);
        await rm(aside, { recursive: true, force: true, maxRetries: 3 });
      }
      try {
        await rename(tmp, dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const winner = code === 'ENOTEMPTY' || code === 'EEXIST' ? await readMarker(dir) : null;
        if (winner?.sha256 === sha256) return true;
        if (winner) {
          throw new SlipwayError(
            'SLW_RELEASE_CHANGED',
            `release ${name} was installed meanwhile from different bytes`,
            {
              hint: 'releases are immutable: give the new build a new release id',
            },
          );
        }
        throw e;
      }
      await fsyncPath(this.layout.releases);
      return false;
    });
  }

  private async sweepLeftovers(signal?: AbortSignal): Promise<void> {
    const cutoff = Date.now() - STALE_TMP_MS;
    const sweep = async (dir: string, prefix: string): Promise<void> => {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const entry of names) {
        if (!entry.startsWith(prefix)) continue;
        signal?.throwIfAborted();
        const full = path.join(dir, entry);
        const st: Stats | null = await lstat(full).catch(() => null);
        // An install in progress in another process keeps touching its folder; an abandoned one does not.
        if (st !== null && st.mtimeMs < cutoff)
          await rm(full, { recursive: true, force: true, maxRetries: 3 });
      }
    };
    await this.fs('sweep leftovers', this.layout.releases, async () => {
      await sweep(this.layout.releases, TMP_PREFIX);
      await sweep(this.layout.root, 'current.tmp-');
    });
  }

  /** Runs a file-system operation, turning raw errors (EACCES, ENOSPC, ...) into SLW_TARGET_FAILED. */
  private async fs<T>(operation: string, where: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw wrapFsError(operation, where, e);
    }
  }
}

/** The marker of a complete release, or null (no folder, no marker, unreadable or malformed marker). */
async function readMarker(dir: string): Promise<ReleaseMarker | null> {
  const file = path.join(dir, RELEASE_MARKER);
  try {
    const [dirStat, st] = await Promise.all([lstat(dir), lstat(file)]);
    if (!dirStat.isDirectory() || !st.isFile()) return null;
    return parseReleaseMarker(await readFile(file, 'utf8'), path.basename(dir));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** System errors (they carry a `syscall`) become SLW_TARGET_FAILED; anything else (aborts, our own errors) passes. */
function wrapFsError(operation: string, where: string, e: unknown): unknown {
  if (isSlipwayError(e) || !(e instanceof Error) || !('syscall' in e)) return e;
  const reason = e.message;
  const { code } = e as NodeJS.ErrnoException;
  return new SlipwayError('SLW_TARGET_FAILED', `${operation} failed at ${where}: ${reason}`, {
    hint:
      code === 'ENOSPC'
        ? 'the disk is full: free space (e.g. prune old releases) and retry'
        : code === 'EACCES' || code === 'EPERM'
          ? 'Slipway needs write access to the target root'
          : 'check the target folder',
    cause: e,
  });
}

function isStrictlyInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

function isInsideOrSame(parent: string, child: string): boolean {
  return parent === child || isStrictlyInside(parent, child);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
