/** For `slipway plan`: the migrations each `migrate` step would apply, read from the artifact and the database's history. */

import type { PlanMigrations } from '../core/plan.js';
import { type MigrateStep, type Process, phasesFor } from '../core/process.js';
import { makeRedactor } from '../core/redact.js';
import type { TemplateScope } from '../core/template.js';
import { artifactPathFor } from '../engine/run-context.js';
import { resolveSecrets } from '../engine/secrets.js';
import { createTarget } from '../targets/create-target.js';
import { describeDatabase, renderDatabase } from './database.js';
import { readMigrationsFromArtifact } from './migration-files.js';
import { migrationStatus, readHistory } from './migrator.js';

/**
 * Looks, changes nothing: every migration of the release is listed as pending when the database cannot be reached
 * (or its password is not available here), with the reason, instead of failing the plan.
 */
export async function planMigrations(
  process: Process,
  environment: string,
  release: string,
  signal: AbortSignal,
): Promise<PlanMigrations[]> {
  const env = process.environments[environment];
  if (!env) return [];
  const steps = phasesFor(process, environment).flatMap((p) =>
    p.steps.filter((s): s is MigrateStep => s.kind === 'migrate').map((s) => ({ phase: p.id, step: s })),
  );
  if (steps.length === 0) return [];

  let secrets: Record<string, string> = {};
  let secretsProblem: string | undefined;
  try {
    secrets = resolveSecrets(env, process.baseDir);
  } catch (e) {
    secretsProblem = e instanceof Error ? e.message : String(e);
  }
  const redact = makeRedactor(Object.values(secrets));
  const target = createTarget(env.target);
  const layout = target.layout;
  await target.close();
  const scope: TemplateScope = {
    app: process.app,
    env: environment,
    release,
    deployment: { id: '' },
    vars: env.vars,
    secrets,
    target: {
      root: layout.root,
      current: layout.current,
      shared: layout.shared,
      release: `${layout.releases}/${release}`,
    },
  };
  const artifact = artifactPathFor(process, release, environment, env.vars);

  const out: PlanMigrations[] = [];
  for (const { phase, step } of steps) {
    const name = `${phase}.${step.id}`;
    let files: Awaited<ReturnType<typeof readMigrationsFromArtifact>>;
    try {
      files = await readMigrationsFromArtifact(artifact, step.dir, { signal });
    } catch (e) {
      out.push({
        step: name,
        database: '',
        pending: [],
        applied: null,
        unreachable: `cannot read the release's migrations: ${message(e)}`,
      });
      continue;
    }
    const pendingAll = files.map((f) => ({ id: f.id, irreversible: f.irreversible }));
    const needsSecret = step.database.kind === 'postgres' && step.database.password?.includes('secrets.');
    let database = '';
    try {
      const db = renderDatabase(step.database, scope, process.baseDir, `${name}.migrate.database`);
      database = describeDatabase(db);
      if (needsSecret && secretsProblem) throw new Error(secretsProblem);
      const status = migrationStatus(files, await readHistory(db, signal));
      out.push({
        step: name,
        database,
        pending: status.pending.map((f) => ({ id: f.id, irreversible: f.irreversible })),
        applied: files.length - status.pending.length,
        ...(status.changed.length
          ? {
              problems: status.changed.map(
                (c) => `${c.migration.upFile} changed after it was applied: the deployment will refuse it`,
              ),
            }
          : {}),
      });
    } catch (e) {
      out.push({
        step: name,
        database,
        pending: pendingAll,
        applied: null,
        unreachable: redact(message(e)),
      });
    }
  }
  return out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
