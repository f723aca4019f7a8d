/** Release tarballs: checksum them, refuse any entry that could land outside the release folder, then unpack. */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry, Unpack } from 'tar';
import { SlipwayError } from '../core/errors.js';

export interface ArchiveSummary {
  /** Entries that would be extracted (files, folders, links). */
  readonly entries: number;
  /** Total size of the regular files, uncompressed. */
  readonly bytes: number;
}

/** SHA-256 of a file as lowercase hex, read as a stream. File-system errors (ENOENT, ...) are passed through. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, signal ? { signal } : {}), hash, signal ? { signal } : {});
  return hash.digest('hex');
}

/**
 * Lists the archive without writing anything and throws SLW_ARTIFACT_UNSAFE naming the first entry that
 * is absolute, has a `..` segment, is a device or FIFO, is a symlink or hard link whose target resolves
 * outside the archive root (absolute link targets included), would be written through a symlink, or is a
 * hard link to a symlink. Links are resolved as the archive's own symlinks make them resolve after
 * extraction, so a chain of individually harmless links cannot escape either. An unreadable or corrupt
 * archive throws SLW_TARGET_FAILED.
 */
export async function inspectArchive(file: string, signal?: AbortSignal): Promise<ArchiveSummary> {
  const listing = await listArchive(file, signal);
  const problem = findProblem(listing.entries) ?? listing.unsupported;
  if (problem) throw unsafe(file, problem);
  return { entries: listing.entries.length, bytes: listing.bytes };
}

export interface ExtractOptions {
  /** When given, the bytes read while extracting must hash to this, or SLW_ARTIFACT_CHECKSUM is thrown. */
  readonly sha256?: string;
  readonly signal?: AbortSignal;
}

/**
 * Extracts into `dir` (which must exist) with node-tar's protections on: `strict` (every warning is an
 * error), no absolute paths or `..`, no writing through symlinks, owners not preserved even as root.
 *
 * Symlinks are created last, by this function, after the bytes read have been checked against
 * `options.sha256` and the entries read have passed the same checks as `inspectArchive`. So nothing is
 * ever written through a link, and the links of a valid archive work whatever their order in it (node-tar
 * refuses a link whose target goes through a link it has already made, e.g. `libx.so -> libx.so.1`).
 *
 * Call `inspectArchive` first, so an unsafe archive is refused before anything is written. On failure
 * `dir` may hold part of the archive; the caller owns cleaning it up.
 */
export async function extractArchive(file: string, dir: string, options: ExtractOptions = {}): Promise<void> {
  const hash = createHash('sha256');
  const seen: ListedEntry[] = [];
  const unpack = new Unpack({
    cwd: dir,
    strict: true,
    preservePaths: false,
    // Slipway often runs as root: files must belong to it, not to whatever uid the archive names.
    preserveOwner: false,
    // Runs for every entry before it is written; returning false skips it.
    filter: (entryPath, entry) => {
      if (!('type' in entry)) return true; // a Stats (only when packing)
      seen.push({ path: entryPath, type: entry.type, linkpath: entry.linkpath });
      // Extracted as root, a setuid bit would make a setuid-root program of anything in the artifact.
      if (typeof entry.mode === 'number') entry.mode &= 0o777;
      return entry.type !== 'SymbolicLink';
    },
  });
  await runInto(file, unpack, hash, options.signal, `unpack archive ${file} into ${dir}`);
  if (options.sha256 !== undefined) {
    const actual = hash.digest('hex');
    // The file was read again; if it changed since it was checked and inspected, refuse what was read.
    if (actual !== options.sha256.toLowerCase()) {
      throw new SlipwayError(
        'SLW_ARTIFACT_CHECKSUM',
        `artifact ${file} changed while it was unpacked: expected SHA-256 ${options.sha256}, read ${actual}`,
        {
          hint: 'something is rewriting the artifact; build it once and leave it alone during the deployment',
        },
      );
    }
  }
  const problem = findProblem(seen);
  if (problem) throw unsafe(file, problem);
  for (const [linkPath, target] of finalSymlinks(seen)) {
    options.signal?.throwIfAborted();
    const at = path.join(dir, ...linkPath.split('/'));
    // Parents are real folders: an entry below a symlink was refused above.
    await mkdir(path.dirname(at), { recursive: true });
    await symlink(target, at);
  }
}

