/**
 * Keeps docs/process-file.md true: every YAML example in it is compiled. Complete files (starting with
 * `version: 1`) must compile as they are; excerpts (`# excerpt: top level`, `# excerpt: a phase's steps`)
 * must compile once placed into a scaffold with the declarations the doc says they assume; `# invalid`
 * examples must fail, with exactly the `slipway validate` output shown after them. And the reference stays
 * complete: every step kind appears in a checked example, every key of a kind's mapping in the text.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { compileProcess } from '../src/config/load-process.js';
import { KIND_KEYS_BY_KIND, STEP_KIND_KEYS } from '../src/config/schema.js';
import { ConfigError } from '../src/core/errors.js';
import { STEP_KINDS, type StepKind } from '../src/core/process.js';

const DOC = readFileSync(new URL('../docs/process-file.md', import.meta.url), 'utf8');

interface Block {
  readonly lang: string;
  readonly text: string;
  /** 1-based line of the opening fence, for failure messages. */
  readonly line: number;
}

const blocks: Block[] = [...DOC.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
  lang: m[1] as string,
  text: m[2] as string,
  line: DOC.slice(0, m.index).split('\n').length,
}));
const yamlBlocks = blocks.filter((b) => b.lang === 'yaml');

/** The declarations of the doc's `environments` example, which the excerpts assume. */
const SCAFFOLD = `
version: 1
app: myapp
roles: { developer: [alice], qa: [quinn], devops: [dana], pm: [pat] }
artifact:
  path: dist/myapp-{{ release }}.tar.gz
vars:
  HOST: 127.0.0.1
service:
  start: ['{{ target.current }}/bin/start']
  stop: ['{{ target.current }}/bin/stop']
  reload: ['{{ target.current }}/bin/reload']
  env: { DATA_DIR: '{{ target.shared }}' }
environments:
  staging:
    target: { root: /srv/myapp-staging }
    vars: { PORT: '8081', LOG_LEVEL: debug }
    secrets:
      API_TOKEN: { env: MYAPP_STAGING_TOKEN }
  production:
    target: { type: local, root: /srv/myapp }
    vars: { PORT: '8080', LOG_LEVEL: info }
    secrets:
      API_TOKEN: { file: /run/secrets/myapp-token }
    requires: [staging]
phases:
  - id: deploy
    steps:
      - { id: ship, release: {} }
`;

type Kind = 'file' | 'top-level excerpt' | 'steps excerpt' | 'invalid';

function kindOf(text: string): Kind | undefined {
  const first = text.split('\n', 1)[0] ?? '';
  if (first.startsWith('# invalid')) return 'invalid';
  if (first === '# excerpt: top level') return 'top-level excerpt';
  if (first === "# excerpt: a phase's steps") return 'steps excerpt';
  const body = text.replace(/^(\s*#.*\n|\s*\n)*/, '');
  return body.startsWith('version: 1\n') ? 'file' : undefined;
}

/** The text to compile for a block. */
function sourceOf(block: Block, kind: Kind): string {
  const scaffold = parse(SCAFFOLD) as Record<string, unknown>;
  if (kind === 'top-level excerpt') {
    return stringify({ ...scaffold, ...(parse(block.text) as Record<string, unknown>) });
  }
  if (kind === 'steps excerpt') {
    return stringify({ ...scaffold, phases: [{ id: 'example', steps: parse(block.text) }] });
  }
  return block.text;
}

const cases = yamlBlocks.map((b) => ({ ...b, kind: kindOf(b.text) }));

describe('docs/process-file.md YAML examples', () => {
  it('has complete files, excerpts and invalid examples, each block marked as one of them', () => {
    expect(cases.filter((c) => c.kind === undefined).map((c) => `line ${c.line}`)).toEqual([]);
    expect(cases.filter((c) => c.kind === 'file').length).toBeGreaterThanOrEqual(3);
    expect(cases.filter((c) => c.kind === 'steps excerpt').length).toBeGreaterThanOrEqual(8);
  });

  for (const c of cases.filter((x) => x.kind !== undefined && x.kind !== 'invalid')) {
    it(`compiles the ${c.kind} at line ${c.line}`, () => {
      const source = sourceOf(c, c.kind as Kind);
      try {
        compileProcess(source, 'slipway.yaml');
      } catch (e) {
        throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- compiled text ---\n${source}`);
      }
    });
  }

  it('shows every step kind in an example that compiles', () => {
    const shown = new Set<StepKind>();
    for (const c of cases.filter((x) => x.kind !== undefined && x.kind !== 'invalid')) {
      try {
        const process = compileProcess(sourceOf(c, c.kind as Kind), 'slipway.yaml');
        for (const phase of process.phases) for (const step of phase.steps) shown.add(step.kind);
      } catch {
        // Reported by the test of that example.
      }
    }
    expect(STEP_KINDS.filter((k) => !shown.has(k))).toEqual([]);
  });

  it("names every key of every step kind's own mapping (`junit.minTests`, `config[].dest`)", () => {
    const missing = STEP_KIND_KEYS.flatMap((kind) =>
      KIND_KEYS_BY_KIND[kind]
        .filter((key) => !DOC.includes(`\`${kind}.${key}`) && !DOC.includes(`\`${kind}[].${key}`))
        .map((key) => `${kind}.${key}`),
    );
    expect(missing).toEqual([]);
  });

  for (const c of cases.filter((x) => x.kind === 'invalid')) {
    it(`rejects the invalid example at line ${c.line}, as the doc shows`, () => {
      let error: unknown;
      try {
        compileProcess(c.text, 'slipway.yaml');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const shown = blocks[blocks.findIndex((b) => b.line === c.line) + 1];
      if (shown?.lang === 'text' && shown.text.startsWith('$ slipway validate\n')) {
        const err = error as ConfigError;
        const expected = `error ${err.code} ${err.message}\n`;
        expect(shown.text.slice('$ slipway validate\n'.length)).toBe(expected);
      }
    });
  }
});
