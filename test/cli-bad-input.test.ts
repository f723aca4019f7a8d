/** Each malformed process file makes `slipway deploy` exit 2 with file:line:col, and writes nothing to the store. */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, slipway } from './cli-helpers.js';

const DIR = path.join(import.meta.dirname, 'bad-input');
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<
  string,
  { file?: string; line: number; col: number; message: string }
>;
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const ROOT = path.resolve(import.meta.dirname, '..');

let scratch: string;
const results = new Map<string, CliResult>();

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'slipway-bad-'));
  // Spawning a CLI per file is the honest test; four at a time keeps a 2-core machine busy but not swamped.
  const queue = [...files];
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const store = path.join(scratch, `${name}.db`);
      results.set(
        name,
        await slipway(
          ['deploy', 'production', '--release', 'v1', '-f', `test/bad-input/${name}`, '--store', store],
          {
            cwd: ROOT,
            env: { NO_COLOR: '1' },
          },
        ),
      );
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}, 120_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('slipway deploy with a bad process file', () => {
  it('covers at least 30 files', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  it.each(files)('%s: exit 2, positioned message, no store', (name) => {
    const r = results.get(name) as CliResult;
    const want = expected[name]!;
    expect(r.code).toBe(2);
    // A problem in an inventory the process file points to is reported at the inventory's position.
    expect(r.stderr).toContain(`${want.file ?? `test/bad-input/${name}`}:${want.line}:${want.col}`);
    expect(r.stderr).toContain(want.message);
    expect(existsSync(path.join(scratch, `${name}.db`))).toBe(false);
  });
});
