/** Creating a deployment: every check that can fail before anything runs (environment, artifact, checksum, promotion, secrets). */

import { readFile, stat } from 'node:fs/promises';
import { suggestionHint } from '../config/did-you-mean.js';
import { viewDeployment } from '../core/deployment-view.js';
import { SlipwayError } from '../core/errors.js';
import type { Actor } from '../core/events.js';
import { type Plan, type PlanWindow, planDeployment } from '../core/plan.js';
import type { DeploymentRecord, Store } from '../core/ports.js';
import type { Process } from '../core/process.js';
import { ACTIVE_STATES } from '../core/state.js';
import { FACT } from '../steps/step-executor.js';
import { createTarget } from '../targets/create-target.js';
import { sha256File } from '../targets/safe-archive.js';
import { artifactPathFor } from './run-context.js';
import { resolveSecrets } from './secrets.js';

/** Release ids become folder names on targets: no "..", no slashes, no leading dot or dash. */
export const RELEASE_ID = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface StartOptions {
  readonly process: Process;
  readonly environment: string;
  readonly release: string;
  readonly actor: Actor;
  readonly varOverrides?: Readonly<Record<string, string>>;
  /** An emergency deployment: not held by windows or freezes; needs the environment's emergency approvers. */
  readonly emergency?: { readonly reason: string };
}

export interface Started {
  readonly deployment: DeploymentRecord;
  /** True when an unfinished deployment of the same release was found and is being continued instead. */
  readonly resumed: boolean;
}

/** Validates the environment and release name, without I/O beyond the process. */
export function checkEnvironment(process: Process, environment: string): void {
  if (process.environments[environment]) return;
  const hint = suggestionHint(environment, Object.keys(process.environments), 'declared');
  throw new SlipwayError(
    'SLW_UNKNOWN_ENVIRONMENT',
    `environment "${environment}" is not declared in ${process.file}`,
    hint ? { hint } : {},
  );
}

export function checkReleaseId(release: string): void {
  if (!RELEASE_ID.test(release)) {
    throw new SlipwayError('SLW_USAGE', `release id "${release}" is not valid`, {
      hint: 'use letters, digits, ".", "_" and "-" (at most 64), starting with a letter or digit, e.g. v1.4.2',
    });
  }
}

/** Gathers what planning needs from the store, then plans. Used by `slipway plan` and by `startDeployment`. */
export async function planFor(
  store: Store,
  process: Process,
  environment: string,
  release: string,
  options: { readonly emergency?: boolean; readonly window?: PlanWindow } = {},
): Promise<Plan> {
  checkEnvironment(process, environment);
  const env = process.environments[environment]!;
  const [live] = await store.listDeployments({
    app: process.app,
    environment,
    states: ['succeeded'],
    limit: 1,
  });
  const succeededIn: string[] = [];
  for (const required of env.requires) {
    if (await releaseSucceededIn(store, process.app, required, release)) succeededIn.push(required);
  }
  return planDeployment(process, {
    environment,
    release,
    currentRelease: live?.release ?? null,
    succeededIn,
    ...(options.emergency ? { emergency: true } : {}),
    ...(options.window ? { window: options.window } : {}),
  });
}

async function releaseSucceededIn(
  store: Store,
  app: string,
  environment: string,
  release: string,
): Promise<boolean> {
  const done = await store.listDeployments({
    app,
    environment,
    states: ['succeeded', 'rolled-back'],
    limit: 500,
  });
  // A deployment later rolled back by hand still proved the release in that environment only if it succeeded first.
  return done.some((d) => d.release === release && d.state === 'succeeded');
}

