/** An environment's backup store folder: complete sets only (temp folder + rename), verification marks, retention, restore audit log. */

import { appendFile, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { BackupStoreSpec } from '../core/process.js';
import { fsyncPath, randomSuffix } from '../targets/local/local-durable.js';
import {
  type BackupManifest,
  MANIFEST_FILE,
  parseManifest,
  SET_ID_PATTERN,
  VERIFIED_FILE,
  VERIFY_FAILED_FILE,
  type VerifiedRecord,
  type VerifyFailedRecord,
} from './manifest.js';

/** Temp folders start with this; `list` never shows them and a new backup clears old ones. */
const TEMP_PREFIX = '.tmp-';
/** The restore audit log: one JSON line per restore attempt and outcome. */
export const RESTORE_LOG = 'restores.log';
/** A temp folder older than this belongs to a backup that died; it is removed. */
const STALE_TEMP_MS = 6 * 3_600_000;

export interface BackupSetInfo {
  readonly id: string;
  readonly dir: string;
  readonly manifest: BackupManifest;
  readonly verified: VerifiedRecord | null;
  readonly verifyFailed: VerifyFailedRecord | null;
  /** Sum of the items' sizes. */
  readonly sizeBytes: number;
}

export interface RestoreAuditEntry {
  readonly at: string;
  readonly by: string;
  readonly set: string;
  readonly items: readonly string[];
  readonly outcome: 'started' | 'succeeded' | 'failed';
  readonly detail?: string;
}

export class BackupStore {
  /** `<spec.dir>/<environment>` */
  readonly root: string;

  constructor(
    readonly spec: BackupStoreSpec,
    readonly environment: string,
  ) {
    this.root = path.join(spec.dir, environment);
  }

  /** Complete sets with a readable manifest, newest first. */
  async list(): Promise<BackupSetInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const sets: BackupSetInfo[] = [];
    for (const name of names
      .filter((n) => SET_ID_PATTERN.test(n))
      .sort()
      .reverse()) {
      const info = await this.read(name);
      if (info) sets.push(info);
    }
    return sets;
  }

  /** One set, or undefined when there is no complete set of that id. */
  async read(id: string): Promise<BackupSetInfo | undefined> {
    if (!SET_ID_PATTERN.test(id)) return undefined;
    const dir = path.join(this.root, id);
    const manifest = parseManifest(await readText(path.join(dir, MANIFEST_FILE)));
    if (!manifest || manifest.id !== id) return undefined;
    const verified = parseJson<VerifiedRecord>(await readText(path.join(dir, VERIFIED_FILE)));
    const verifyFailed = parseJson<VerifyFailedRecord>(await readText(path.join(dir, VERIFY_FAILED_FILE)));
    return {
      id,
      dir,
      manifest,
      verified,
      verifyFailed,
      sizeBytes: manifest.items.reduce((n, i) => n + i.sizeBytes, 0),
    };
  }

  /** A set by id, or SLW_BACKUP_NOT_FOUND listing what exists. */
  async get(id: string): Promise<BackupSetInfo> {
    const info = await this.read(id);
    if (info) return info;
    const ids = (await this.list()).slice(0, 5).map((s) => s.id);
    throw new SlipwayError('SLW_BACKUP_NOT_FOUND', `no backup set "${id}" in ${this.root}`, {
      hint: ids.length ? `newest sets: ${ids.join(', ')} (slipway backup list)` : 'no backup sets exist yet',
    });
  }

  /** The newest set that is verified (and whose last verification did not fail), optionally no older than `maxAgeMs`. */
  async newestVerified(nowMs: number, maxAgeMs?: number): Promise<BackupSetInfo | undefined> {
    for (const set of await this.list()) {
      if (maxAgeMs !== undefined && nowMs - Date.parse(set.manifest.createdAt) > maxAgeMs) return undefined;
      if (isVerified(set)) return set;
    }
    return undefined;
  }

  /** A fresh temp folder for a set being written; removes temp folders left by backups that died long ago. */
  async makeTemp(id: string): Promise<string> {
    // A store folder made just now must itself survive a power cut, or so would not the sets renamed into it.
    const made = await mkdir(this.root, { recursive: true });
    if (made !== undefined) await fsyncPath(path.dirname(made));
    if (made !== undefined && made !== this.root) await fsyncPath(path.dirname(this.root));
    for (const name of await readdir(this.root)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const full = path.join(this.root, name);
      const s = await stat(full).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > STALE_TEMP_MS) await rm(full, { recursive: true, force: true });
    }
    const dir = path.join(this.root, `${TEMP_PREFIX}${id}-${randomSuffix()}`);
    await mkdir(dir);
    return dir;
  }

  /** Publishes a complete temp folder as set `id`: everything in it must already be on disk (fsynced). */
  async commit(tempDir: string, id: string): Promise<string> {
    const dir = path.join(this.root, id);
    await rename(tempDir, dir);
    await fsyncPath(this.root);
    return dir;
  }

  async markVerified(id: string, record: VerifiedRecord): Promise<void> {
    const dir = path.join(this.root, id);
    await rm(path.join(dir, VERIFY_FAILED_FILE), { force: true });
    await writeJsonAtomically(path.join(dir, VERIFIED_FILE), record);
  }

  /** A failed verification withdraws any earlier "verified": the bytes on disk are what they are now. */
  async markVerifyFailed(id: string, record: VerifyFailedRecord): Promise<void> {
    const dir = path.join(this.root, id);
    await rm(path.join(dir, VERIFIED_FILE), { force: true });
    await writeJsonAtomically(path.join(dir, VERIFY_FAILED_FILE), record);
  }

  /**
   * Deletes sets beyond the newest `keep` or older than `maxAgeMs`, never the newest verified set nor the ids in
   * `protect`. Returns the removed ids.
   */
  async prune(nowMs: number, protect: readonly string[] = []): Promise<string[]> {
    const sets = await this.list();
    const newestVerified = sets.find(isVerified)?.id;
    const removed: string[] = [];
    for (const [i, set] of sets.entries()) {
      const tooMany = i >= this.spec.keep;
      const tooOld = nowMs - Date.parse(set.manifest.createdAt) > this.spec.maxAgeMs;
      if (!tooMany && !tooOld) continue;
      if (set.id === newestVerified || protect.includes(set.id)) continue;
      // Rename first: a half-deleted set must never look like a complete one.
      const doomed = path.join(this.root, `${TEMP_PREFIX}delete-${set.id}-${randomSuffix()}`);
      await rename(set.dir, doomed);
      await rm(doomed, { recursive: true, force: true });
      removed.push(set.id);
    }
    return removed;
  }

  /** Appends to the store's restore log and flushes it: restores are audited even when they fail half-way. */
  async audit(entry: RestoreAuditEntry): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const file = path.join(this.root, RESTORE_LOG);
    await appendFile(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    await fsyncPath(file);
  }

  async auditLog(): Promise<RestoreAuditEntry[]> {
    const text = await readText(path.join(this.root, RESTORE_LOG));
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as RestoreAuditEntry);
  }
}

export function isVerified(set: BackupSetInfo): boolean {
  return set.verified !== null && set.verifyFailed === null;
}

/** Writes JSON to a temp file, fsyncs it, renames it into place, fsyncs the folder. */
export async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  const temp = `${file}.${randomSuffix()}.tmp`;
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  await fsyncPath(path.dirname(file));
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

function parseJson<T>(text: string): T | null {
  if (text === '') return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
