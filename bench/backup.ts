/**
 * Backup + verification of a ~1 GB PostgreSQL and a ~1 GB SQLite database through Slipway's code, next to the
 * plain tools on the same data: `pg_dump -Fc` + `pg_restore` into a fresh database, and `sqlite3 .backup` +
 * `PRAGMA integrity_check`. Target: Slipway within 1.2× of the plain tools.
 *
 *     node --import tsx bench/backup.ts [sizeMb]      (or through npm run bench, see runBackupBench)
 */

import { execFile } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { BackupStore } from '../src/backup/backup-store.js';
import { type BackupSource, createBackup } from '../src/backup/create-backup.js';
import { targetLookup } from '../src/backup/targets.js';
import { verifyBackupSet } from '../src/backup/verify-set.js';
import { startPostgres } from '../test/servers/postgres.js';
import { round, withTempDir } from './bench-util.js';
import type { BenchSection } from './section.js';

const run = promisify(execFile);

/** Rounds per tool, alternating which goes first; the fastest of each counts (this machine is noisy). */
const SQLITE_ROUNDS = 4;
/** PostgreSQL rounds take most of a minute each at 1 GB. */
const POSTGRES_ROUNDS = 3;

/** Writes from the previous run go to disk first, so no run pays for another's write-back. */
const settle = () => run('sync');

/** Target from the issue: backup + verification within 1.2× of the plain tools. */
export const MAX_RATIO = 1.2;

export interface BackupBenchRow {
  /** e.g. "slipway postgres (backup + verify)", "pg_dump -Fc + pg_restore". */
  readonly tool: string;
  readonly seconds: number;
  /** Database size (MB, 10^6 bytes) per second of the whole backup + verification. */
  readonly mbPerSecond: number;
  /** Slipway's time divided by the plain tools' on the same data; null on the plain tools' own row. */
  readonly ratio: number | null;
}

export interface BackupBenchResult {
  readonly sizeMb: number;
  readonly rows: readonly BackupBenchRow[];
  readonly postgres: Record<string, number>;
  readonly sqlite: Record<string, number>;
  readonly pass: { readonly postgresBackup: boolean; readonly sqliteBackup: boolean };
}

const seconds = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};

/** Slipway's backup of one item; returns the set's id. */
async function backUp(store: BackupStore, item: BackupSource): Promise<string> {
  const r = await createBackup({
    store,
    app: 'bench',
    deploymentId: 1,
    release: 'v1',
    items: [item],
    signal: new AbortController().signal,
  });
  return r.set.id;
}

type Job = () => Promise<unknown>;

/**
 * Times the plain tools' two stages and Slipway's two stages `rounds` times, alternating which side goes first (so
 * neither always finds the page cache the other left), with the disk settled before every stage; returns the
 * fastest time of each of the four stages: [plain 1, plain 2, slipway 1, slipway 2].
 */
async function alternateRounds(
  rounds: number,
  plain: readonly [Job, Job],
  plainCleanup: Job,
  slipway: readonly [Job, Job],
  slipwayCleanup: Job,
): Promise<[number, number, number, number]> {
  const times: number[][] = [[], [], [], []];
  const side = async (jobs: readonly [Job, Job], cleanup: Job, at: number) => {
    for (const [i, job] of jobs.entries()) {
      await settle();
      times[at + i]?.push(await seconds(job));
    }
    await cleanup();
  };
  for (let round = 0; round < rounds; round++) {
    const plainSide = () => side(plain, plainCleanup, 0);
    const slipwaySide = () => side(slipway, slipwayCleanup, 2);
    for (const run of round % 2 === 0 ? [plainSide, slipwaySide] : [slipwaySide, plainSide]) await run();
  }
  return times.map((v) => Math.min(...v)) as [number, number, number, number];
}