function unsafe(file: string, problem: Problem): SlipwayError {
  return new SlipwayError(
    'SLW_ARTIFACT_UNSAFE',
    `artifact ${file} is unsafe: entry "${problem.path}" ${problem.why}`,
    {
      hint: 'rebuild the tarball with paths relative to the release root and links that stay inside it',
      details: { entry: problem.path },
    },
  );
}

// ───────────────────────────── listing ─────────────────────────────

interface ListedEntry {
  readonly path: string;
  readonly type: string;
  readonly linkpath: string | undefined;
}

interface Problem {
  readonly path: string;
  readonly why: string;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const DIRECTORY_TYPES = new Set(['Directory', 'GNUDumpDir']);
const SPECIAL_TYPES = new Set(['CharacterDevice', 'BlockDevice', 'FIFO']);

async function listArchive(
  file: string,
  signal: AbortSignal | undefined,
): Promise<{ entries: ListedEntry[]; bytes: number; unsupported: Problem | undefined }> {
  const entries: ListedEntry[] = [];
  let bytes = 0;
  let unsupported: Problem | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry(entry: ReadEntry) {
      entries.push({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
      if (FILE_TYPES.has(entry.type)) bytes += entry.size;
      entry.resume();
    },
  });
  // node-tar skips unknown entry types (and oversized extended headers) without a word; extraction would
  // silently leave them out, so they make the artifact unfit too.
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    unsupported ??= { path: entry.path, why: `has an unsupported type (${entry.type})` };
  });
  await runInto(file, parser, undefined, signal, `read archive ${file}`);
  return { entries, bytes, unsupported };
}

/** Streams `file` into a node-tar parser (optionally hashing it) and waits until the parser is done. `what` is for messages. */
async function runInto(
  file: string,
  sink: Parser,
  hash: ReturnType<typeof createHash> | undefined,
  signal: AbortSignal | undefined,
  what: string,
): Promise<void> {
  signal?.throwIfAborted();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash?.update(chunk);
      done(null, chunk);
    },
  });
  const source = createReadStream(file);
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown): void => {
        source.destroy();
        // A fresh error: node-tar decorates the one it is given, and an AbortSignal's reason may be frozen.
        sink.abort(new Error('stopped'));
        reject(err);
      };
      const onAbort = (): void => fail(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      // Unpack emits 'close' only after every pending file-system write has finished.
      sink.on('close', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      sink.on('error', (err: Error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      });
      source.on('error', fail);
      source.pipe(tap).pipe(sink as unknown as NodeJS.WritableStream);
    });
  } catch (e) {
    source.destroy();
    if (signal?.aborted) throw signal.reason;
    if (e instanceof SlipwayError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    throw new SlipwayError('SLW_TARGET_FAILED', `cannot ${what}: ${reason}`, {
      hint:
        code === 'ENOSPC'
          ? 'the disk is full: free space (e.g. prune old releases) and retry'
          : 'the artifact must be a readable, complete .tar.gz (or plain .tar)',
      cause: e,
    });
  }
}

// ───────────────────────────── checks ─────────────────────────────

/** How Linux splits a path. */
const KERNEL_SEPARATOR = /\//;
/** How Windows (and node-tar's own `..` check) splits one: `\` counts too. Used to be strict both ways. */
const ANY_SEPARATOR = /[\\/]/;

function segments(p: string, separator: RegExp = KERNEL_SEPARATOR): string[] {
  return p.split(separator).filter((s) => s !== '' && s !== '.');
}

/** Absolute on POSIX or on Windows (node-tar strips drive letters and UNC roots even on Linux). */
function isAbsoluteLike(p: string): boolean {
  return (
    p.startsWith('/') || p.startsWith('\\') || path.win32.isAbsolute(p) || path.win32.parse(p).root !== ''
  );
}

function findProblem(entries: readonly ListedEntry[]): Problem | undefined {
  const kinds = new Map<string, string>();
  for (const e of entries) {
    const problem = checkOwnPath(e);
    if (problem) return problem;
    // A later entry replaces an earlier one of the same path; symlinks are made last, so a path that is
    // both a symlink and something else would end up differently than tar would leave it.
    const key = segments(e.path).join('/');
    const isLink = e.type === 'SymbolicLink';
    const before = kinds.get(key);
    if (before !== undefined && (before === 'SymbolicLink') !== isLink) {
      return { path: e.path, why: 'appears twice, once as a symlink and once as something else' };
    }
    kinds.set(key, e.type);
  }
  const symlinks = finalSymlinks(entries);
  for (const e of entries) {
    const problem = checkAgainst(e, symlinks);
    if (problem) return problem;
  }
  return undefined;
}

