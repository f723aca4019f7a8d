/** fsync helpers: a rename may only publish data that is already on disk, or a power cut could undo half of it. */

import { randomBytes } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Files fsynced at once while flushing a tree: enough to keep the disk queue busy, few enough for file handles. */
const FSYNC_CONCURRENCY = 16;

/** A short random suffix for temporary names, so concurrent writers never collide. */
export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}

/** Flushes a file, or a folder's entries (creations, renames), to disk. */
export async function fsyncPath(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes every regular file and folder under `root` (symlinks are not followed), deepest first. */
export async function fsyncTree(root: string, signal?: AbortSignal): Promise<void> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    signal?.throwIfAborted();
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(full);
    }
    dirs.push(dir);
  };
  await walk(root);
  for (const batch of [files, dirs]) {
    for (let i = 0; i < batch.length; i += FSYNC_CONCURRENCY) {
      signal?.throwIfAborted();
      await Promise.all(batch.slice(i, i + FSYNC_CONCURRENCY).map((p) => fsyncPath(p)));
    }
  }
}

/**
 * Creates `file` (which must not exist) with `content` and `mode`, and fsyncs it. The mode is set
 * explicitly because the process umask would otherwise decide it.
 */
export async function writeNewFileDurably(file: string, content: string, mode: number): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
