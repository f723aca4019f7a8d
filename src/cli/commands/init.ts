/** `slipway init`: write a starter slipway.yaml holding the seed's process and checklists. */

import { writeFile } from 'node:fs/promises';
import { MINIMAL_PROCESS, STARTER_PROCESS } from '../../config/starter-process.js';
import { SlipwayError } from '../../core/errors.js';
import { type GlobalOptions, outputFor, processFileArg } from '../context.js';

export async function initCommand(
  opts: GlobalOptions & { force?: boolean; minimal?: boolean },
): Promise<number> {
  const out = outputFor(opts);
  const file = processFileArg(opts);
  try {
    await writeFile(file, opts.minimal ? MINIMAL_PROCESS : STARTER_PROCESS, {
      flag: opts.force ? 'w' : 'wx',
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SlipwayError('SLW_FILE_EXISTS', `${file} already exists`, {
        hint: 'use --force to overwrite it',
      });
    }
    throw e;
  }
  out.result({ file, written: true }, () =>
    [
      opts.minimal
        ? `wrote ${file}: a minimal process (staging → QA sign-off → production, rollback on a failed smoke check)`
        : `wrote ${file}: the seed's process (plan → test → staging → production → validate) with its checklists and gates`,
      'next: edit roles, artifact and targets, then run "slipway validate" and "slipway plan staging --release v1"',
    ].join('\n'),
  );
  return 0;
}
