/** Migration files: the naming rules, parsing them into ordered migrations, and reading them from an artifact or folder. */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { SlipwayError } from '../core/errors.js';

/**
 * `<version>_<name>.up.sql` (required) and `<version>_<name>.down.sql` (optional). The version is digits
 * (`0001`, `20261129`), ordered as a number and unique; the name is letters, digits, `_` and `-`.
 */
export const MIGRATION_FILE = /^(\d{1,15})_([A-Za-z0-9][A-Za-z0-9_-]*)\.(up|down)\.sql$/;
/** A line in an up file declaring that it cannot be undone by SQL (rollback restores a backup instead). */
const IRREVERSIBLE = /^\s*--\s*slipway:\s*irreversible\s*$/im;

export interface Migration {
  readonly version: number;
  /** `0001_create_notes`: the file name without `.up.sql`. */
  readonly id: string;
  readonly upFile: string;
  readonly up: string;
  readonly down?: string;
  /** Declared with `-- slipway: irreversible`, or without a down file: rollback restores a backup. */
  readonly irreversible: boolean;
  /** SHA-256 (hex) of the up file's bytes: what an applied migration must keep. */
  readonly checksum: string;
}

interface RawFile {
  /** Path relative to the migrations folder's parent, for messages (`migrations/0001_x.up.sql`). */
  readonly shown: string;
  readonly name: string;
  readonly content: Buffer;
}

/** Orders and checks the files of a migrations folder; throws SLW_MIGRATION_INVALID naming the bad file. */
export function parseMigrations(files: readonly RawFile[], where: string): Migration[] {
  const ups = new Map<number, { id: string; file: RawFile }>();
  const downs = new Map<number, { id: string; file: RawFile }>();
  for (const file of files) {
    if (!file.name.endsWith('.sql')) continue; // READMEs and the like live there too
    const m = MIGRATION_FILE.exec(file.name);
    if (!m) {
      throw invalid(
        `${file.shown} is not a migration file name`,
        'name migrations <version>_<name>.up.sql (and optionally .down.sql), e.g. 0001_create_notes.up.sql',
      );
    }
    const version = Number(m[1]);
    const id = `${m[1]}_${m[2]}`;
    const into = m[3] === 'up' ? ups : downs;
    const earlier = into.get(version);
    if (earlier) {
      throw invalid(
        `${file.shown} has version ${version}, already used by ${earlier.file.shown}`,
        'every migration needs its own version number',
      );
    }
    into.set(version, { id, file });
  }
  for (const [version, down] of downs) {
    const up = ups.get(version);
    if (!up || up.id !== down.id) {
      throw invalid(
        `${down.file.shown} has no matching up file${up ? ` (version ${version} is ${up.file.shown})` : ''}`,
        `add ${down.id}.up.sql, or rename the down file to match its up file`,
      );
    }
  }
  return [...ups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([version, { id, file }]) => {
      const up = file.content.toString('utf8');
      const down = downs.get(version)?.file.content.toString('utf8');
      if (up.trim() === '') throw invalid(`${file.shown} is empty`, `write the migration's SQL (${where})`);
      return {
        version,
        id,
        upFile: file.shown,
        up,
        ...(down === undefined ? {} : { down }),
        irreversible: down === undefined || IRREVERSIBLE.test(up),
        checksum: createHash('sha256').update(file.content).digest('hex'),
      };
    });
}

/**
 * The migrations in `dir` of a release artifact (tar or tar.gz), read on this machine so that any target type
 * works. When `sha256` is given, the bytes read must hash to it (the artifact is the one the deployment pinned).
 * A release without the folder has no migrations.
 */
export async function readMigrationsFromArtifact(
  artifact: string,
  dir: string,
  options: { readonly sha256?: string; readonly signal?: AbortSignal } = {},
): Promise<Migration[]> {
  const prefix = `${normalize(dir)}/`;
  const files: RawFile[] = [];
  const hash = createHash('sha256');
  const parser = new Parser({
    strict: true,
    onReadEntry(entry: ReadEntry) {
      const rel = normalize(entry.path);
      const inside = rel.startsWith(prefix) && !rel.slice(prefix.length).includes('/');
      if (entry.type !== 'File' || !inside) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        files.push({ shown: rel, name: rel.slice(prefix.length), content: Buffer.concat(chunks) });
      });
    },
  });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      createReadStream(artifact),
      tap,
      parser as unknown as NodeJS.WritableStream,
      options.signal ? { signal: options.signal } : {},
    );
  } catch (e) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new SlipwayError(
      'SLW_TARGET_FAILED',
      `cannot read the migrations of ${artifact}: ${e instanceof Error ? e.message : String(e)}`,
      { hint: 'the artifact must be a readable, complete .tar.gz (or plain .tar)', cause: e },
    );
  }
  if (options.sha256 !== undefined) {
    const actual = hash.digest('hex');
    if (actual !== options.sha256) {
      throw new SlipwayError(
        'SLW_ARTIFACT_CHECKSUM',
        `${artifact} changed since the deployment started: SHA-256 ${actual}, recorded ${options.sha256}`,
        { hint: 'artifacts are immutable: rebuild under a new release id' },
      );
    }
  }
  return parseMigrations(files, `${path.basename(artifact)}:${prefix}`);
}

/** The migrations of an unpacked release (or any folder); a missing folder has none. */
export async function readMigrationsFromFolder(folder: string): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const files = await Promise.all(
    names.sort().map(async (name) => ({
      shown: path.join(path.basename(folder), name),
      name,
      content: await readFile(path.join(folder, name)),
    })),
  );
  return parseMigrations(files, folder);
}

/** `./migrations/x` and `migrations/x/` → `migrations/x`. */
function normalize(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function invalid(message: string, hint: string): SlipwayError {
  return new SlipwayError('SLW_MIGRATION_INVALID', message, { hint });
}
