/** `files` items: a file or folder archived as tar.gz; checked by listing it safely; restored into a new folder only. */

import { mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { create } from 'tar';
import { SlipwayError } from '../core/errors.js';
import { fsyncPath, fsyncTree, randomSuffix } from '../targets/local/local-durable.js';
import { extractArchive, inspectArchive } from '../targets/safe-archive.js';
import { type HashedFile, hashFile } from './hashed-file.js';

/**
 * Archives `source` (a top-level symlink such as `current` is followed; links inside are stored as links) into the
 * new file `dest`. The archive's one top-level entry is the source's real base name.
 */
export async function archiveFiles(
  source: string,
  dest: string,
  signal: AbortSignal,
): Promise<HashedFile & { entry: string }> {
  let real: string;
  try {
    real = await realpath(source);
    await stat(real);
  } catch (e) {
    throw new SlipwayError('SLW_BACKUP_FAILED', `files item: nothing at ${source}`, {
      hint: "check the path (relative paths start at the process file's folder)",
      cause: e,
    });
  }
  signal.throwIfAborted();
  const entry = path.basename(real);
  await create({ gzip: true, cwd: path.dirname(real), file: dest, portable: true }, [entry]);
  await fsyncPath(dest);
  return { ...(await hashFile(dest, signal)), entry };
}

/** Lists the archive without extracting: it must read to the end and hold nothing unsafe (`..`, absolute paths, escaping links). */
export async function checkArchive(
  file: string,
  signal: AbortSignal,
): Promise<{ entries: number; bytes: number }> {
  return inspectArchive(file, signal);
}

/**
 * Extracts the archive into `to`, which must not exist or be empty: into a temporary folder beside it first, renamed
 * into place when complete. Live paths are never overwritten: put files back by hand, or roll back the release.
 */
export async function restoreFiles(
  file: string,
  to: string,
  signal: AbortSignal,
): Promise<{ entries: number }> {
  const existing = await readdir(to).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (existing !== null && existing.length > 0) {
    throw new SlipwayError(
      'SLW_RESTORE_FAILED',
      `${to} is not empty: files are restored into a new folder only`,
      {
        hint: 'pass --to with a folder that does not exist yet',
      },
    );
  }
  const summary = await inspectArchive(file, signal);
  await mkdir(path.dirname(to), { recursive: true });
  const temp = `${to}.slipway-restore-${randomSuffix()}`;
  await mkdir(temp);
  try {
    await extractArchive(file, temp, { signal });
    await fsyncTree(temp, signal);
    if (existing !== null) await rm(to, { recursive: true });
    await rename(temp, to);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
  return { entries: summary.entries };
}
