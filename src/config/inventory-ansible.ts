/** Reads Ansible's YAML inventory shape (`all: { hosts, children, vars }`) into Slipway host entries. */

import { closest } from './did-you-mean.js';
import { SSH_HOST_KEYS } from './fleet-schema.js';
import type { FieldOrigin } from './inventory-problems.js';
import type { InventoryHost } from './inventory-slipway.js';
import { type ProblemList, show } from './problems.js';
import type { KeyPath } from './yaml-positions.js';

/** Ansible's connection variables Slipway understands, and the host key each becomes. */
export const ANSIBLE_KEYS: Readonly<Record<string, string>> = {
  ansible_host: 'address',
  ansible_ssh_host: 'address',
  ansible_port: 'port',
  ansible_ssh_port: 'port',
  ansible_user: 'user',
  ansible_ssh_user: 'user',
  ansible_ssh_private_key_file: 'identityFile',
  ansible_private_key_file: 'identityFile',
  ansible_connection: 'type',
};

/** Variables with no bearing on how Slipway reaches a host: accepted and left alone. */
const IGNORED = new Set(['ansible_python_interpreter']);

/** Why a common Ansible variable is refused: each would change how the host is reached or who runs the commands. */
const REFUSED_HINTS: readonly [RegExp, string][] = [
  [/^ansible_become/, 'Slipway runs commands as the ssh user; give that user the rights the steps need'],
  [
    /^ansible_(ssh_)?pass(word)?$|^ansible_ssh_private_key_file_passphrase$/,
    'password logins are not supported: use a key (ansible_ssh_private_key_file) or agent: true',
  ],
  [
    /^ansible_ssh_(common|extra)_args$/,
    'for a jump host, set jump: { address, user, … } on the host or in hostDefaults',
  ],
];

/** Slipway's own host keys, usable as host or group vars (anything else that is not ansible_* belongs to playbooks). */
const SLIPWAY_KEYS = new Set(['type', 'address', 'root', 'servicePort', 'slots', ...SSH_HOST_KEYS]);

/** Keys that mean something only for ssh hosts. */
export const SSH_ONLY_KEYS: ReadonlySet<string> = new Set(SSH_HOST_KEYS);

const GROUP_KEYS = ['hosts', 'children', 'vars'];
/** Ansible's implicit groups: every host is in them, so they say nothing. */
const IMPLICIT_GROUPS = new Set(['all', 'ungrouped']);
/** Own vars beat any group's; deeper groups beat their parents. */
const OWN_RANK = 1_000_000;

interface Field {
  readonly value: unknown;
  readonly origin: FieldOrigin;
  readonly rank: number;
}
type Vars = Record<string, Field>;

/** A top-level mapping whose values look like Ansible groups is an Ansible inventory. */
export function isAnsibleInventory(data: unknown): boolean {
  if (!isMapping(data)) return false;
  if (Object.hasOwn(data, 'all')) return true;
  return Object.values(data).some(
    (v) => isMapping(v) && (isMapping(v.hosts) || isMapping(v.children) || isMapping(v.vars)),
  );
}

