/** Compile-time checks of `{{ }}` templates: known names, declared vars and secrets, and where templates and secrets may go. */

import { templateRefs } from '../core/template.js';
import { phaseEnvironments } from './cross-checks.js';
import { closest } from './did-you-mean.js';
import { type ProblemList, show } from './problems.js';
import type { ProcessFile } from './schema.js';
import type { KeyPath } from './yaml-positions.js';

/**
 * How a templated string is used. Secrets may reach a command only through its environment, a
 * request only through headers and body: argv lists show in `ps`, URLs and paths in logs.
 */
type Use = 'argv' | 'shell' | 'env' | 'url' | 'header' | 'body' | 'path' | 'expect' | 'artifact';
const SECRETS_ALLOWED: ReadonlySet<Use> = new Set(['env', 'header', 'body']);
const USE_WORDS: Readonly<Record<Use, string>> = {
  argv: 'an argv list',
  shell: 'a shell string',
  env: 'an env value',
  url: 'a URL',
  header: 'a header',
  body: 'a body',
  path: 'a path',
  expect: 'an expected body',
  artifact: 'the artifact path',
};

/** Known only once a deployment exists and its target is open: not when its artifact is chosen. */
const NOT_FOR_ARTIFACTS = new Set([
  'deployment.id',
  'target.root',
  'target.current',
  'target.shared',
  'target.release',
]);

const FIXED_NAMES = [
  'app',
  'env',
  'release',
  'deployment.id',
  'target.root',
  'target.current',
  'target.shared',
  'target.release',
];

const SHELL_HINT =
  'pass values as environment variables, e.g. "$PORT"; templates are only allowed in argv arrays, env values, URLs and config files';

interface Field {
  readonly path: KeyPath;
  readonly text: string;
  readonly use: Use;
  /** Environments in which the string is rendered. */
  readonly envs: readonly string[];
}

type Command = string | readonly string[];
type Scalars = Readonly<Record<string, string | number | boolean>> | undefined;

export function checkTemplates(file: ProcessFile, problems: ProblemList): void {
  const declared = {
    topVars: new Set(Object.keys(file.vars ?? {})),
    envVars: new Map(
      Object.entries(file.environments).map(([n, e]) => [n, new Set(Object.keys(e.vars ?? {}))]),
    ),
    secrets: new Map(
      Object.entries(file.environments).map(([n, e]) => [n, new Set(Object.keys(e.secrets ?? {}))]),
    ),
  };
  const fleets = fleetsOf(file);
  for (const field of templateFields(file)) checkField(field, declared, problems, fleets);
  checkVarValues(['vars'], file.vars, problems);
  for (const [name, env] of Object.entries(file.environments)) {
    checkVarValues(['environments', name, 'vars'], env.vars, problems);
  }
}

/** Var values are plain data, never rendered: a template in one would reach its user verbatim. */
function checkVarValues(path: KeyPath, vars: Scalars, problems: ProblemList): void {
  for (const [name, value] of Object.entries(vars ?? {})) {
    if (typeof value !== 'string' || !value.includes('{{')) continue;
    problems.add([...path, name], `a var value is not a template, found ${show(value)}`, {
      hint: 'use the templates where the var is used, e.g. url: http://{{ vars.HOST }}:{{ vars.PORT }}/',
    });
  }
}

