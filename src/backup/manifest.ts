/** The files that describe a backup set: its manifest (what, when, sizes, SHA-256, row counts) and its verification record. */

import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';
export const VERIFIED_FILE = 'verified.json';
export const VERIFY_FAILED_FILE = 'verify-failed.json';

export type BackupItemKind = 'files' | 'sqlite' | 'postgres';

/** One saved thing: a file of the set and how to check it. */
export interface ManifestItem {
  /** Unique in the set, e.g. `sqlite-notes`, `postgres-app`, `files-current`; `--item` uses it. */
  readonly name: string;
  readonly kind: BackupItemKind;
  /** Where it came from: an absolute path, or a postgres URL without password. */
  readonly source: string;
  /** The file's name inside the set's folder. */
  readonly file: string;
  readonly sizeBytes: number;
  /** SHA-256 of the file, lowercase hex. */
  readonly sha256: string;
  /** Databases: rows per table, counted in the same snapshot the backup was taken from. */
  readonly tables?: Readonly<Record<string, number>>;
  /** `files`: the archive's top-level entry (the source's base name). */
  readonly entry?: string;
  /** `postgres`: the secret the password came from (its name, never its value), for verify and restore. */
  readonly passwordSecret?: string;
}

/** An optional item whose path did not exist when the set was taken. */
export interface SkippedItem {
  readonly kind: BackupItemKind;
  readonly source: string;
  readonly reason: string;
}

export interface BackupManifest {
  readonly format: 1;
  /** The set's folder name: `<UTC time>-d<deployment>` or `<UTC time>-manual`; sorts by time. */
  readonly id: string;
  readonly app: string;
  readonly environment: string;
  readonly deploymentId: number | null;
  readonly release: string | null;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  readonly durationMs: number;
  readonly items: readonly ManifestItem[];
  readonly skipped?: readonly SkippedItem[];
}

/** What one verification checked for one item. */
export interface ItemCheck {
  readonly name: string;
  readonly kind: BackupItemKind;
  readonly sizeBytes: number;
  readonly sha256: 'ok';
  /** How it was test-restored, e.g. "copied to a scratch file, integrity_check ok". */
  readonly restore: string;
  /** Databases: expected (manifest) and actual row counts after the test restore; they are equal. */
  readonly tables?: Readonly<Record<string, number>>;
  /** `files`: entries in the archive. */
  readonly entries?: number;
  readonly durationMs: number;
}

export interface VerifiedRecord {
  readonly verifiedAt: string;
  /** Who or what verified it: a deployment step (`deployment 12 production.verify`) or a person (`alice`). */
  readonly by: string;
  readonly durationMs: number;
  readonly items: readonly ItemCheck[];
}

export interface VerifyFailedRecord {
  readonly failedAt: string;
  readonly by: string;
  readonly item: string | null;
  readonly error: string;
}

const item = z.object({
  name: z.string().min(1),
  kind: z.enum(['files', 'sqlite', 'postgres']),
  source: z.string(),
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  sizeBytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  tables: z.record(z.string(), z.number().int().min(0)).optional(),
  entry: z.string().optional(),
  passwordSecret: z.string().optional(),
});

const manifestSchema = z.object({
  format: z.literal(1),
  id: z.string(),
  app: z.string(),
  environment: z.string(),
  deploymentId: z.number().int().nullable(),
  release: z.string().nullable(),
  createdAt: z.string(),
  durationMs: z.number(),
  items: z.array(item),
  skipped: z
    .array(
      z.object({ kind: z.enum(['files', 'sqlite', 'postgres']), source: z.string(), reason: z.string() }),
    )
    .optional(),
});

/** Parses a manifest's text; undefined when it is not one (a damaged manifest makes the set unusable, not a crash). */
export function parseManifest(text: string): BackupManifest | undefined {
  try {
    const result = manifestSchema.safeParse(JSON.parse(text));
    return result.success ? (result.data as BackupManifest) : undefined;
  } catch {
    return undefined;
  }
}

/** A set id for a backup taken at `at`: sortable, safe as a folder name. */
export function backupSetId(at: Date, deploymentId: number | null): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
  return `${stamp}-${deploymentId === null ? 'manual' : `d${deploymentId}`}`;
}

export const SET_ID_PATTERN = /^\d{8}T\d{9}Z-(d\d+|manual)$/;
