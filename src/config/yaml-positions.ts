/** Parses slipway.yaml keeping node positions, so that every problem can be reported as file:line:col. */

import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
  type YAMLError,
} from 'yaml';

/** A path into the parsed data: mapping keys and sequence indexes, e.g. `['phases', 2, 'steps', 0, 'run']`. */
export type KeyPath = readonly (string | number)[];

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
}

export interface SyntaxProblem extends Position {
  readonly message: string;
  readonly hint?: string;
}

export interface PositionedYaml {
  /** The plain data (mappings as objects, sequences as arrays). */
  readonly data: unknown;
  /**
   * Where the node at `path` starts; with `at: 'key'`, where its key starts. When the path does not
   * exist (a missing required key), the start of the deepest mapping or sequence that does.
   */
  locate(path: KeyPath, at?: 'key' | 'value'): Position;
  /** A scalar's text as written: `1.10` is the number 1.1 in `data`, but a version var means "1.10". */
  sourceText(path: KeyPath): string | undefined;
}

export type ParseResult =
  | { readonly ok: true; readonly yaml: PositionedYaml }
  | { readonly ok: false; readonly problems: readonly SyntaxProblem[] };

/** Anchors may be reused, but not so often that a small file expands into gigabytes ("billion laughs"). */
const MAX_ALIAS_COUNT = 100;
const MAX_SYNTAX_PROBLEMS = 10;

export function parseYaml(source: string): ParseResult {
  const lineCounter = new LineCounter();
  // prettyErrors builds a context excerpt per error and has run out of memory on pathological
  // nesting, so positions are computed from the raw offsets instead.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: Math.max(p.line, 1), col: Math.max(p.col, 1) };
  };
  if (doc.errors.length > 0) {
    // After the first few, YAML errors are mostly echoes of the first ones; a runaway file would
    // otherwise produce thousands.
    const first = doc.errors.slice(0, MAX_SYNTAX_PROBLEMS);
    return { ok: false, problems: first.map((e) => syntaxProblem(e, doc, source, at)) };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return {
      ok: false,
      problems: [
        {
          line: 1,
          col: 1,
          message: (e as Error).message,
          hint: `aliases (*name) may expand to at most ${MAX_ALIAS_COUNT} nodes`,
        },
      ],
    };
  }
  return {
    ok: true,
    yaml: {
      data,
      locate(path, want = 'value') {
        const found = find(doc, path);
        const node = want === 'key' && found.complete ? (found.key ?? found.node) : found.node;
        return at(node?.range?.[0] ?? 0);
      },
      sourceText(path) {
        const found = find(doc, path);
        return found.complete && isScalar(found.node) ? found.node.source : undefined;
      },
    },
  };
}

interface Found {
  /** The node at the path, or the deepest existing ancestor when `complete` is false. */
  readonly node: Node | undefined;
  /** The key of the mapping entry holding `node`, when it is a mapping value. */
  readonly key: Node | undefined;
  readonly complete: boolean;
}

function find(doc: Document, path: KeyPath): Found {
  let node = doc.contents ?? undefined;
  let key: Node | undefined;
  for (const segment of path) {
    const container = isAlias(node) ? node.resolve(doc) : node;
    let next: Node | undefined;
    let nextKey: Node | undefined;
    if (isMap(container)) {
      const pair = container.items.find((p) => keyText(p.key) === String(segment));
      nextKey = pair?.key as Node | undefined;
      // `key:` with nothing after it holds an empty scalar; its key is the better place to point at.
      next = (isEmptyScalar(pair?.value) ? nextKey : (pair?.value as Node | undefined)) ?? nextKey;
    } else if (isSeq(container) && typeof segment === 'number') {
      next = container.items[segment] as Node | undefined;
    }
    if (next === undefined) return { node: container ?? undefined, key, complete: false };
    node = next;
    key = nextKey;
  }
  return { node: node ?? undefined, key, complete: true };
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && !node.source;
}

/** yaml's messages are precise but terse; these say what to do about the common ones. */
function syntaxProblem(
  e: YAMLError,
  doc: Document,
  source: string,
  at: (offset: number) => Position,
): SyntaxProblem {
  const [start] = e.pos;
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return {
        ...at(start),
        // The error marks only the key's first character; the key runs to its colon.
        message: `duplicate key "${/^[^:\n]*/.exec(source.slice(start))?.[0].trim() ?? ''}"`,
        hint: 'a key may appear only once in a mapping; remove or merge the repeated one',
      };
    case 'TAB_AS_INDENT':
      return {
        ...at(start),
        message: 'a tab is used for indentation',
        hint: 'YAML indents with spaces only',
      };
    case 'BAD_INDENT':
    case 'MISSING_CHAR': {
      // An unclosed quote or bracket is reported where the parser gave up, often at the end of
      // the file; the place the user has to fix is where it was opened.
      const opened = /quote|end with a/.test(e.message) ? unclosedAt(doc, start) : undefined;
      if (opened !== undefined) {
        return { ...at(opened.offset), message: `${opened.what} is never closed`, hint: e.message };
      }
      // yaml marks the start of the line; the misplaced entry starts after its indentation.
      const indent = /^ */.exec(source.slice(start))?.[0].length ?? 0;
      return {
        ...at(start + indent),
        message: e.message,
        hint: 'entries of one mapping or list must start in the same column, indented with spaces',
      };
    }
    default:
      // yaml turns a stack overflow on absurd nesting into an error at the node where it happened.
      return /call stack/.test(e.message)
        ? { ...at(start), message: 'the file nests too deeply to be read' }
        : { ...at(start), message: e.message };
  }
}

/** The innermost quoted string or flow collection (`[`, `{`) that is still open at `offset`. */
function unclosedAt(doc: Document, offset: number): { offset: number; what: string } | undefined {
  let found: { offset: number; what: string } | undefined;
  visit(doc, (_key, node) => {
    if (!(isScalar(node) || isCollection(node)) || !node.range) return;
    const [from, , to] = node.range;
    if (from >= offset || to < offset) return;
    if (isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) {
      found = { offset: from, what: node.type === 'QUOTE_DOUBLE' ? 'the " quote' : "the ' quote" };
    } else if (isCollection(node) && node.flow) {
      found = { offset: from, what: isSeq(node) ? 'the [ bracket' : 'the { brace' };
    }
  });
  return found;
}