/** The archive's symlinks by normalized path (the last entry of a path wins, as in tar), in archive order. */
function finalSymlinks(entries: readonly ListedEntry[]): Map<string, string> {
  const symlinks = new Map<string, string>();
  for (const e of entries) {
    if (e.type === 'SymbolicLink') symlinks.set(segments(e.path).join('/'), e.linkpath ?? '');
  }
  return symlinks;
}

/** Checks that need only the entry itself. */
function checkOwnPath(e: ListedEntry): Problem | undefined {
  const at = (why: string): Problem => ({ path: e.path, why });
  if (isAbsoluteLike(e.path)) return at('has an absolute path');
  if (e.path.split(ANY_SEPARATOR).includes('..')) return at('has a ".." path segment');
  if (SPECIAL_TYPES.has(e.type)) return at(`is a ${e.type === 'FIFO' ? 'FIFO' : 'device file'}`);
  const isLink = e.type === 'SymbolicLink' || e.type === 'Link';
  if (!isLink && !FILE_TYPES.has(e.type) && !DIRECTORY_TYPES.has(e.type))
    return at(`has an unsupported type (${e.type})`);
  if (segments(e.path).length === 0 && !DIRECTORY_TYPES.has(e.type))
    return at('would replace the release folder itself');
  if (isLink) {
    const target = e.linkpath ?? '';
    if (target === '') return at('is a link without a target');
    if (isAbsoluteLike(target)) return at(`is a link to the absolute path "${target}"`);
    if (e.type === 'Link' && target.split(ANY_SEPARATOR).includes('..')) {
      return at(`is a hard link to "${target}", outside the release`);
    }
  }
  return undefined;
}

/** Checks that depend on the archive's symlinks: writing through one, or a link resolving outside. */
function checkAgainst(e: ListedEntry, symlinks: ReadonlyMap<string, string>): Problem | undefined {
  const at = (why: string): Problem => ({ path: e.path, why });
  const own = segments(e.path);
  const through = symlinkPrefix(own, symlinks, false);
  if (through !== undefined) return at(`would be written through the symlink "${through}"`);
  const target = e.linkpath ?? '';
  if (e.type === 'SymbolicLink') {
    // Relative to the link's own folder, following the archive's other symlinks on the way. Checked with
    // both separators, so the link is safe whether `\` is read as a name character or a separator.
    const from = own.slice(0, -1);
    if (
      resolveInside(from, segments(target), symlinks) === null ||
      resolveInside(from, segments(target, ANY_SEPARATOR), symlinks) === null
    ) {
      return at(`is a symlink to "${target}", which resolves outside the release`);
    }
  } else if (e.type === 'Link') {
    // Hard links name their target from the archive root. link(2) does not follow a final symlink, so a
    // hard link to a symlink is a copy of that symlink in another folder, where its target means something else.
    const via = symlinkPrefix(segments(target), symlinks, true);
    if (via !== undefined)
      return at(`is a hard link to "${target}", which is or passes through the symlink "${via}"`);
  }
  return undefined;
}

/** The first leading part of `segs` that is a symlink (the whole path too when `includeLast`). */
function symlinkPrefix(
  segs: readonly string[],
  symlinks: ReadonlyMap<string, string>,
  includeLast: boolean,
): string | undefined {
  const end = includeLast ? segs.length : segs.length - 1;
  for (let i = 1; i <= end; i++) {
    const prefix = segs.slice(0, i).join('/');
    if (symlinks.has(prefix)) return prefix;
  }
  return undefined;
}

const MAX_LINK_HOPS = 40;

/**
 * Resolves `target` segments from the folder `from` (segments, relative to the root) as the kernel would
 * once the archive is extracted: `..` after a symlink goes up from where that symlink points. Returns the
 * resolved segments, or null when the path leaves the root, meets an absolute link, or loops.
 */
function resolveInside(
  from: readonly string[],
  target: readonly string[],
  symlinks: ReadonlyMap<string, string>,
  hops = { count: 0 },
): string[] | null {
  let at = [...from];
  for (const seg of target) {
    if (seg === '..') {
      if (at.length === 0) return null;
      at.pop();
      continue;
    }
    at.push(seg);
    const link = symlinks.get(at.join('/'));
    if (link !== undefined) {
      if (++hops.count > MAX_LINK_HOPS || isAbsoluteLike(link)) return null;
      const next = resolveInside(at.slice(0, -1), segments(link), symlinks, hops);
      if (next === null) return null;
      at = next;
    }
  }
  return at;
}
