/** Finds and reads the report a result gate judges: path template, glob, and a hint when the file is not there. */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { renderTemplate } from '../../core/template.js';
import { publicScope } from '../command-runner.js';
import type { StepRuntime } from '../step-executor.js';
import { findFiles, hasGlob } from './find-files.js';

export interface ResultFile {
  readonly path: string;
  /** Relative to the process file's folder when inside it: what messages show. */
  readonly display: string;
  readonly text: string;
}

/** A result step's path and the command that typically writes it (for the "did it run?" hint). */
export interface ResultSource {
  readonly id: string;
  readonly path: string;
}

/** Every file the step's path (or glob) names, read; none is a failure naming the path and the writer. */
export async function readResultFiles(
  rt: StepRuntime,
  step: ResultSource,
  writtenBy: (file: string) => string,
): Promise<ResultFile[]> {
  const pattern = renderTemplate(step.path, publicScope(rt), `${step.id}.path`);
  const files = await findFiles(pattern, rt.process.baseDir);
  if (files.length === 0) {
    const display = displayPath(rt, path.resolve(rt.process.baseDir, pattern));
    const what = hasGlob(pattern) ? `no file matches ${display}` : `${display} does not exist`;
    throw new SlipwayError('SLW_STEP_FAILED', `${what} (read by step "${step.id}")`, {
      hint: `did the step that writes it run? (e.g. \`${writtenBy(pattern)}\`)`,
      details: { file: display, missing: true },
    });
  }
  return Promise.all(
    files.map(async (file) => {
      const display = displayPath(rt, file);
      try {
        return { path: file, display, text: await readFile(file, { encoding: 'utf8', signal: rt.signal }) };
      } catch (e) {
        throw new SlipwayError('SLW_STEP_FAILED', `cannot read ${display}: ${(e as Error).message}`, {
          cause: e,
          details: { file: display },
        });
      }
    }),
  );
}

/** Like `readResultFiles` for gates that judge one report: a glob must match exactly one file. */
export async function readResultFile(
  rt: StepRuntime,
  step: ResultSource,
  writtenBy: (file: string) => string,
): Promise<ResultFile> {
  const files = await readResultFiles(rt, step, writtenBy);
  const [only] = files;
  if (files.length > 1 || !only) {
    throw new SlipwayError(
      'SLW_STEP_FAILED',
      `${step.path} matches ${files.length} files (${files.map((f) => f.display).join(', ')}); step "${step.id}" judges one report`,
      { hint: 'make the path name exactly one file' },
    );
  }
  return only;
}

function displayPath(rt: StepRuntime, file: string): string {
  const relative = path.relative(rt.process.baseDir, file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}
