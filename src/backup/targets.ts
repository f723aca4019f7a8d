/**
 * Where a backup item may be test-restored or restored: the databases the process file configures, never a place
 * read from a manifest (anyone who can write to the backup store could edit one to aim a restore elsewhere).
 */

import path from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { BackupSource } from './create-backup.js';
import type { ManifestItem } from './manifest.js';
import { pgConnection } from './postgres-backup.js';

/** A configured database: a SQLite file, or a PostgreSQL URL (no password in it) and its password. */
export type RestoreTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly password?: string };

/** The configured database a manifest item was taken from, or undefined when none of the configured ones is it. */
export type TargetLookup = (item: ManifestItem) => RestoreTarget | undefined;

/** Matches items to `sources` (SQLite: same absolute path; PostgreSQL: same host, port and database). */
export function targetLookup(sources: readonly BackupSource[]): TargetLookup {
  return (item) => {
    for (const source of sources) {
      if (source.kind !== item.kind) continue;
      if (source.kind === 'sqlite' && path.resolve(source.path) === path.resolve(item.source)) {
        return { kind: 'sqlite', path: path.resolve(source.path) };
      }
      if (source.kind === 'postgres' && samePostgres(source.url, item.source)) {
        return {
          kind: 'postgres',
          url: source.url,
          ...(source.password === undefined ? {} : { password: source.password }),
        };
      }
    }
    return undefined;
  };
}

/** The configured target of `item`, or an error (`code`) saying the set names a database nothing configures. */
export function requireTarget<K extends RestoreTarget['kind']>(
  targets: TargetLookup | undefined,
  setId: string,
  item: ManifestItem & { readonly kind: K },
  doing: string,
  code: 'SLW_RESTORE_FAILED' | 'SLW_BACKUP_FAILED' = 'SLW_RESTORE_FAILED',
): Extract<RestoreTarget, { kind: K }> {
  const target = targets?.(item);
  if (target?.kind === item.kind) return target as Extract<RestoreTarget, { kind: K }>;
  throw new SlipwayError(
    code,
    `${setId}/${item.name}: cannot ${doing}: the set says it was taken from ${item.source}, which no backup step of this environment backs up`,
    {
      hint: 'restores and test restores go only to databases a backup step names (a manifest is never trusted to say where); check the process file, or restore by hand from the set',
      details: { item: item.name, source: item.source },
    },
  );
}

function samePostgres(a: string, b: string): boolean {
  const key = (url: string) => {
    const c = pgConnection(url);
    return `${c.host}:${c.port}/${c.database}`;
  };
  return key(a) === key(b);
}
