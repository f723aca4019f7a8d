/** Shared pieces of the monitor tests: compiled monitor specs from YAML, a monitor context, the notes sample service. */

import { createRequire } from 'node:module';
import path from 'node:path';
import { compileProcess } from '../src/config/load-process.js';
import type { Target } from '../src/core/ports.js';
import type { MonitorSpec } from '../src/core/process.js';
import { makeRedactor } from '../src/core/redact.js';
import type { TemplateScope } from '../src/core/template.js';
import type { MonitorContext } from '../src/monitors/create-monitor.js';

/**
 * Compiles `monitors:` YAML (a list, indented by 6 spaces inside an environment) through the real config
 * loader, so the tests exercise what a user's slipway.yaml turns into.
 */
export function monitorSpecs(
  monitorsYaml: string,
  declare: { readonly vars?: readonly string[]; readonly secrets?: readonly string[] } = {},
): MonitorSpec[] {
  const secrets = declare.secrets ?? [];
  const vars = declare.vars ?? [];
  const source = [
    'version: 1',
    'app: shop',
    'artifact: { path: shop.tgz }',
    'environments:',
    '  production:',
    '    target: { root: /tmp/slipway-monitor-tests }',
    ...(vars.length > 0 ? ['    vars:', ...vars.map((v) => `      ${v}: ''`)] : []),
    ...(secrets.length > 0 ? ['    secrets:', ...secrets.map((s) => `      ${s}: { env: ${s} }`)] : []),
    '    monitors:',
    monitorsYaml.replace(/^\n/, '').trimEnd(),
    'phases:',
    '  - id: deploy',
    '    steps:',
    '      - { id: noop, run: [node, -e, "0"] }',
    '',
  ].join('\n');
  const process = compileProcess(source, 'slipway.yaml');
  return [...(process.environments.production?.monitors ?? [])];
}

/** A context as the engine gives one: scope with vars and secrets, a redactor hiding the secrets. */
export function monitorContext(
  options: {
    vars?: Record<string, string>;
    secrets?: Record<string, string>;
    baseDir?: string;
    target?: Target;
    commandEnv?: Record<string, string>;
  } = {},
): MonitorContext {
  const secrets = options.secrets ?? {};
  const scope: TemplateScope = {
    app: 'shop',
    env: 'production',
    release: 'v2',
    deployment: { id: '1' },
    vars: options.vars ?? {},
    secrets,
    target: {
      root: '/srv/shop',
      current: '/srv/shop/current',
      shared: '/srv/shop/shared',
      release: '/srv/shop/current',
    },
  };
  return {
    scope,
    redact: makeRedactor(Object.values(secrets)),
    baseDir: options.baseDir ?? process.cwd(),
    ...(options.target ? { target: options.target } : {}),
    ...(options.commandEnv ? { commandEnv: options.commandEnv } : {}),
  };
}

export interface NotesServer {
  readonly url: string;
  readonly port: number;
  /** The service's SQLite database (read it with a sql monitor). */
  readonly dbFile: string;
  stop(): Promise<void>;
}

interface Harness {
  makeTarget(scope?: object): { dir: string; dataDir: string; cleanup(): void };
  migrate(target: object): Promise<{ code: number; stdout: string; stderr: string }>;
  startServer(target: object): Promise<{ url: string; port: number; stop(): Promise<unknown> }>;
}

/** Starts the notes sample service of `version` (migrated, on a free loopback port) as the demo does. */
export async function startNotes(version: 'v1' | 'v2' | 'v3' = 'v2'): Promise<NotesServer> {
  const require = createRequire(import.meta.url);
  const harness = require(
    path.resolve(import.meta.dirname, `../examples/notes/app/${version}/test/harness.cjs`),
  ) as Harness;
  const target = harness.makeTarget({ release: version });
  let server: Awaited<ReturnType<Harness['startServer']>>;
  try {
    const migrated = await harness.migrate(target);
    if (migrated.code !== 0) throw new Error(`notes migrate failed: ${migrated.stdout}${migrated.stderr}`);
    server = await harness.startServer(target);
  } catch (e) {
    target.cleanup(); // a service that did not start leaves no folder behind
    throw e;
  }
  return {
    url: server.url,
    port: server.port,
    dbFile: path.join(target.dataDir, 'notes.db'),
    async stop() {
      await server.stop();
      target.cleanup();
    },
  };
}
