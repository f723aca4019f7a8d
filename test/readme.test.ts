/** The README's error table is the catalogue: every code, its summary and its exit code, and nothing else. */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitForError } from '../src/cli/exit-codes.js';
import { ERROR_CATALOGUE } from '../src/core/errors.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README error table', () => {
  const rows = new Map(
    [...README.matchAll(/^\| `(SLW_[A-Z_]+)` \| (.+?) \| (\d) \|$/gm)].map((m) => [
      m[1] as string,
      { summary: m[2], exit: Number(m[3]) },
    ]),
  );

  it('documents every code with its summary and exit code', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(rows.get(code), `${code} missing from README`).toEqual({
        summary: entry.summary,
        exit: exitForError(entry.category),
      });
    }
  });

  it('documents no code that does not exist', () => {
    expect([...rows.keys()].filter((code) => !(code in ERROR_CATALOGUE))).toEqual([]);
  });
});