interface Declared {
  readonly topVars: ReadonlySet<string>;
  readonly envVars: ReadonlyMap<string, ReadonlySet<string>>;
  readonly secrets: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Every string that is rendered as a template at run time, with how it is used and where. */
function templateFields(file: ProcessFile): Field[] {
  const out: Field[] = [];
  const all = Object.keys(file.environments);
  const add = (path: KeyPath, text: string | undefined, use: Use, envs: readonly string[]) => {
    if (text !== undefined) out.push({ path, text, use, envs });
  };
  const command = (path: KeyPath, cmd: Command | undefined, envs: readonly string[]) => {
    if (typeof cmd === 'string') add(path, cmd, 'shell', envs);
    else
      cmd?.forEach((arg, i) => {
        add([...path, i], arg, 'argv', envs);
      });
  };
  const strings = (path: KeyPath, record: Scalars, use: Use, envs: readonly string[]) => {
    for (const [k, v] of Object.entries(record ?? {}))
      if (typeof v === 'string') add([...path, k], v, use, envs);
  };
  const service = (path: KeyPath, s: ProcessFile['service'], envs: readonly string[]) => {
    for (const key of ['start', 'stop', 'reload'] as const) command([...path, key], s?.[key], envs);
    strings([...path, 'env'], s?.env, 'env', envs);
  };
  type Run = { run: Command; env?: Scalars; cwd?: string | undefined };
  const run = (path: KeyPath, r: Run, envs: readonly string[]) => {
    command([...path, 'run'], r.run, envs);
    strings([...path, 'env'], r.env, 'env', envs);
    add([...path, 'cwd'], r.cwd, 'path', envs);
  };
  type Http = {
    url: string;
    headers?: Scalars;
    body?: string | undefined;
    expect?: { body?: string | undefined } | undefined;
  };
  const http = (path: KeyPath, h: Http, envs: readonly string[]) => {
    add([...path, 'url'], h.url, 'url', envs);
    strings([...path, 'headers'], h.headers, 'header', envs);
    add([...path, 'body'], h.body, 'body', envs);
    add([...path, 'expect', 'body'], h.expect?.body, 'expect', envs);
  };

  add(['artifact', 'path'], file.artifact.path, 'artifact', all);
  add(['artifact', 'sha256File'], file.artifact.sha256File, 'artifact', all);
  service(['service'], file.service, all);
  for (const [name, env] of Object.entries(file.environments))
    service(['environments', name, 'service'], env.service, [name]);
  // Monitors render in their own environment, under the same rules as the steps they resemble.
  for (const [name, env] of Object.entries(file.environments)) {
    (env.monitors ?? []).forEach((m, i) => {
      const at = ['environments', name, 'monitors', i];
      const envs = [name];
      if ('http' in m) http([...at, 'http'], m.http, envs);
      if ('auth' in m) http([...at, 'auth'], m.auth, envs);
      if ('command' in m) run([...at, 'command'], m.command, envs);
      const probe = 'prometheus' in m ? m.prometheus : 'json' in m ? m.json : undefined;
      if (probe !== undefined) {
        const kind = 'prometheus' in m ? 'prometheus' : 'json';
        add([...at, kind, 'url'], probe.url, 'url', envs);
        strings([...at, kind, 'headers'], probe.headers, 'header', envs);
      }
      if ('sql' in m) {
        // A connection string and password reach the database driver only, never a log: like an env value.
        add([...at, 'sql', 'url'], m.sql.url, 'env', envs);
        add([...at, 'sql', 'password'], m.sql.password, 'env', envs);
        add([...at, 'sql', 'path'], m.sql.path, 'path', envs);
      }
    });
  }
  file.phases.forEach((phase, p) => {
    const envs = phaseEnvironments(file, phase);
    phase.steps.forEach((step, s) => {
      const path = ['phases', p, 'steps', s];
      if ('run' in step) run(path, step, envs);
      if ('http' in step) http([...path, 'http'], step.http, envs);
      if ('config' in step) {
        step.config.forEach((f, i) => {
          add([...path, 'config', i, 'template'], f.template, 'path', envs);
          add([...path, 'config', i, 'dest'], f.dest, 'path', envs);
        });
      }
      if ('smoke' in step) {
        step.smoke.forEach((check, i) => {
          if ('http' in check) http([...path, 'smoke', i, 'http'], check.http, envs);
          else run([...path, 'smoke', i], check, envs);
        });
      }
      // A load step's request is an HTTP request: the same rules apply.
      if ('load' in step) http([...path, 'load'], step.load, envs);
      if ('junit' in step) add([...path, 'junit', 'path'], step.junit.path, 'path', envs);
      if ('sarif' in step) add([...path, 'sarif', 'path'], step.sarif.path, 'path', envs);
      if ('npm-audit' in step) add([...path, 'npm-audit', 'path'], step['npm-audit'].path, 'path', envs);
      if ('benchmark' in step) add([...path, 'benchmark', 'path'], step.benchmark.path, 'path', envs);
      if ('coverage' in step) add([...path, 'coverage', 'path'], step.coverage.path, 'path', envs);
      if ('backup' in step) {
        step.backup.items.forEach((item, i) => {
          const at = [...path, 'backup', 'items', i];
          if ('files' in item) add([...at, 'files'], item.files, 'path', envs);
          else if ('sqlite' in item) add([...at, 'sqlite'], item.sqlite, 'path', envs);
          else {
            add([...at, 'postgres', 'url'], item.postgres.url, 'url', envs);
            // Like an env value: it reaches pg_dump only as PGPASSWORD.
            add([...at, 'postgres', 'password'], item.postgres.password, 'env', envs);
          }
        });
      }
      const database = (
        at: KeyPath,
        db: { sqlite: string } | { postgres: { url: string; password?: string | undefined } },
      ) => {
        if ('sqlite' in db) add([...at, 'sqlite'], db.sqlite, 'path', envs);
        else {
          add([...at, 'postgres', 'url'], db.postgres.url, 'url', envs);
          // Like an env value: it reaches the database driver only, never a log.
          add([...at, 'postgres', 'password'], db.postgres.password, 'env', envs);
        }
      };
      if ('migrate' in step) database([...path, 'migrate', 'database'], step.migrate.database);
      if ('integrity' in step && 'capture' in step.integrity)
        database([...path, 'integrity', 'capture', 'database'], step.integrity.capture.database);
    });
  });
  return out;
}

/** `{{ host.* }}` has a value in environments with `hosts`; `{{ slot.* }}` in those with blue-green or canary. */
const FLEET_NAMES = ['host.name', 'host.address', 'host.servicePort', 'slot.name', 'slot.port'];

/** Per environment: whether it has hosts, and whether its strategy uses slots. */
type Fleets = ReadonlyMap<
  string,
  { readonly hosts: boolean; readonly slots: boolean; readonly ports: boolean }
>;

function fleetsOf(file: ProcessFile): Fleets {
  return new Map(
    Object.entries(file.environments).map(([n, e]) => [
      n,
      {
        hosts: e.hosts !== undefined,
        slots: e.strategy?.type === 'blue-green' || e.strategy?.type === 'canary',
        ports: e.hosts?.every((h) => h.servicePort !== undefined) ?? false,
      },
    ]),
  );
}

function checkFleetName(ref: string, { path, envs }: Field, fleets: Fleets, problems: ProblemList): void {
  const slot = ref.startsWith('slot.');
  const port = ref === 'host.servicePort';
  const has = (e: string) =>
    slot ? fleets.get(e)?.slots : port ? fleets.get(e)?.ports : fleets.get(e)?.hosts;
  const missing = envs.filter((e) => !has(e));
  if (missing.length === 0) return;
  problems.add(path, `"{{ ${ref} }}" has no value in ${environments(missing)}`, {
    hint: port
      ? 'give every host of those environments a "servicePort"'
      : slot
        ? 'slots exist only with strategy blue-green or canary; limit the phase to those environments with "environments"'
        : 'hosts exist only in environments that list "hosts"; limit the phase to those environments with "environments"',
  });
}

function checkField(field: Field, declared: Declared, problems: ProblemList, fleets: Fleets): void {
  const { path, text, use } = field;
  if (use === 'shell') {
    // Splicing a value into a shell string is how injection happens; the value must travel as data.
    if (text.includes('{{'))
      problems.add(path, `a shell string must not contain templates, found ${show(text)}`, {
        hint: SHELL_HINT,
      });
    return;
  }
  const refs = templateRefs(text);
  if (text.split('{{').length - 1 !== refs.length) {
    problems.add(path, `malformed template in ${show(text)}`, {
      hint: 'write {{ name }}, e.g. {{ vars.PORT }}; names are letters, digits and "_" joined by "."',
    });
  }
  for (const ref of new Set(refs)) {
    const [namespace, name, ...rest] = ref.split('.');
    if (use === 'artifact' && NOT_FOR_ARTIFACTS.has(ref)) {
      problems.add(path, `"{{ ${ref} }}" has no value yet when the artifact is looked up`, {
        hint: 'artifact paths may use {{ app }}, {{ env }}, {{ release }} and {{ vars.NAME }}',
      });
      continue;
    }
    if (FIXED_NAMES.includes(ref)) continue;
    if (FLEET_NAMES.includes(ref)) {
      checkFleetName(ref, field, fleets, problems);
      continue;
    }
    if (namespace === 'vars' && name !== undefined && rest.length === 0)
      checkVar(name, field, declared, problems);
    else if (namespace === 'secrets' && name !== undefined && rest.length === 0)
      checkSecret(name, field, declared, problems);
    else {
      const known = [
        ...FIXED_NAMES,
        ...FLEET_NAMES,
        ...[...allVars(declared)].map((v) => `vars.${v}`),
        ...[...new Set([...declared.secrets.values()].flatMap((s) => [...s]))].map((s) => `secrets.${s}`),
      ];
      const near = closest(ref, known);
      problems.add(path, `unknown template name "{{ ${ref} }}"`, {
        hint:
          near !== undefined
            ? `did you mean "{{ ${near} }}"?`
            : `known names: ${FIXED_NAMES.join(', ')}, vars.NAME, secrets.NAME`,
      });
    }
  }
}

function allVars(declared: Declared): Set<string> {
  return new Set([...declared.topVars, ...[...declared.envVars.values()].flatMap((s) => [...s])]);
}

/**
 * A var must have a value in every environment the string is rendered in. One given only at deploy
 * time (`--var NAME=VALUE`) is declared too, with an empty default: then a typo is never mistaken for it.
 */
function checkVar(name: string, { path, envs }: Field, declared: Declared, problems: ProblemList): void {
  if (declared.topVars.has(name)) return;
  const known = allVars(declared);
  if (!known.has(name)) {
    const near = closest(name, known);
    problems.add(path, `"{{ vars.${name} }}" is not declared`, {
      hint:
        near !== undefined
          ? `did you mean "{{ vars.${near} }}"?`
          : `declare ${name} under "vars" (an empty value if it is given with --var at deploy time)`,
    });
    return;
  }
  const missing = envs.filter((e) => !declared.envVars.get(e)?.has(name));
  if (missing.length === 0) return;
  problems.add(path, `"{{ vars.${name} }}" has no value in ${environments(missing)}`, {
    hint: `declare ${name} under the top-level "vars" or under each environment's "vars"`,
  });
}

function checkSecret(
  name: string,
  { path, use, envs }: Field,
  declared: Declared,
  problems: ProblemList,
): void {
  if (!SECRETS_ALLOWED.has(use)) {
    const seenIn = use === 'argv' ? 'process lists and logs' : 'logs and reports';
    const instead =
      use === 'url' || use === 'expect'
        ? `send it in a header instead, e.g. headers: { authorization: 'Bearer {{ secrets.${name} }}' }`
        : `pass it in an env value instead, e.g. env: { ${name}: '{{ secrets.${name} }}' }`;
    problems.add(
      path,
      `"{{ secrets.${name} }}" may not be used in ${USE_WORDS[use]}: it would show in ${seenIn}`,
      {
        hint: instead,
      },
    );
    return;
  }
  const missing = envs.filter((e) => !declared.secrets.get(e)?.has(name));
  if (missing.length === 0) return;
  problems.add(path, `"{{ secrets.${name} }}" is not declared in ${environments(missing)}`, {
    hint: `add it under the environment's "secrets", e.g. ${name}: { env: ${name} }`,
  });
}

function environments(names: readonly string[]): string {
  return `environment${names.length === 1 ? '' : 's'} ${names.map((n) => `"${n}"`).join(', ')}`;
}