export function readAnsibleInventory(data: Record<string, unknown>, problems: ProblemList): InventoryHost[] {
  const hosts = new Map<
    string,
    { fields: Vars; groups: { name: string; origin: FieldOrigin }[]; entry: FieldOrigin }
  >();

  const varsOf = (node: unknown, path: KeyPath, rank: number): Vars => {
    if (node === null || node === undefined) return {};
    if (!isMapping(node)) {
      problems.add(path, `expected a mapping of variables, found ${show(node)}`);
      return {};
    }
    const out: Vars = {};
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      const mapped = ANSIBLE_KEYS[key];
      if (mapped !== undefined) {
        const v = ansibleValue(key, value, at, problems);
        if (v !== undefined) out[mapped] = { value: v, origin: { in: 'source', path: at }, rank };
      } else if (key.startsWith('ansible_')) {
        if (IGNORED.has(key)) continue;
        const hint =
          REFUSED_HINTS.find(([re]) => re.test(key))?.[1] ??
          (closest(key, Object.keys(ANSIBLE_KEYS)) !== undefined
            ? `did you mean "${closest(key, Object.keys(ANSIBLE_KEYS))}"?`
            : `Slipway reads ${Object.keys(ANSIBLE_KEYS).join(', ')}; remove "${key}" or use Slipway's own host keys`);
        problems.add(at, `unsupported Ansible variable "${key}"`, { at: 'key', hint });
      } else if (SLIPWAY_KEYS.has(key)) {
        out[key] = { value, origin: { in: 'source', path: at }, rank };
      }
      // Anything else is a playbook variable: not Slipway's business.
    }
    return out;
  };

  const walk = (name: string, node: unknown, path: KeyPath, inherited: Vars, depth: number): void => {
    if (node === null || node === undefined) return;
    if (!isMapping(node)) {
      problems.add(path, `expected an Ansible group { hosts, children, vars }, found ${show(node)}`);
      return;
    }
    for (const key of Object.keys(node)) {
      if (!GROUP_KEYS.includes(key)) {
        const near = closest(key, GROUP_KEYS);
        problems.add([...path, key], `unknown key "${key}" in Ansible group "${name}"`, {
          at: 'key',
          hint: near ? `did you mean "${near}"?` : 'an Ansible group holds "hosts", "children" and "vars"',
        });
      }
    }
    const vars = { ...inherited, ...varsOf(node.vars, [...path, 'vars'], depth) };
    const groupOrigin: FieldOrigin = { in: 'source', path, at: 'key' };
    if (node.hosts !== undefined && node.hosts !== null) {
      if (!isMapping(node.hosts)) {
        problems.add([...path, 'hosts'], `expected a mapping of host names, found ${show(node.hosts)}`, {
          hint: 'Ansible YAML lists hosts as keys: hosts: { web1: { ansible_host: 10.0.0.5 } }',
        });
      } else {
        for (const [hostName, own] of Object.entries(node.hosts)) {
          const at = [...path, 'hosts', hostName];
          if (/\[[^\]]*:[^\]]*\]/.test(hostName)) {
            problems.add(at, `host ranges like "${hostName}" are not supported`, {
              at: 'key',
              hint: 'list each host by its own name',
            });
            continue;
          }
          const fields = { ...vars, ...varsOf(own, at, OWN_RANK) };
          let host = hosts.get(hostName);
          if (!host) {
            host = { fields: {}, groups: [], entry: { in: 'source', path: at, at: 'key' } };
            hosts.set(hostName, host);
          }
          for (const [k, f] of Object.entries(fields)) {
            const had = host.fields[k];
            if (!had || f.rank > had.rank) host.fields[k] = f;
          }
          if (!IMPLICIT_GROUPS.has(name) && !host.groups.some((g) => g.name === name))
            host.groups.push({ name, origin: groupOrigin });
        }
      }
    }
    if (node.children !== undefined && node.children !== null) {
      if (!isMapping(node.children)) {
        problems.add([...path, 'children'], `expected a mapping of groups, found ${show(node.children)}`);
      } else {
        for (const [child, childNode] of Object.entries(node.children))
          walk(child, childNode, [...path, 'children', child], vars, depth + 1);
      }
    }
  };

  for (const [name, node] of Object.entries(data)) walk(name, node, [name], {}, 0);

  // A host listed only under a parent group still belongs to the groups that list it deeper: merged above.
  return [...hosts.entries()].map(([name, h]) => {
    const value: Record<string, unknown> = { name };
    const fields: Record<string, FieldOrigin> = { name: h.entry };
    const local = h.fields.type?.value === 'local';
    for (const [k, f] of Object.entries(h.fields)) {
      // Group-wide connection vars (ansible_user under all.vars) do not concern a local host.
      if (local && f.rank < OWN_RANK && SSH_ONLY_KEYS.has(k)) continue;
      value[k] = f.value;
      fields[k] = f.origin;
    }
    // Ansible's rule: without ansible_host, the inventory name is the address.
    if (value.address === undefined && (value.type ?? 'ssh') === 'ssh') {
      value.address = name;
      fields.address = h.entry;
    }
    if (h.groups.length > 0) value.groups = h.groups.map((g) => g.name);
    return { value, origin: { entry: h.entry, fields, groups: h.groups.map((g) => g.origin) } };
  });
}

/** Ansible values as Slipway wants them: ports may be written as strings, connections are ssh or local. */
function ansibleValue(key: string, value: unknown, at: KeyPath, problems: ProblemList): unknown {
  if (ANSIBLE_KEYS[key] === 'port' && typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (key === 'ansible_connection') {
    if (value === 'ssh' || value === 'smart' || value === 'paramiko') return 'ssh';
    if (value === 'local') return 'local';
    problems.add(at, `ansible_connection ${show(value)} is not supported`, {
      hint: 'Slipway reaches hosts over ssh (ansible_connection: ssh) or on this machine (local)',
    });
    return undefined;
  }
  return value;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