export async function runBackupBench(options: { sizeMb?: number } = {}): Promise<BackupBenchResult> {
  const sizeMb = options.sizeMb ?? 1024;
  return withTempDir('slipway-bench-backup-', async (dir) => {
    const sqlite = await benchSqlite(dir, sizeMb);
    const postgres = await benchPostgres(dir, sizeMb);
    const row = (tool: string, s: number, mb: number, ratio: number | null): BackupBenchRow => ({
      tool,
      seconds: round(s, 2),
      mbPerSecond: round(mb / s, 1),
      ratio: ratio === null ? null : round(ratio, 2),
    });
    const pgRatio = postgres.slipwaySeconds / postgres.plainSeconds;
    const sqliteRatio = sqlite.slipwaySeconds / sqlite.plainSeconds;
    return {
      sizeMb,
      rows: [
        row(
          'slipway postgres: backup + verify (sha256, test restore, row counts)',
          postgres.slipwaySeconds,
          postgres.dbMb,
          pgRatio,
        ),
        row('pg_dump -Fc + pg_restore into a new database', postgres.plainSeconds, postgres.dbMb, null),
        row(
          'slipway sqlite: backup + verify (sha256, integrity_check, row counts)',
          sqlite.slipwaySeconds,
          sqlite.dbMb,
          sqliteRatio,
        ),
        row('sqlite3 .backup + PRAGMA integrity_check', sqlite.plainSeconds, sqlite.dbMb, null),
      ],
      postgres,
      sqlite,
      pass: { postgresBackup: pgRatio <= MAX_RATIO, sqliteBackup: sqliteRatio <= MAX_RATIO },
    };
  });
}

