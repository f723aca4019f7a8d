/** Reads Slipway's own inventory shapes: a list of host entries, or `{ hosts: [ … ], groups: { web: [ … ] } }`. */

import { closest } from './did-you-mean.js';
import type { FieldOrigin, HostOrigin } from './inventory-problems.js';
import { type ProblemList, show } from './problems.js';
import type { KeyPath } from './yaml-positions.js';

/** One host read from an inventory: its keys as a `hosts:` entry has them, and where each came from. */
export interface InventoryHost {
  /** Normally a mapping; anything else is left for the schema to refuse at the entry. */
  readonly value: unknown;
  readonly origin: HostOrigin;
}

const SHAPE_HINT =
  'an inventory is a list of hosts, { hosts: [ … ], groups: { web: [ … ] } }, or Ansible YAML starting with "all:"';

export function readSlipwayInventory(data: unknown, problems: ProblemList): InventoryHost[] {
  if (data === null || data === undefined) {
    problems.add([], 'the inventory file is empty', { hint: SHAPE_HINT });
    return [];
  }
  if (Array.isArray(data)) return entries(data, [], undefined);
  if (typeof data !== 'object') {
    problems.add([], `expected a list of hosts, found ${show(data)}`, { hint: SHAPE_HINT });
    return [];
  }
  const top = data as Record<string, unknown>;
  const out: InventoryHost[] = [];
  for (const key of Object.keys(top)) {
    if (key === 'hosts' || key === 'groups') continue;
    const near = closest(key, ['hosts', 'groups']);
    problems.add([key], `unknown key "${key}"`, {
      at: 'key',
      hint: near ? `did you mean "${near}"?` : SHAPE_HINT,
    });
  }
  if (top.hosts !== undefined) {
    if (Array.isArray(top.hosts)) out.push(...entries(top.hosts, ['hosts'], undefined));
    else problems.add(['hosts'], `expected a list of hosts, found ${show(top.hosts)}`);
  }
  if (top.groups !== undefined) {
    if (top.groups === null || typeof top.groups !== 'object' || Array.isArray(top.groups)) {
      problems.add(['groups'], `expected a mapping of group name to hosts, found ${show(top.groups)}`, {
        hint: 'e.g. groups: { web: [ { name: web1, … } ], db: [ … ] }',
      });
    } else {
      for (const [group, list] of Object.entries(top.groups)) {
        if (Array.isArray(list)) out.push(...entries(list, ['groups', group], group));
        else
          problems.add(
            ['groups', group],
            `expected a list of hosts for group "${group}", found ${show(list)}`,
          );
      }
    }
  }
  if (top.hosts === undefined && top.groups === undefined && Object.keys(top).length === 0)
    problems.add([], 'the inventory file is empty', { hint: SHAPE_HINT });
  return out;
}

/** Host entries at `path`; those of a group also get the group's name in their `groups`. */
function entries(list: readonly unknown[], path: KeyPath, group: string | undefined): InventoryHost[] {
  return list.map((item, i): InventoryHost => {
    const at = [...path, i];
    const entry: FieldOrigin = { in: 'source', path: at };
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      return { value: item, origin: { entry, fields: {}, groups: [] } };
    const value: Record<string, unknown> = { ...(item as Record<string, unknown>) };
    const fields: Record<string, FieldOrigin> = {};
    for (const key of Object.keys(value)) fields[key] = { in: 'source', path: [...at, key] };
    const groups: FieldOrigin[] = [];
    if (Array.isArray(value.groups))
      for (let j = 0; j < value.groups.length; j++) groups.push({ in: 'source', path: [...at, 'groups', j] });
    if (group !== undefined && (value.groups === undefined || Array.isArray(value.groups))) {
      const own = (value.groups ?? []) as unknown[];
      if (!own.includes(group)) {
        value.groups = [...own, group];
        groups.push({ in: 'source', path, at: 'key' });
      }
    }
    return { value, origin: { entry, fields, groups } };
  });
}
