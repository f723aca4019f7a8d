/** A small JSON path subset (`$.a.b[0].c`, `$['odd key']`): parsed once, resolved against response bodies. */

export type JsonPathSegment = string | number;

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;
const INDEX = /^\[(\d+)\]/;
const QUOTED = /^\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/;

/** The segments of a path, or a message saying where it stops making sense. */
export function parseJsonPath(path: string): { segments: JsonPathSegment[] } | { error: string } {
  if (!path.startsWith('$')) return { error: 'a JSON path starts with "$", e.g. $.status' };
  const segments: JsonPathSegment[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const at = path.length - rest.length;
    if (rest.startsWith('.')) {
      const m = NAME.exec(rest.slice(1));
      if (!m) return { error: `expected a key name after "." at character ${at + 2} of ${path}` };
      segments.push(m[0]);
      rest = rest.slice(1 + m[0].length);
      continue;
    }
    const index = INDEX.exec(rest);
    if (index) {
      segments.push(Number(index[1]));
      rest = rest.slice(index[0].length);
      continue;
    }
    const quoted = QUOTED.exec(rest);
    if (quoted) {
      segments.push((quoted[1] ?? quoted[2] ?? '').replace(/\\(.)/g, '$1'));
      rest = rest.slice(quoted[0].length);
      continue;
    }
    return {
      error: `unexpected "${rest[0]}" at character ${at + 1} of ${path}: use .key, [0] or ['key']`,
    };
  }
  return { segments };
}

/** Whether `path` is in the supported subset. */
export function isJsonPath(path: string): boolean {
  return 'segments' in parseJsonPath(path);
}

/** The value at `path` in `doc`, or `found: false` when some step is missing. `path` must be valid. */
export function resolveJsonPath(
  doc: unknown,
  path: string,
): { found: true; value: unknown } | { found: false } {
  const parsed = parseJsonPath(path);
  if ('error' in parsed) throw new Error(parsed.error);
  let node: unknown = doc;
  for (const seg of parsed.segments) {
    if (typeof seg === 'number') {
      if (!Array.isArray(node) || seg >= node.length) return { found: false };
      node = node[seg];
    } else {
      // Own keys only: "$.constructor" must not find Object's.
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, seg))
        return { found: false };
      node = (node as Record<string, unknown>)[seg];
    }
  }
  return { found: true, value: node };
}
