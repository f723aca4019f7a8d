/** `slipway backup list|verify|restore`: the backup store for people (restores ask first, or need --yes). */

import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { type BackupSetInfo, BackupStore, isVerified } from '../../backup/backup-store.js';
import { formatBytes } from '../../backup/hashed-file.js';
import { restoreBackupSet } from '../../backup/restore.js';
import { configuredTargets } from '../../backup/step-sources.js';
import type { TargetLookup } from '../../backup/targets.js';
import { verifyBackupSet } from '../../backup/verify-set.js';
import { formatDuration } from '../../core/duration.js';
import { SlipwayError } from '../../core/errors.js';
import type { EnvironmentSpec, Process } from '../../core/process.js';
import { resolveSecrets } from '../../engine/secrets.js';
import { type GlobalOptions, interruptSignal, loadCliProcess, outputFor } from '../context.js';
import { currentActor } from '../identity.js';
import type { Output } from '../output.js';

export interface BackupOptions extends GlobalOptions {
  /** The environment whose store holds the set. @default every environment is searched */
  readonly env?: string;
}

/** One row of `backup list --json`. */
export interface BackupListRow {
  readonly id: string;
  readonly environment: string;
  readonly created: string;
  readonly release: string | null;
  readonly deploymentId: number | null;
  readonly items: readonly { name: string; kind: string; sizeBytes: number }[];
  readonly sizeBytes: number;
  readonly verified: boolean;
  readonly verifiedAt: string | null;
  readonly verifyFailed: string | null;
}

export async function backupListCommand(
  environment: string | undefined,
  opts: BackupOptions,
): Promise<number> {
  const out = outputFor(opts);
  const proc = await loadCliProcess(opts);
  const rows: BackupListRow[] = [];
  for (const env of environmentsOf(proc, environment ?? opts.env)) {
    for (const set of await new BackupStore(env.backups, env.name).list()) rows.push(listRow(set));
  }
  rows.sort((a, b) => b.created.localeCompare(a.created));
  out.result(rows, () => renderList(rows, out));
  return 0;
}

export async function backupVerifyCommand(id: string, opts: BackupOptions): Promise<number> {
  const out = outputFor(opts);
  const proc = await loadCliProcess(opts);
  const { env, store, set } = await findSet(proc, id, opts.env);
  const interrupt = interruptSignal(out);
  try {
    const record = await verifyBackupSet({
      store,
      set,
      by: currentActor(proc.identities).user,
      targets: configuredIn(proc, env),
      signal: interrupt.signal,
      output: (line) => out.note(line),
    });
    out.result({ id: set.id, environment: env.name, verified: true, ...record }, () =>
      out.c.green(
        `✔ ${set.id} verified: ${record.items.length} items, ${formatBytes(set.sizeBytes)} in ${formatDuration(record.durationMs)}`,
      ),
    );
    return 0;
  } finally {
    interrupt.dispose();
  }
}

export async function backupRestoreCommand(
  id: string,
  opts: BackupOptions & { item?: string[]; to?: string; yes?: boolean },
): Promise<number> {
  const out = outputFor(opts);
  const proc = await loadCliProcess(opts);
  const { env, store, set } = await findSet(proc, id, opts.env);
  const items = opts.item?.length
    ? set.manifest.items.filter((i) => opts.item?.includes(i.name))
    : set.manifest.items;
  const targets = items.map(
    (i) => `${i.name} → ${i.kind === 'files' ? (opts.to ?? '(needs --to)') : i.source}`,
  );
  if (!opts.yes) await confirm(out, set, targets);
  const interrupt = interruptSignal(out);
  try {
    const result = await restoreBackupSet({
      store,
      set,
      ...(opts.item?.length ? { items: opts.item } : {}),
      by: currentActor(proc.identities).user,
      targets: configuredIn(proc, env),
      ...(opts.to === undefined ? {} : { filesTo: path.resolve(opts.to) }),
      signal: interrupt.signal,
      output: (line) => out.note(line),
    });
    out.result({ environment: env.name, ...result }, () =>
      [
        out.c.green(`✔ restored ${result.set} (taken ${result.createdAt})`),
        ...result.items.map((r) => `  ${r.name} → ${r.target}${r.note ? `  ${out.c.dim(r.note)}` : ''}`),
        out.c.dim(`  audited in ${path.join(store.root, 'restores.log')}`),
      ].join('\n'),
    );
    return 0;
  } finally {
    interrupt.dispose();
  }
}