async function benchSqlite(
  dir: string,
  sizeMb: number,
): Promise<Record<string, number> & { slipwaySeconds: number; plainSeconds: number; dbMb: number }> {
  const file = path.join(dir, 'big.db');
  const db = new Database(file);
  db.pragma('journal_mode = wal');
  db.pragma('synchronous = off');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)');
  // ~256 bytes a row with its overhead: generated inside SQLite, no round trips.
  const rows = Math.round((sizeMb * 1e6) / 256);
  db.exec(
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows})
     INSERT INTO items SELECT x, hex(randomblob(112)) FROM c`,
  );
  db.exec("CREATE TABLE tags (name TEXT); INSERT INTO tags VALUES ('a'), ('b')");
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const dbMb = (await stat(file)).size / 1e6;

  const plainOut = path.join(dir, 'plain.sqlite');
  const store = new BackupStore(
    { dir: path.join(dir, 'store-sqlite'), keep: 1, maxAgeMs: 86_400_000 },
    'bench',
  );
  const signal = new AbortController().signal;
  let setId = '';
  const [backupS, checkS, slipwayBackupS, slipwayVerifyS] = await alternateRounds(
    SQLITE_ROUNDS,
    [
      () => run('sqlite3', [file, `.backup '${plainOut}'`]),
      async () => {
        const { stdout } = await run('sqlite3', [plainOut, 'PRAGMA integrity_check'], { maxBuffer: 1 << 20 });
        if (stdout.trim() !== 'ok') throw new Error(`sqlite3 integrity_check: ${stdout}`);
      },
    ],
    () => rm(plainOut, { force: true }),
    [
      async () => {
        setId = await backUp(store, { kind: 'sqlite', path: file });
      },
      async () => verifyBackupSet({ store, set: await store.get(setId), by: 'bench', signal }),
    ],
    () => rm(path.join(dir, 'store-sqlite'), { recursive: true, force: true }),
  );
  await rm(file, { force: true });
  return {
    dbMb: round(dbMb, 0),
    rows,
    plainBackupSeconds: round(backupS),
    plainIntegritySeconds: round(checkS),
    plainSeconds: backupS + checkS,
    slipwayBackupSeconds: round(slipwayBackupS),
    slipwayVerifySeconds: round(slipwayVerifyS),
    slipwaySeconds: slipwayBackupS + slipwayVerifyS,
  };
}

async function benchPostgres(
  dir: string,
  sizeMb: number,
): Promise<Record<string, number> & { slipwaySeconds: number; plainSeconds: number; dbMb: number }> {
  const pg = await startPostgres();
  try {
    const url = await pg.createDatabase('bench');
    const rows = Math.round((sizeMb * 1e6) / 180);
    await pg.query(
      `CREATE TABLE items AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || repeat('x', 80) AS payload, g * 1.5 AS amount
         FROM generate_series(1, ${rows}) g;
       ALTER TABLE items ADD PRIMARY KEY (id);
       CREATE TABLE tags AS SELECT 'tag' || g AS name FROM generate_series(1, 100) g;`,
      [],
      'bench',
    );
    await pg.query('VACUUM ANALYZE', [], 'bench');
    const size = await pg.query<{ b: string }>("SELECT pg_database_size('bench')::text AS b");
    const dbMb = Number(size[0]?.b) / 1e6;
    const env = {
      ...process.env,
      PGHOST: pg.host,
      PGPORT: String(pg.port),
      PGUSER: pg.user,
      PGPASSWORD: pg.password,
      PGDATABASE: 'bench',
    };

    const plainDump = path.join(dir, 'plain.dump');
    const signal = new AbortController().signal;
    const item = {
      kind: 'postgres' as const,
      url: url.replace(/:\/\/([^:]+):[^@]+@/, '://$1@'),
      password: pg.password,
    };
    const store = new BackupStore(
      { dir: path.join(dir, 'store-pg'), keep: 1, maxAgeMs: 86_400_000 },
      'bench',
    );
    let setId = '';
    const [dumpS, restoreS, slipwayBackupS, slipwayVerifyS] = await alternateRounds(
      POSTGRES_ROUNDS,
      [
        () => run('pg_dump', ['-Fc', '-f', plainDump], { env }),
        async () => {
          await pg.query('CREATE DATABASE plain_restore TEMPLATE template0');
          await run(
            'pg_restore',
            ['--exit-on-error', '--no-owner', '--no-privileges', '-d', 'plain_restore', plainDump],
            { env },
          );
          await pg.query('DROP DATABASE plain_restore');
        },
      ],
      () => rm(plainDump, { force: true }),
      [
        async () => {
          setId = await backUp(store, item);
        },
        async () =>
          verifyBackupSet({
            store,
            set: await store.get(setId),
            by: 'bench',
            targets: targetLookup([item]),
            signal,
          }),
      ],
      () => rm(path.join(dir, 'store-pg'), { recursive: true, force: true }),
    );
    return {
      dbMb: round(dbMb, 0),
      rows,
      plainDumpSeconds: round(dumpS),
      plainRestoreSeconds: round(restoreS),
      plainSeconds: dumpS + restoreS,
      slipwayBackupSeconds: round(slipwayBackupS),
      slipwayVerifySeconds: round(slipwayVerifyS),
      slipwaySeconds: slipwayBackupS + slipwayVerifyS,
    };
  } finally {
    await pg.stop();
  }
}

/** For bench/run.ts: one line in its SECTIONS list. */
export const backupSection: BenchSection = {
  name: 'backup',
  title: 'backup + verification of ~1 GB PostgreSQL and SQLite databases vs pg_dump/pg_restore and sqlite3',
  async run() {
    const r = await runBackupBench();
    const verdict = (ratio: number | null) =>
      ratio === null ? '—' : `${ratio}× / ≤ ${MAX_RATIO}× | ${ratio <= MAX_RATIO ? 'yes' : 'NO'}`;
    const [pgS, pgPlain, sqS, sqPlain] = r.rows as [
      BackupBenchRow,
      BackupBenchRow,
      BackupBenchRow,
      BackupBenchRow,
    ];
    return {
      rows: [
        `| PostgreSQL ${r.postgres.dbMb} MB: ${pgS.tool} | ${pgS.seconds} s (${pgS.mbPerSecond} MB/s) | ${pgPlain.tool}: ${pgPlain.seconds} s (${pgPlain.mbPerSecond} MB/s) | ${verdict(pgS.ratio)} |`,
        `| SQLite ${r.sqlite.dbMb} MB: ${sqS.tool} | ${sqS.seconds} s (${sqS.mbPerSecond} MB/s) | ${sqPlain.tool}: ${sqPlain.seconds} s (${sqPlain.mbPerSecond} MB/s) | ${verdict(sqS.ratio)} |`,
      ],
      json: { ...r },
      pass: { ...r.pass },
    };
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizeMb = process.argv[2] ? Number(process.argv[2]) : undefined;
  if (process.argv[3] === 'sqlite') {
    // SQLite alone (a minute instead of five): `node --import tsx bench/backup.ts 1024 sqlite`
    const r = await withTempDir('slipway-bench-backup-', (dir) => benchSqlite(dir, sizeMb ?? 1024));
    console.log(JSON.stringify({ ...r, ratio: round(r.slipwaySeconds / r.plainSeconds, 2) }, null, 2));
  } else {
    const result = await runBackupBench(sizeMb === undefined ? {} : { sizeMb });
    console.table(result.rows);
    console.log(
      JSON.stringify({ postgres: result.postgres, sqlite: result.sqlite, pass: result.pass }, null, 2),
    );
  }
}
