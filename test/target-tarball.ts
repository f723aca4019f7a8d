/**
 * Artifacts for target tests: real .tar.gz files made by node-tar, and ones written byte by byte (ustar headers)
 * that no well-behaved tar would make.
 */

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { create as createTar } from 'tar';

export type TarEntry =
  | { readonly type: 'file'; readonly path: string; readonly content?: string; readonly mode?: number }
  | { readonly type: 'dir'; readonly path: string }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string }
  | { readonly type: 'hardlink'; readonly path: string; readonly target: string }
  | { readonly type: 'fifo'; readonly path: string }
  | { readonly type: 'chardev'; readonly path: string };

const TYPE_FLAG: Record<TarEntry['type'], string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  chardev: '3',
  dir: '5',
  fifo: '6',
};

/** The raw tar (uncompressed) for these entries, in order, exactly as given: no path is cleaned up. */
export function tarBytes(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.type === 'file' ? Buffer.from(e.content ?? '', 'utf8') : Buffer.alloc(0);
    const mode = e.type === 'file' ? (e.mode ?? 0o644) : e.type === 'dir' ? 0o755 : 0o777;
    const link = e.type === 'symlink' || e.type === 'hardlink' ? e.target : '';
    blocks.push(header(e.path, mode, body.length, TYPE_FLAG[e.type], link));
    if (body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Writes the entries as a .tar.gz and returns its SHA-256. */
export async function writeTarball(
  file: string,
  entries: readonly TarEntry[],
): Promise<{ path: string; sha256: string }> {
  const bytes = gzipSync(tarBytes(entries));
  await writeFile(file, bytes);
  return { path: file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function header(name: string, mode: number, size: number, type: string, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  const put = (value: string, offset: number, length: number): void => {
    const b = Buffer.from(value, 'utf8');
    if (b.length > length) throw new Error(`tar field too long: ${value}`);
    b.copy(h, offset);
  };
  const octal = (n: number, length: number): string => `${n.toString(8).padStart(length - 1, '0')}\0`;
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  put('        ', 148, 8); // checksum is computed with this field as spaces
  put(type, 156, 1);
  put(linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** A real tarball made by node-tar from real files (in a folder under `dir`), the way a build would make one. */
export async function buildArtifact(
  dir: string,
  files: Record<string, string | Buffer>,
): Promise<{ path: string; sha256: string }> {
  const staging = await mkdtemp(path.join(dir, 'staging-'));
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(staging, rel)), { recursive: true });
    await writeFile(path.join(staging, rel), content);
  }
  const file = `${staging}.tar.gz`;
  await createTar({ gzip: true, file, cwd: staging, portable: true }, ['.']);
  await rm(staging, { recursive: true });
  const sha256 = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  return { path: file, sha256 };
}
