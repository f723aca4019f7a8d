/** Loads slipway.yaml: parse with positions → one schema → cross-checks → a frozen, fully resolved `Process`. */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, SlipwayError } from '../core/errors.js';
import type { IncludedFile, Process } from '../core/process.js';
import { buildProcess } from './build-process.js';
import { checkReferences } from './cross-checks.js';
import { checkGates } from './gate-rules.js';
import { expandHosts, includeReader } from './inventory.js';
import { RoutedProblems } from './inventory-problems.js';
import { processSchema } from './schema.js';
import { expectation, reportIssues } from './schema-issues.js';
import { checkTemplates } from './template-rules.js';
import { checkWindows } from './window-rules.js';
import { parseYaml } from './yaml-positions.js';

/** Reads and compiles the process file at `file` (as the user typed it; problems quote it so). */
export async function loadProcess(file: string): Promise<Process> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SlipwayError('SLW_CONFIG_NOT_FOUND', `no process file at ${file}`, {
        hint: 'run "slipway init" to write a starter slipway.yaml',
        cause: e,
      });
    }
    throw e;
  }
  return compileProcess(source, file);
}

/**
 * Compiles process-file text. Throws `ConfigError` with every problem found, in file order:
 * `SLW_CONFIG_SYNTAX` when the text is not YAML, else `SLW_CONFIG_INVALID`. Reference checks run
 * only once the file has the right shape, so a second run may find more after the first fixes.
 */
export function compileProcess(
  source: string,
  file: string,
  /** Inventory texts recorded with a deployment: used instead of the files on disk. */
  recordedIncludes?: readonly IncludedFile[],
): Process {
  const parsed = parseYaml(source);
  if (!parsed.ok) {
    const problems = parsed.problems.map((p) => ({ file, path: '', ...p }));
    throw new ConfigError(
      'SLW_CONFIG_SYNTAX',
      problems.sort((a, b) => a.line - b.line || a.col - b.col),
    );
  }
  const { yaml } = parsed;
  const problems = new RoutedProblems(file, yaml);
  // Inventory hosts join `hosts` here, so the schema and the fleet rules check them like any other.
  const { data, includes } = expandHosts(yaml.data, file, problems, includeReader(file, recordedIncludes));
  if (problems.size > 0)
    throw new ConfigError(problems.syntax ? 'SLW_CONFIG_SYNTAX' : 'SLW_CONFIG_INVALID', problems.sorted());
  const result = processSchema.safeParse(data, { error: expectation });
  if (!result.success) {
    reportIssues(result.error.issues, data, problems);
  } else {
    checkReferences(result.data, problems);
    checkGates(result.data, problems);
    checkWindows(result.data, problems);
    checkTemplates(result.data, problems);
  }
  if (!result.success || problems.size > 0) throw new ConfigError('SLW_CONFIG_INVALID', problems.sorted());
  return deepFreeze(
    buildProcess(result.data, { file: resolve(file), source, sourceText: yaml.sourceText, includes }),
  );
}

/** Nothing downstream may change the compiled process: a resumed deployment must see what the first run saw. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
