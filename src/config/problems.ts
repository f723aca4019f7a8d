/** Collects the problems found in a process file, each positioned at its YAML node, and words the bad values. */

import type { ConfigProblem } from '../core/errors.js';
import type { KeyPath, PositionedYaml } from './yaml-positions.js';

/**
 * Problem paths are dotted, list indexes included and 0-based: `phases.2.steps.0.run`. Dots rather
 * than `phases[2]` because `ConfigProblem.path` is documented that way; the line:col beside the
 * path is what points at the spot.
 */
export function formatPath(path: KeyPath): string {
  return path.join('.');
}

export interface ProblemOptions {
  readonly hint?: string | undefined;
  /** Point at the key of the entry rather than its value (unknown keys, bad names). */
  readonly at?: 'key' | 'value';
}

export class ProblemList {
  readonly #file: string;
  readonly #yaml: PositionedYaml;
  readonly #items: ConfigProblem[] = [];

  /** `file` is the path as the user typed it, so that `file:line:col` is clickable where they are. */
  constructor(file: string, yaml: PositionedYaml) {
    this.#file = file;
    this.#yaml = yaml;
  }

  add(path: KeyPath, message: string, options: ProblemOptions = {}): void {
    const { line, col } = this.#yaml.locate(path, options.at);
    const problem = { file: this.#file, line, col, path: formatPath(path), message };
    this.#items.push(options.hint === undefined ? problem : { ...problem, hint: options.hint });
  }

  get size(): number {
    return this.#items.length;
  }

  /** In file order, each problem once (a union can report the same spot through two branches). */
  sorted(): ConfigProblem[] {
    const seen = new Set<string>();
    return [...this.#items]
      .sort((a, b) => a.line - b.line || a.col - b.col)
      .filter((p) => {
        const key = `${p.line}:${p.col}:${p.path}:${p.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
  }
}

const MAX_SHOWN = 40;

/** A found value as a message quotes it: strings quoted and truncated, collections summarized. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    // A password written into a URL (scheme://user:password@host) must not be echoed into logs.
    const masked = value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^/@\s]*@/i, '$1:***@');
    const cut = masked.length > MAX_SHOWN ? `${masked.slice(0, MAX_SHOWN - 1)}…` : masked;
    return JSON.stringify(cut);
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list`;
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty mapping' : 'a mapping';
  return String(value);
}

/** The value at `path` in plain parsed data, or undefined. */
export function valueAt(data: unknown, path: KeyPath): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}
