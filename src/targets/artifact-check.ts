/** The check both targets make on an artifact before anything is written: a regular file with the recorded SHA-256. */

import { stat } from 'node:fs/promises';
import { SlipwayError } from '../core/errors.js';
import { sha256File } from './safe-archive.js';

/**
 * Throws SLW_ARTIFACT_NOT_FOUND (missing, not a regular file) or SLW_ARTIFACT_CHECKSUM (other content); returns
 * the file's size. `readError` turns a failed read into the target's own error (an abort passes as the reason).
 */
export async function verifyArtifact(
  file: string,
  expected: string,
  signal: AbortSignal | undefined,
  readError: (e: unknown) => unknown,
): Promise<number> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new SlipwayError('SLW_ARTIFACT_NOT_FOUND', `artifact not found: ${file}`, {
      hint: 'build it first, or check "artifact.path" in the process file',
      cause: e,
    });
  });
  if (!st.isFile())
    throw new SlipwayError('SLW_ARTIFACT_NOT_FOUND', `artifact ${file} is not a regular file`);
  let actual: string;
  try {
    actual = await sha256File(file, signal);
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw readError(e);
  }
  if (actual !== expected) {
    throw new SlipwayError(
      'SLW_ARTIFACT_CHECKSUM',
      `artifact ${file} has SHA-256 ${actual}, expected ${expected}`,
      {
        hint: 'the artifact changed after its checksum was recorded: rebuild it under a new release id',
        details: { expected, actual },
      },
    );
  }
  return st.size;
}
