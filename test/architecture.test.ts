/** The layering ARCHITECTURE.md promises: the core is pure and depends on nothing outside itself. */

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = path.resolve(import.meta.dirname, '../src/core');
const sources = readdirSync(CORE).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

describe('src/core', () => {
  it.each(sources)('%s imports only from the core (no node:*, no libraries, no other layers)', (file) => {
    const text = readFileSync(path.join(CORE, file), 'utf8');
    const imports = [...text.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map(
      (m) => m[1] as string,
    );
    expect(imports.filter((spec) => !spec.startsWith('./'))).toEqual([]);
  });
});
