import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SlipwayError } from '../core/errors.js';
import { parseMigrations, readMigrationsFromFolder } from './migration-files.js';

const file = (name: string, sql = 'SELECT 1;') => ({
  shown: `migrations/${name}`,
  name,
  content: Buffer.from(sql),
});

function invalid(files: ReturnType<typeof file>[]): SlipwayError {
  try {
    parseMigrations(files, 'test');
  } catch (e) {
    if (e instanceof SlipwayError && e.code === 'SLW_MIGRATION_INVALID') return e;
    throw e;
  }
  throw new Error('expected SLW_MIGRATION_INVALID');
}

describe('migration files', () => {
  it('orders by version as a number, pairs downs, and checksums the up file', () => {
    const m = parseMigrations(
      [
        file('10_ten.up.sql'),
        file('0002_two.up.sql'),
        file('0002_two.down.sql', 'DROP TABLE t;'),
        file('README.md'),
      ],
      'test',
    );
    expect(m.map((x) => [x.version, x.id, x.irreversible])).toEqual([
      [2, '0002_two', false],
      [10, '10_ten', true],
    ]);
    expect(m[0]?.down).toBe('DROP TABLE t;');
    // SHA-256 of "SELECT 1;", the up file's bytes.
    expect(m[0]?.checksum).toBe(createHash('sha256').update('SELECT 1;').digest('hex'));
  });

  it('an up file may declare itself irreversible even with a down file', () => {
    const [m] = parseMigrations(
      [file('0001_purge.up.sql', '-- Slipway: irreversible\nDELETE FROM t;'), file('0001_purge.down.sql')],
      'test',
    );
    expect(m?.irreversible).toBe(true);
  });

  it('refuses misnamed files, duplicate versions, orphan downs and empty files, naming the file', () => {
    expect(invalid([file('create_notes.up.sql')]).message).toBe(
      'migrations/create_notes.up.sql is not a migration file name',
    );
    expect(invalid([file('0001_a.up.sql'), file('1_b.up.sql')]).message).toBe(
      'migrations/1_b.up.sql has version 1, already used by migrations/0001_a.up.sql',
    );
    expect(invalid([file('0001_a.up.sql'), file('0001_b.down.sql')]).message).toContain(
      'migrations/0001_b.down.sql has no matching up file (version 1 is migrations/0001_a.up.sql)',
    );
    expect(invalid([file('0001_a.up.sql', '  \n')]).message).toBe('migrations/0001_a.up.sql is empty');
  });

  it('a release without a migrations folder has no migrations', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'slipway-mf-'));
    try {
      expect(await readMigrationsFromFolder(path.join(dir, 'migrations'))).toEqual([]);
      await writeFile(path.join(dir, '0001_a.up.sql'), 'CREATE TABLE a (x INT);');
      expect((await readMigrationsFromFolder(dir)).map((m) => m.id)).toEqual(['0001_a']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
