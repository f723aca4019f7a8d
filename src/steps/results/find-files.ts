/** Expands a report path with `*`, `?` and `**` into the files it names (Node 20 has no `fs.glob`; it came in 22). */

import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Whether the pattern holds a wildcard (`*`, `**` or `?`). */
export function hasGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/**
 * Absolute paths of the regular files matching `pattern` (relative to `baseDir` unless absolute), sorted.
 * `*` and `?` stay within one path segment and, as in a shell, do not match a leading dot; `**` spans
 * any number of folders. Symbolic links to folders are not followed by `**` (no cycles).
 */
export async function findFiles(pattern: string, baseDir: string): Promise<string[]> {
  const absolute = path.resolve(baseDir, pattern);
  if (!hasGlob(pattern)) return (await isFile(absolute)) ? [absolute] : [];
  const segments = absolute.split(path.sep);
  const firstGlob = segments.findIndex(hasGlob);
  const root = segments.slice(0, firstGlob).join(path.sep) || path.sep;
  const found = new Set<string>();
  await walk(root, segments.slice(firstGlob), found);
  return [...found].sort();
}

async function walk(dir: string, segments: readonly string[], found: Set<string>): Promise<void> {
  const [segment, ...rest] = segments;
  if (segment === undefined) return;
  if (segment === '**') {
    // A trailing `**` means every file below.
    await walk(dir, rest.length === 0 ? ['*'] : rest, found);
    for (const entry of await list(dir)) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) {
        await walk(path.join(dir, entry.name), segments, found);
      }
    }
    return;
  }
  if (!hasGlob(segment)) {
    const next = path.join(dir, segment);
    if (rest.length > 0) await walk(next, rest, found);
    else if (await isFile(next)) found.add(next);
    return;
  }
  const matcher = segmentRegExp(segment);
  for (const entry of await list(dir)) {
    if (!matcher.test(entry.name)) continue;
    const next = path.join(dir, entry.name);
    if (rest.length > 0) {
      if (entry.isDirectory()) await walk(next, rest, found);
    } else if (entry.isFile() || (entry.isSymbolicLink() && (await isFile(next)))) {
      found.add(next);
    }
  }
}

function segmentRegExp(segment: string): RegExp {
  const body = segment
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${segment.startsWith('.') ? '' : '(?!\\.)'}${body}$`);
}

async function list(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    // A folder that does not exist (or cannot be read) simply matches nothing.
    return [];
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
