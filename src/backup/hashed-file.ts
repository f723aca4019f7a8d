/** Streams bytes into files while hashing them (one pass), and flushes what was written before it counts as saved. */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { fsyncPath } from '../targets/local/local-durable.js';

const run = promisify(execFile);

export interface HashedFile {
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** A pass-through that hashes and counts what flows through it. */
function hashing(): { stream: Transform; result(): HashedFile } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ sha256: hash.digest('hex'), sizeBytes: size }) };
}

/** Writes `source` into the new file `dest` (refusing to overwrite), hashing it; fsyncs before returning. */
export async function writeHashed(source: Readable, dest: string, signal: AbortSignal): Promise<HashedFile> {
  const h = hashing();
  await pipeline(source, h.stream, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), { signal });
  await fsyncPath(dest);
  return h.result();
}

/**
 * SHA-256 and size of a file: by the system's `openssl` in a child process when there is one (it hashes on another
 * core while this process does other work), else by Node in this process; the result is the same either way.
 */
export async function hashFile(file: string, signal: AbortSignal): Promise<HashedFile> {
  const abs = path.resolve(file);
  const { size } = await stat(abs); // ENOENT surfaces here, as callers expect
  const h = await hashInChild(abs, signal);
  return h && h.sizeBytes === size ? h : hashWithNode(abs, signal);
}

/**
 * SHA-256 and size of a file by `openssl` in a child process, or undefined without openssl (or when it failed).
 * Never opens the file in this process: safe on a database whose POSIX locks this process holds (closing any
 * descriptor of a file drops all of this process's locks on it).
 */
export async function hashInChild(file: string, signal: AbortSignal): Promise<HashedFile | undefined> {
  if (!(await opensslAvailable())) return undefined;
  const abs = path.resolve(file);
  try {
    const { stdout } = await run('openssl', ['dgst', '-sha256', '-r', abs], { signal });
    const hex = /^([0-9a-f]{64}) /.exec(stdout)?.[1];
    return hex ? { sha256: hex, sizeBytes: (await stat(abs)).size } : undefined;
  } catch {
    if (signal.aborted) throw signal.reason;
    return undefined;
  }
}

async function hashWithNode(file: string, signal: AbortSignal): Promise<HashedFile> {
  const hash = createHash('sha256');
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      hash.update(chunk);
      done();
    },
  });
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), counted, { signal });
  return { sha256: hash.digest('hex'), sizeBytes: size };
}

let openssl: Promise<boolean> | undefined;
function opensslAvailable(): Promise<boolean> {
  openssl ??= run('openssl', ['version']).then(
    () => true,
    () => false,
  );
  return openssl;
}

/** Copies `src` to the new file `dest`, hashing the bytes read (so a check and a copy cost one read); fsyncs `dest`. */
export async function copyHashed(src: string, dest: string, signal: AbortSignal): Promise<HashedFile> {
  return writeHashed(createReadStream(src, { highWaterMark: 1 << 20 }), dest, signal);
}

/** Bytes free for an unprivileged writer in the file system holding `dir`, or undefined when it cannot be read. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** MB/s (10^6 bytes) of `bytes` moved in `ms`, rounded to one decimal. */
export function mbPerSecond(bytes: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
}
