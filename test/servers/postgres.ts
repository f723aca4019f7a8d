/**
 * Starts a real, throw-away PostgreSQL server for tests and benchmarks.
 *
 *     const pg = await startPostgres();          // ~1–2 s: initdb + pg_ctl start into a temp folder
 *     const url = await pg.createDatabase('app'); // postgres://slipway:<password>@127.0.0.1:<port>/app
 *     await pg.query('SELECT 1', [], 'app');      // rows, as the password role
 *     await pg.stop();                            // pg_ctl stop -m fast + remove the folder (afterAll)
 *
 * - Binaries come from `/usr/lib/postgresql/<newest>/bin` (Debian's `postgresql` package;
 *   `scripts/ensure-system-packages.sh` installs it).
 * - Listens on 127.0.0.1 only, on a free port picked at start (retried if another process takes it
 *   first), and on a Unix socket inside the temp folder; `fsync=off` because the data is thrown away.
 * - PostgreSQL refuses to run as root: when the test runs as root, the server runs as the `postgres`
 *   user (`runuser -u postgres --`) and the temp folder is given to it.
 * - Authentication: the Unix socket trusts everyone (setup only); TCP on loopback requires a password
 *   (scram-sha-256), so everything that connects through `url` really exercises password handling.
 *   `user`/`password` is a superuser role (`slipway`, random password) created at start.
 * - A server left running by a crashed test is stopped when the Node process exits.
 */

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface PostgresServer {
  /** Connection URL of the `postgres` database as the password role (over TCP, loopback). */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** The server's data folder (its logs are in `<dataDir>/../postgres.log`). */
  dataDir: string;
  /** Folder of the PostgreSQL programs (`pg_dump`, `pg_restore`, `psql` …) matching this server. */
  binDir: string;
  /** Creates a database owned by the password role and returns its connection URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one statement as the password role, in `database` (default `postgres`); returns the rows. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<Row[]>;
  /** Connection URL for another database of this server (as the password role). */
  urlFor(database: string): string;
  /** Stops the server (`pg_ctl stop -m fast`) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const USER = 'slipway';
const STARTS = 5;

/** The newest installed PostgreSQL's bin folder. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/ensure-system-packages.sh',
    );
  }
  return path.join(root, versions[0]!, 'bin');
}

export async function startPostgres(): Promise<PostgresServer> {
  const binDir = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'slipway-pg-'));
  const dataDir = path.join(folder, 'data');
  const socketDir = path.join(folder, 'sock');
  const logFile = path.join(folder, 'postgres.log');
  fs.mkdirSync(socketDir);
  if (asRoot) {
    const { uid, gid } = postgresUser();
    for (const p of [folder, socketDir]) fs.chownSync(p, uid, gid);
  }
  // argv of a PostgreSQL program, run as the `postgres` user when we are root
  const as = (program: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(binDir, program), ...args]]
      : [path.join(binDir, program), args];

  try {
    await run(
      ...as('initdb', [
        '-D',
        dataDir,
        '-U',
        'postgres',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ]),
    );
  } catch (error) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw new Error(`initdb failed: ${describe(error)}`);
  }

  let port = 0;
  let lastError = '';
  for (let attempt = 1; attempt <= STARTS && port === 0; attempt++) {
    const candidate = await freePort();
    const options = [
      `-p ${candidate}`,
      `-k ${socketDir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=50',
    ].join(' ');
    try {
      await run(...as('pg_ctl', ['start', '-w', '-t', '30', '-D', dataDir, '-l', logFile, '-o', options]));
      port = candidate;
    } catch (error) {
      // another process may have taken the port between our probe and the server's bind: try another
      lastError = `${describe(error)}\n${readTail(logFile)}`;
    }
  }
  if (port === 0) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start after ${STARTS} attempts: ${lastError}`);
  }

  let stopped = false;
  const stopNow = (): void => {
    if (stopped) return;
    stopped = true;
    spawnSync(...as('pg_ctl', ['stop', '-m', 'immediate', '-D', dataDir]), { stdio: 'ignore' });
    fs.rmSync(folder, { recursive: true, force: true });
  };
  process.once('exit', stopNow);

  const password = randomBytes(12).toString('hex');
  const host = '127.0.0.1';
  try {
    // setup as the superuser through the trusted Unix socket
    const admin = new pg.Client({ host: socketDir, port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${USER} LOGIN SUPERUSER PASSWORD '${password}'`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    stopNow();
    process.removeListener('exit', stopNow);
    throw new Error(`PostgreSQL started but could not be set up: ${describe(error)}`);
  }

  const urlFor = (database: string): string =>
    `postgres://${USER}:${password}@${host}:${port}/${encodeURIComponent(database)}`;

  const query = async <Row extends Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: urlFor(database) });
    await client.connect();
    try {
      return (await client.query<Row>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  return {
    url: urlFor('postgres'),
    host,
    port,
    user: USER,
    password,
    dataDir,
    binDir,
    urlFor,
    query,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]*$/.test(name))
        throw new Error(`database name must match [a-z_][a-z0-9_]*: ${name}`);
      await query(`CREATE DATABASE ${name} OWNER ${USER}`);
      return urlFor(name);
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopNow);
      try {
        await run(...as('pg_ctl', ['stop', '-m', 'fast', '-w', '-D', dataDir]));
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (!fields) throw new Error('running as root but there is no `postgres` user to run PostgreSQL as');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

function describe(error: unknown): string {
  const e = error as { message?: string; stderr?: string };
  return [e.message, e.stderr].filter(Boolean).join('\n');
}