export async function startDeployment(store: Store, options: StartOptions): Promise<Started> {
  const { process, environment, release, actor } = options;
  checkEnvironment(process, environment);
  checkReleaseId(release);
  const env = process.environments[environment]!;
  if (options.emergency && env.windows.length === 0 && env.freezes.length === 0) {
    throw new SlipwayError(
      'SLW_USAGE',
      `${environment} has no maintenance windows or freezes: nothing holds a deployment, so there is no emergency to declare`,
      { hint: `deploy normally: slipway deploy ${environment} --release ${release}` },
    );
  }

  const [active] = await store.listDeployments({
    app: process.app,
    environment,
    states: ACTIVE_STATES,
    limit: 1,
  });
  if (active && active.release === release) {
    // Continuing the unfinished deployment: options that would change it cannot apply silently.
    if (options.emergency || Object.keys(options.varOverrides ?? {}).length > 0) {
      throw new SlipwayError(
        'SLW_ENV_BUSY',
        `deployment ${active.id} of ${release} to ${environment} is unfinished (${active.state}); --emergency and --var cannot change it`,
        {
          hint: `continue it without them (slipway resume ${active.id}), or end it first: slipway cancel ${active.id}`,
        },
      );
    }
    return { deployment: active, resumed: true };
  }

  const plan = await planFor(store, process, environment, release, {
    emergency: options.emergency !== undefined,
  });
  if (plan.missingPromotions.length > 0) {
    throw new SlipwayError(
      'SLW_PROMOTION_REQUIRED',
      `release ${release} has not succeeded in ${plan.missingPromotions.join(', ')}, which ${environment} requires first`,
      { hint: `deploy it there first: slipway deploy ${plan.missingPromotions[0]} --release ${release}` },
    );
  }
  // Fail now rather than half-way: a missing secret is a set-up problem.
  resolveSecrets(env, process.baseDir);
  // Overrides change declared values only: a new name (LD_PRELOAD, NODE_OPTIONS, PATH…) would reach every command.
  const undeclared = Object.keys(options.varOverrides ?? {}).filter((k) => !Object.hasOwn(env.vars, k));
  if (undeclared.length > 0) {
    throw new SlipwayError(
      'SLW_USAGE',
      `--var ${undeclared.join(', ')}: not declared under "vars" for ${environment}`,
      {
        hint: 'declare it in the process file (top-level or environment "vars") to allow overriding it',
      },
    );
  }

  const vars = { ...env.vars, ...options.varOverrides };
  const artifactPath = artifactPathFor(process, release, environment, vars);
  const sha256 = await verifiedArtifactChecksum(process, artifactPath, release, environment, vars);
  const size = (await stat(artifactPath)).size;
  const recorded = await store.recordRelease({ app: process.app, release, sha256, sizeBytes: size });
  if (recorded.sha256 !== sha256) {
    throw new SlipwayError(
      'SLW_RELEASE_CHANGED',
      `release ${release} was recorded on ${recorded.createdAt} with SHA-256 ${recorded.sha256}, but ${artifactPath} now has ${sha256}`,
      { hint: 'releases are immutable: give the new build a new release id' },
    );
  }
  const { deployment } = await store.createDeployment({
    type: 'deployment.created',
    payload: {
      app: process.app,
      environment,
      release,
      artifactSha256: sha256,
      processSource: process.source,
      processSourceHash: process.sourceHash,
      processFile: process.file,
      ...(process.includes.length > 0 ? { processIncludes: process.includes } : {}),
      plan,
      actor,
      varOverrides: options.varOverrides ?? {},
      ...(options.emergency ? { emergency: options.emergency } : {}),
    },
  });
  return { deployment, resumed: false };
}

async function verifiedArtifactChecksum(
  process: Process,
  artifactPath: string,
  release: string,
  environment: string,
  vars: Readonly<Record<string, string>>,
): Promise<string> {
  let sha256: string;
  try {
    sha256 = await sha256File(artifactPath);
  } catch (e) {
    throw new SlipwayError(
      'SLW_ARTIFACT_NOT_FOUND',
      `artifact of release ${release} not found: ${artifactPath}`,
      {
        hint: 'build it first, or check "artifact.path" in the process file',
        cause: e,
      },
    );
  }
  if (process.artifact.sha256File) {
    const sumFile = artifactPathFor(
      { ...process, artifact: { path: process.artifact.sha256File } },
      release,
      environment,
      vars,
    );
    const text = await readFile(sumFile, 'utf8').catch((e: unknown) => {
      throw new SlipwayError(
        'SLW_ARTIFACT_NOT_FOUND',
        `checksum file of release ${release} not found: ${sumFile}`,
        {
          cause: e,
        },
      );
    });
    const declared = text.trim().split(/\s+/)[0]?.toLowerCase();
    if (declared !== sha256) {
      throw new SlipwayError(
        'SLW_ARTIFACT_CHECKSUM',
        `artifact ${artifactPath} has SHA-256 ${sha256}, but ${sumFile} declares ${declared ?? '(nothing)'}`,
        { hint: 'the artifact changed after it was built, or the checksum file is stale: rebuild both' },
      );
    }
  }
  return sha256;
}

/**
 * The deployment a manual rollback applies to: the one whose release `current` points at on the target —
 * usually the latest succeeded deployment, but a failed one when automatic rollback was off and left its
 * release live. Without a known `current`, the latest succeeded deployment.
 */
export async function liveDeployment(
  store: Store,
  app: string,
  environment: string,
  currentRelease: string | null = null,
): Promise<DeploymentRecord> {
  const [active] = await store.listDeployments({ app, environment, states: ACTIVE_STATES, limit: 1 });
  if (active) {
    throw new SlipwayError(
      'SLW_ENV_BUSY',
      `deployment ${active.id} (${active.release}) to ${environment} is still ${active.state}`,
      { hint: `let it finish (slipway status ${active.id}), or end it: slipway cancel ${active.id}` },
    );
  }
  if (currentRelease !== null) {
    const recent = await store.listDeployments({
      app,
      environment,
      states: ['succeeded', 'failed'],
      limit: 50,
    });
    for (const d of recent) {
      const facts = viewDeployment(await store.readEvents(d.id)).facts;
      if (facts[FACT.switchedTo] === currentRelease) return d;
    }
  }
  const [live] = await store.listDeployments({ app, environment, states: ['succeeded'], limit: 1 });
  if (!live) {
    throw new SlipwayError(
      'SLW_NOTHING_TO_ROLL_BACK',
      `${environment} has no succeeded deployment to roll back`,
    );
  }
  return live;
}

/** `liveDeployment`, looking at what `current` points at on the environment's target. */
export async function liveDeploymentOn(
  store: Store,
  process: Process,
  environment: string,
): Promise<DeploymentRecord> {
  checkEnvironment(process, environment);
  const target = createTarget(process.environments[environment]!.target);
  try {
    return await liveDeployment(store, process.app, environment, await target.currentRelease());
  } finally {
    await target.close();
  }
}
