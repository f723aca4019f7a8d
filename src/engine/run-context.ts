/** Everything one runner needs to drive one deployment: its compiled process, target, secrets, and the serialized log writer. */

import path from 'node:path';
import { compileProcess } from '../config/load-process.js';
import type { DeploymentView } from '../core/deployment-view.js';
import { applyEvent } from '../core/deployment-view.js';
import type { AnyNewEvent, AnyStoredEvent } from '../core/events.js';
import type { Store, Target } from '../core/ports.js';
import type { EnvironmentSpec, Process } from '../core/process.js';
import { makeRedactor, type Redactor } from '../core/redact.js';
import { renderTemplate, type TemplateScope } from '../core/template.js';
import { createTarget } from '../targets/create-target.js';
import { resolveSecrets } from './secrets.js';

export interface EngineHooks {
  /** Every event, right after it is stored. */
  onEvent?(event: AnyStoredEvent, view: DeploymentView): void;
  /** Live command output (already redacted), before it is batched into `step.output` events. */
  onOutput?(deploymentId: number, phase: string, step: string, chunk: string): void;
}

export interface RunContext {
  readonly store: Store;
  readonly hooks: EngineHooks;
  readonly view: DeploymentView;
  readonly process: Process;
  readonly environment: EnvironmentSpec;
  readonly target: Target;
  readonly secrets: Readonly<Record<string, string>>;
  readonly vars: Readonly<Record<string, string>>;
  readonly redact: Redactor;
  readonly artifactPath: string;
  /** The release folder a rollback would return to (kept by pruning); set by the runner before steps run. */
  previousGood: string | null;
  /** Appends in order (one writer per deployment), folding each stored event into `view`. */
  append(events: readonly AnyNewEvent[]): Promise<void>;
}

export function openRunContext(
  store: Store,
  hooks: EngineHooks,
  view: DeploymentView,
  makeTarget: (env: EnvironmentSpec) => Target = (env) => createTarget(env.target),
): RunContext {
  // The process is the one recorded at creation, never the file as it is now: a resume must not change course.
  const process = compileProcess(view.processSource, view.processFile, view.processIncludes);
  const environment = process.environments[view.environment];
  if (!environment) throw new Error(`environment ${view.environment} vanished from the recorded process`);
  const secrets = resolveSecrets(environment, process.baseDir);
  const vars = { ...environment.vars, ...view.varOverrides };
  const redact = makeRedactor(Object.values(secrets));
  let chain: Promise<void> = Promise.resolve();
  const ctx: RunContext = {
    store,
    hooks,
    view,
    process,
    environment,
    target: makeTarget(environment),
    secrets,
    vars,
    redact,
    artifactPath: artifactPathFor(process, view.release, view.environment, vars),
    previousGood: null,
    append(events) {
      const next = chain.then(async () => {
        const stored = await store.append(view.id, view.lastSeq, events);
        for (const e of stored) {
          applyEvent(view, e);
          try {
            hooks.onEvent?.(e, view);
          } catch {
            // A broken display must not make a stored event look unstored.
          }
        }
      });
      chain = next.catch(() => undefined);
      return next;
    },
  };
  return ctx;
}

/** The artifact file of a release, resolved against the process file's folder. */
export function artifactPathFor(
  process: Process,
  release: string,
  environment: string,
  vars: Readonly<Record<string, string>>,
): string {
  // The config refuses deployment and target names in artifact paths: they have no value yet.
  const none = { root: '', current: '', shared: '', release: '' };
  const scope = { app: process.app, env: environment, release, deployment: { id: '' }, vars, target: none };
  const text = renderTemplate(process.artifact.path, scope, 'artifact.path');
  return path.resolve(process.baseDir, text);
}

/** The template scope for a release on this deployment's target (or on `target`, a fleet's host). */
export function scopeFor(
  ctx: RunContext,
  release: string,
  releaseName: string,
  target: Target = ctx.target,
): TemplateScope {
  const layout = target.layout;
  return {
    app: ctx.process.app,
    env: ctx.environment.name,
    release,
    deployment: { id: String(ctx.view.id) },
    vars: ctx.vars,
    secrets: ctx.secrets,
    target: {
      root: layout.root,
      current: layout.current,
      shared: layout.shared,
      release: `${layout.releases}/${releaseName}`,
    },
  };
}

/** The environment every command sees: variables, SLIPWAY_* facts, and secrets by name. */
export function commandEnvFor(ctx: RunContext, scope: TemplateScope): Record<string, string> {
  return {
    ...ctx.vars,
    SLIPWAY_APP: scope.app,
    SLIPWAY_ENV: scope.env,
    SLIPWAY_RELEASE: scope.release,
    SLIPWAY_DEPLOYMENT_ID: scope.deployment.id,
    SLIPWAY_RELEASE_DIR: scope.target.release,
    SLIPWAY_CURRENT: scope.target.current,
    SLIPWAY_SHARED: scope.target.shared,
    ...ctx.secrets,
  };
}

/** The folder name under `releases/` for a deployment: unique per deployment so config never edits a live release. */
export function releaseNameFor(deploymentId: number, release: string): string {
  return `${release}-d${deploymentId}`;
}
