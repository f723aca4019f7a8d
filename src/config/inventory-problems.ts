/** A problem list that points problems about inventory hosts at the inventory file (or `hostDefaults`) they came from. */

import type { ConfigProblem } from '../core/errors.js';
import { ProblemList, type ProblemOptions } from './problems.js';
import type { KeyPath, PositionedYaml } from './yaml-positions.js';

/** Where one key of a host came from. */
export interface FieldOrigin {
  /** `process`: the process file (a `hostDefaults` key); `source`: the file the host entry is in. */
  readonly in: 'process' | 'source';
  readonly path: KeyPath;
  /** Point at the key rather than the value (an Ansible host name, a group name). */
  readonly at?: 'key' | 'value';
}

/** Where a host of the compiled `hosts` list came from, key by key. */
export interface HostOrigin {
  readonly entry: FieldOrigin;
  readonly fields: Readonly<Record<string, FieldOrigin>>;
  /** One origin per item of the host's merged `groups` list. */
  readonly groups: readonly FieldOrigin[];
}

/** The hosts of one environment: where each came from, and the list holding problems in their file. */
export interface HostRoute {
  /** Problems in the inventory file; undefined when the hosts are written in the process file. */
  readonly inventory?: ProblemList;
  /** The inventory file parsed, to say where another host is ("hosts.0" means nothing there). */
  readonly yaml?: PositionedYaml;
  /** Where problems about the `hosts` list as a whole go (the `inventory` key). */
  readonly whole: KeyPath;
  readonly hosts: readonly HostOrigin[];
}

/**
 * The process file's problems, with `environments.<env>.hosts.<i>.<key>` rerouted through the environment's
 * `HostRoute`: every later check (schema, fleet rules) keeps speaking of `hosts`, yet points at the right line.
 */
export class RoutedProblems extends ProblemList {
  readonly #routes = new Map<string, HostRoute>();
  readonly #raw: ConfigProblem[] = [];

  route(environment: string, route: HostRoute): void {
    this.#routes.set(environment, route);
  }

  /** A problem already positioned (a syntax error in an inventory file). */
  addPositioned(problem: ConfigProblem): void {
    this.#raw.push(problem);
  }

  /** Whether an inventory file is not YAML at all. */
  get syntax(): boolean {
    return this.#raw.length > 0;
  }

  override add(path: KeyPath, message: string, options: ProblemOptions = {}): void {
    const [top, env, hosts, index, key, ...rest] = path;
    const route = top === 'environments' && hosts === 'hosts' ? this.#routes.get(String(env)) : undefined;
    if (!route) {
      super.add(path, message, options);
      return;
    }
    const host = index === undefined ? undefined : route.hosts[Number(index)];
    if (!host) {
      super.add(route.whole, message, { ...options, at: 'key' });
      return;
    }
    let origin: FieldOrigin | undefined;
    let tail: KeyPath = [];
    if (key === 'groups' && typeof rest[0] === 'number' && host.groups[rest[0]]) {
      origin = host.groups[rest[0]];
      tail = rest.slice(1);
    } else if (key !== undefined && host.fields[String(key)]) {
      origin = host.fields[String(key)];
      tail = rest;
    }
    // A missing key (no `root` anywhere) is the host entry's problem.
    const at = origin ?? host.entry;
    const opts: ProblemOptions = { ...options, ...(at.at ? { at: at.at } : {}) };
    const target = at.in === 'process' || !route.inventory ? undefined : route.inventory;
    if (target) target.add([...at.path, ...tail], this.#inInventory(route, message), opts);
    else super.add([...at.path, ...tail], message, opts);
  }

  /** `hosts.3` in a message about an inventory host becomes where that host is in the inventory. */
  #inInventory(route: HostRoute, message: string): string {
    return message.replace(/\bhosts\.(\d+)\b/g, (text, i: string) => {
      const other = route.hosts[Number(i)]?.entry;
      if (other?.in !== 'source' || !route.yaml) return text;
      return `the host at line ${route.yaml.locate(other.path, other.at).line}`;
    });
  }

  override get size(): number {
    let n = super.size + this.#raw.length;
    for (const r of this.#routes.values()) n += r.inventory?.size ?? 0;
    return n;
  }

  /** The process file's problems first, then each inventory's, each in file order. */
  override sorted(): ConfigProblem[] {
    const inventories = [...new Set([...this.#routes.values()].map((r) => r.inventory))];
    return [...super.sorted(), ...this.#raw, ...inventories.flatMap((list) => list?.sorted() ?? [])];
  }
}