/** On a terminal: ask. Anywhere else without --yes: refuse, so a script never restores by accident. */
async function confirm(out: Output, set: BackupSetInfo, targets: readonly string[]): Promise<void> {
  const what = `restore backup set ${set.id} (${set.manifest.createdAt}, release ${set.manifest.release ?? '-'}):\n  ${targets.join('\n  ')}`;
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new SlipwayError('SLW_CONFIRMATION_REQUIRED', `refusing to ${what}\nwithout confirmation`, {
      hint: 'run it on a terminal to be asked, or pass --yes in scripts',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    out.line(out.c.yellow(`This will ${what}`));
    out.line('Databases are replaced by the backup (the old one is kept until the swap succeeds).');
    const answer = (await rl.question('Type "yes" to restore: ')).trim().toLowerCase();
    if (answer !== 'yes') {
      throw new SlipwayError('SLW_CONFIRMATION_REQUIRED', 'restore not confirmed: nothing was changed', {
        hint: 'answer "yes" to restore',
      });
    }
  } finally {
    rl.close();
  }
}

function environmentsOf(proc: Process, name: string | undefined): EnvironmentSpec[] {
  if (name === undefined) return Object.values(proc.environments);
  const env = proc.environments[name];
  if (!env) {
    throw new SlipwayError('SLW_UNKNOWN_ENVIRONMENT', `no environment "${name}" in ${proc.file}`, {
      hint: `declared: ${Object.keys(proc.environments).join(', ')}`,
    });
  }
  return [env];
}

async function findSet(
  proc: Process,
  id: string,
  envName: string | undefined,
): Promise<{ env: EnvironmentSpec; store: BackupStore; set: BackupSetInfo }> {
  const envs = environmentsOf(proc, envName);
  for (const env of envs) {
    const store = new BackupStore(env.backups, env.name);
    const set = await store.read(id);
    if (set) return { env, store, set };
  }
  throw new SlipwayError(
    'SLW_BACKUP_NOT_FOUND',
    `no backup set "${id}" in the backup store of ${envs.map((e) => e.name).join(', ')}`,
    { hint: 'list the sets with "slipway backup list"' },
  );
}

/**
 * The environment's configured databases (restores go there only). Secrets are resolved only if they can be: a
 * SQLite-only verify must not need the database password's variable.
 */
function configuredIn(proc: Process, env: EnvironmentSpec): TargetLookup {
  let secrets: Record<string, string> = {};
  try {
    secrets = resolveSecrets(env, proc.baseDir);
  } catch {
    // Missing secrets: libpq's own PGPASSWORD / ~/.pgpass may still do.
  }
  const root = 'root' in env.target ? String(env.target.root) : '';
  const scope = {
    app: proc.app,
    env: env.name,
    release: '',
    deployment: { id: '' },
    vars: env.vars,
    secrets,
    target: {
      root,
      current: path.join(root, 'current'),
      shared: path.join(root, 'shared'),
      release: '',
    },
  };
  return configuredTargets(proc, env.name, scope);
}

function listRow(set: BackupSetInfo): BackupListRow {
  const m = set.manifest;
  return {
    id: set.id,
    environment: m.environment,
    created: m.createdAt,
    release: m.release,
    deploymentId: m.deploymentId,
    items: m.items.map((i) => ({ name: i.name, kind: i.kind, sizeBytes: i.sizeBytes })),
    sizeBytes: set.sizeBytes,
    verified: isVerified(set),
    verifiedAt: isVerified(set) ? (set.verified?.verifiedAt ?? null) : null,
    verifyFailed: set.verifyFailed?.error ?? null,
  };
}

function renderList(rows: readonly BackupListRow[], out: Output): string {
  if (rows.length === 0) return 'no backup sets yet (a backup step makes one)';
  const c = out.c;
  const header = `${'ID'.padEnd(24)} ${'ENV'.padEnd(12)} ${'CREATED'.padEnd(20)} ${'RELEASE'.padEnd(10)} ${'SIZE'.padStart(9)}  ${'VERIFIED'.padEnd(9)} ITEMS`;
  const lines = [c.bold(header)];
  for (const r of rows) {
    const verified = r.verified
      ? c.green('yes'.padEnd(9))
      : r.verifyFailed
        ? c.red('FAILED'.padEnd(9))
        : c.yellow('no'.padEnd(9));
    lines.push(
      `${r.id.padEnd(24)} ${r.environment.padEnd(12)} ${r.created.slice(0, 19).replace('T', ' ').padEnd(20)} ${(r.release ?? '-').padEnd(10)} ${formatBytes(r.sizeBytes).padStart(9)}  ${verified} ${r.items.map((i) => i.name).join(', ')}`,
    );
  }
  return lines.join('\n');
}
