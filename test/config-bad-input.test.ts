/** Every malformed process file in test/bad-input/ fails to compile with the expected code, position and message. */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileProcess, loadProcess } from '../src/config/load-process.js';
import { ConfigError, formatConfigProblem, SlipwayError } from '../src/core/errors.js';

interface Expected {
  readonly code: 'SLW_CONFIG_SYNTAX' | 'SLW_CONFIG_INVALID';
  /** Position of the first problem (problems are sorted by line). */
  readonly line: number;
  readonly col: number;
  /** A substring of the first problem's message. */
  readonly message: string;
  /** A substring of its hint, where the hint is the point (did-you-mean). */
  readonly hint?: string;
  /** The file the first problem is in, when not the process file (an inventory it points to). */
  readonly file?: string;
}

const DIR = join(import.meta.dirname, 'bad-input');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expected>;
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

describe('bad process files', () => {
  it('has an expectation for every file and a file for every expectation', () => {
    expect(Object.keys(expected).sort()).toEqual([...files].sort());
    expect(files.length).toBeGreaterThanOrEqual(75);
  });

  it.each(files)('%s', (name) => {
    const want = expected[name] as Expected;
    const file = `test/bad-input/${name}`;
    let error: unknown;
    try {
      compileProcess(readFileSync(join(DIR, name), 'utf8'), file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { code, problems, message } = error as ConfigError;
    const first = problems[0];
    expect({ code, line: first?.line, col: first?.col }).toEqual({
      code: want.code,
      line: want.line,
      col: want.col,
    });
    expect(first?.message).toContain(want.message);
    if (want.hint !== undefined) expect(first?.hint).toContain(want.hint);
    // The problems come in file order, each naming the file as the caller gave it.
    expect(problems.map((p) => p.line)).toEqual(problems.map((p) => p.line).sort((a, b) => a - b));
    expect(message.split('\n')[0]).toBe(formatConfigProblem(first as NonNullable<typeof first>));
    expect(message.startsWith(`${want.file ?? file}:${want.line}:${want.col}`)).toBe(true);
  });
});

describe('loadProcess', () => {
  it('reports a missing file with a hint to run init', async () => {
    const missing = join(DIR, 'no-such-slipway.yaml');
    await expect(loadProcess(missing)).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof SlipwayError && e.code === 'SLW_CONFIG_NOT_FOUND' && /slipway init/.test(e.hint ?? ''),
    );
  });
});
