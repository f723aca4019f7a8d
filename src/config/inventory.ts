/**
 * Expands each environment's `inventory:` file and `hostDefaults` into a plain `hosts` list before the schema
 * runs, so every host check applies unchanged; the files read are returned to be pinned with a deployment.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { IncludedFile } from '../core/process.js';
import { isAnsibleInventory, readAnsibleInventory, SSH_ONLY_KEYS } from './inventory-ansible.js';
import type { FieldOrigin, HostOrigin, RoutedProblems } from './inventory-problems.js';
import { type InventoryHost, readSlipwayInventory } from './inventory-slipway.js';
import { ProblemList } from './problems.js';
import type { KeyPath } from './yaml-positions.js';
import { parseYaml } from './yaml-positions.js';

/** Reads an included file by the path written in the process file; throws like `readFileSync`. */
export type ReadInclude = (path: string) => string;

/**
 * Reads includes from disk, relative to the process file's folder, except those in `recorded`: a deployment
 * recompiles with the texts it recorded at creation, never the files as they are now.
 */
export function includeReader(processFile: string, recorded?: readonly IncludedFile[]): ReadInclude {
  const pinned = new Map((recorded ?? []).map((f) => [f.path, f.text]));
  return (path) => pinned.get(path) ?? readFileSync(resolve(dirname(processFile), path), 'utf8');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The process data with `hosts` filled in from `inventory` (and `hostDefaults` merged into every host),
 * routes registered on `problems` so problems point at the inventory file. Problems with the inventory
 * itself (missing, not YAML, wrong shape) are added to `problems` as well.
 */
export function expandHosts(
  data: unknown,
  processFile: string,
  problems: RoutedProblems,
  read: ReadInclude,
): { data: unknown; includes: IncludedFile[] } {
  const includes: IncludedFile[] = [];
  if (!isMapping(data) || !isMapping(data.environments)) return { data, includes };
  const lists = new Map<string, ProblemList>();
  const environments: Record<string, unknown> = {};

  for (const [name, env] of Object.entries(data.environments)) {
    environments[name] = env;
    if (!isMapping(env)) continue;
    const base = ['environments', name];
    const defaults = isMapping(env.hostDefaults) ? env.hostDefaults : undefined;
    const inventory = env.inventory;
    if (env.hostDefaults !== undefined && inventory === undefined && env.hosts === undefined)
      problems.add(
        [...base, 'hostDefaults'],
        '"hostDefaults" applies only to an environment with "hosts" or "inventory"',
        {
          at: 'key',
          hint: 'remove it, or list the machines under "hosts" or in an inventory file',
        },
      );
    if (inventory === undefined) {
      // Hosts written in the process file: only `hostDefaults` needs merging (and routing to where it is).
      if (defaults && Array.isArray(env.hosts)) {
        const hosts = env.hosts.map((value, i): InventoryHost => {
          const at = [...base, 'hosts', i];
          const fields: Record<string, FieldOrigin> = {};
          if (isMapping(value))
            for (const k of Object.keys(value)) fields[k] = { in: 'process', path: [...at, k] };
          const groups = isMapping(value) && Array.isArray(value.groups) ? value.groups : [];
          return {
            value,
            origin: {
              entry: { in: 'process', path: at },
              fields,
              groups: groups.map((_, j) => ({ in: 'process', path: [...at, 'groups', j] })),
            },
          };
        });
        const merged = withDefaults(hosts, defaults, [...base, 'hostDefaults']);
        environments[name] = { ...env, hosts: merged.map((h) => h.value) };
        problems.route(name, { whole: [...base, 'hosts'], hosts: merged.map((h) => h.origin) });
      }
      continue;
    }
    // A wrong type is the schema's to report.
    if (typeof inventory !== 'string' || inventory === '') continue;
    for (const other of ['hosts', 'target'] as const) {
      if (env[other] !== undefined)
        problems.add([...base, 'inventory'], `environment "${name}" has both "${other}" and "inventory"`, {
          at: 'key',
          hint: `list the hosts in the inventory file or under "hosts", not both${other === 'target' ? ' (then remove "target")' : ''}`,
        });
    }
    if (env.hosts !== undefined || env.target !== undefined) continue;

    const shown = isAbsolute(inventory) ? inventory : join(dirname(processFile), inventory);
    let text: string;
    try {
      text = read(inventory);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.add(
        [...base, 'inventory'],
        code === 'ENOENT'
          ? `no inventory file at ${shown}`
          : `cannot read inventory file ${shown}: ${(e as Error).message}`,
        {
          hint:
            code === 'ENOENT'
              ? `"${inventory}" is relative to the process file's folder; create it or fix the path`
              : undefined,
        },
      );
      continue;
    }
    if (!includes.some((f) => f.path === inventory))
      includes.push({ path: inventory, text, sha256: sha256(text) });

    const parsed = parseYaml(text);
    if (!parsed.ok) {
      for (const p of parsed.problems) problems.addPositioned({ file: shown, path: '', ...p });
      continue;
    }
    let list = lists.get(shown);
    if (!list) {
      list = new ProblemList(shown, parsed.yaml);
      lists.set(shown, list);
    }
    const read_ = isAnsibleInventory(parsed.yaml.data)
      ? readAnsibleInventory(parsed.yaml.data as Record<string, unknown>, list)
      : readSlipwayInventory(parsed.yaml.data, list);
    const merged = defaults ? withDefaults(read_, defaults, [...base, 'hostDefaults']) : read_;
    if (merged.length === 0 && list.size === 0)
      list.add([], 'the inventory lists no hosts', { hint: 'add at least one host' });
    environments[name] = { ...env, hosts: merged.map((h) => h.value) };
    problems.route(name, {
      inventory: list,
      yaml: parsed.yaml,
      whole: [...base, 'inventory'],
      hosts: merged.map((h) => h.origin),
    });
  }
  return { data: { ...data, environments }, includes };
}

/** Keys a host does not set come from `hostDefaults`; `groups` add up. */
function withDefaults(
  hosts: readonly InventoryHost[],
  defaults: Record<string, unknown>,
  at: KeyPath,
): InventoryHost[] {
  return hosts.map((h) => {
    if (!isMapping(h.value)) return h;
    const value: Record<string, unknown> = { ...h.value };
    const fields: Record<string, FieldOrigin> = { ...h.origin.fields };
    const groups = [...h.origin.groups];
    const local = (value.type ?? defaults.type) === 'local';
    for (const [k, v] of Object.entries(defaults)) {
      // Connection defaults are for the ssh hosts of a mixed fleet.
      if (local && SSH_ONLY_KEYS.has(k)) continue;
      if (k === 'groups' && Array.isArray(v) && (value.groups === undefined || Array.isArray(value.groups))) {
        const own = (value.groups ?? []) as unknown[];
        const extra = v.map((g, j) => [g, j] as const).filter(([g]) => !own.includes(g));
        value.groups = [...own, ...extra.map(([g]) => g)];
        for (const [, j] of extra) groups.push({ in: 'process', path: [...at, 'groups', j] });
        continue;
      }
      if (value[k] !== undefined) continue;
      value[k] = v;
      fields[k] = { in: 'process', path: [...at, k] };
    }
    const origin: HostOrigin = { entry: h.origin.entry, fields, groups };
    return { value, origin };
  });
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
