/** Resolves an environment's secret references at run time; values live only in memory. */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { EnvironmentSpec } from '../core/process.js';

export function resolveSecrets(env: EnvironmentSpec, baseDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(env.secrets)) {
    if ('env' in source) {
      const value = process.env[source.env];
      if (value === undefined || value === '') {
        throw new SlipwayError(
          'SLW_SECRET_MISSING',
          `secret ${name} of environment ${env.name}: $${source.env} is not set`,
          {
            hint: `export ${source.env}=… before running slipway (the value is never stored or printed)`,
          },
        );
      }
      out[name] = value;
    } else {
      const file = path.resolve(baseDir, source.file);
      try {
        out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        throw new SlipwayError(
          'SLW_SECRET_MISSING',
          `secret ${name} of environment ${env.name}: cannot read ${file}`,
          {
            hint: 'create the file (mode 0600) or point "file" at it',
            cause: e,
          },
        );
      }
    }
  }
  return out;
}
