/** Helpers for engine tests: a temp workspace with a process file, real tar.gz artifacts, a real SQLite store. */

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { compileProcess } from '../src/config/load-process.js';
import type { DeploymentView } from '../src/core/deployment-view.js';
import { SlipwayError } from '../src/core/errors.js';
import type { Actor } from '../src/core/events.js';
import type { Store } from '../src/core/ports.js';
import type { Process } from '../src/core/process.js';
import { Engine, type EngineOptions } from '../src/engine/engine.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { sha256File } from '../src/targets/safe-archive.js';

export const DEV: Actor = { user: 'dev', via: 'env' };
export const QUINN: Actor = { user: 'quinn', via: 'env' };
export const DANA: Actor = { user: 'dana', via: 'env' };

export interface Workspace {
  readonly dir: string;
  readonly store: Store;
  readonly engine: Engine;
  /** The process text the test deploys with. */
  yaml: string;
  /** Writes slipway.yaml and compiles it. */
  process(yaml: string): Promise<Process>;
  /** Builds artifacts/app-<release>.tar.gz holding these files. */
  artifact(release: string, files: Record<string, string>): Promise<string>;
  /** Builds the release's artifact from `files`, starts its deployment to prod as DEV with `yaml`, and runs it. */
  deploy(release: string, files: Record<string, string>, signal?: AbortSignal): Promise<DeploymentView>;
  cleanup(): Promise<void>;
}

export async function workspace(engineOptions: Partial<EngineOptions> = {}): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-engine-'));
  const store = await openSqliteStore(path.join(dir, '.slipway', 'slipway.db'));
  const engine = new Engine({ store, ...engineOptions });
  const ws: Workspace = {
    dir,
    store,
    engine,
    yaml: '',
    async process(yaml) {
      const file = path.join(dir, 'slipway.yaml');
      await writeFile(file, yaml);
      return compileProcess(yaml, file);
    },
    async artifact(release, files) {
      const src = path.join(dir, 'src', release);
      for (const [name, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(src, name)), { recursive: true });
        await writeFile(path.join(src, name), content);
      }
      const out = path.join(dir, 'artifacts', `app-${release}.tar.gz`);
      await mkdir(path.dirname(out), { recursive: true });
      await tar.create({ gzip: true, file: out, cwd: src, portable: true }, ['.']);
      return sha256File(out);
    },
    async deploy(release, files, signal) {
      await ws.artifact(release, files);
      const process = await ws.process(ws.yaml);
      const { deployment } = await startDeployment(store, {
        process,
        environment: 'prod',
        release,
        actor: DEV,
      });
      return engine.run(deployment.id, signal);
    },
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ws;
}

/** A process with one environment and the given phases (YAML text, indented under `phases:`). */
export function processYaml(phases: string, extra = ''): string {
  return `version: 1
app: demo
roles:
  developer: [dev]
  qa: [quinn, dev]
  devops: [dana]
artifact:
  path: artifacts/app-{{ release }}.tar.gz
vars:
  GREETING: hello
environments:
  prod:
    target: { root: target }
${extra}
phases:
${phases}
`;
}

/** The SlipwayError that `work` (a promise, or a function returning one) rejects with; anything else fails the test. */
export async function errorOf(work: Promise<unknown> | (() => Promise<unknown>)): Promise<SlipwayError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (e) {
    if (e instanceof SlipwayError) return e;
    throw e;
  }
  throw new Error('expected a SlipwayError');
}
