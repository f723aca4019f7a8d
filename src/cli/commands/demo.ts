/** `slipway demo`: run the bundled end-to-end demo and print a readable summary (or --json). */

import path from 'node:path';
import { runDemo, summarizeDemo } from '../../demo/run-demo.js';
import { openStore } from '../../store/open-store.js';
import { type GlobalOptions, outputFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { progressHooks } from '../progress.js';

export async function demoCommand(
  opts: GlobalOptions & { dir?: string; keepRunning?: boolean },
): Promise<number> {
  const out = outputFor(opts);
  const hooks = progressHooks(out, { verbose: opts.verbose === true });
  try {
    const result = await runDemo({
      dir: opts.dir ?? path.resolve('slipway-demo'),
      openStore,
      hooks,
      say: (text) => (out.json ? undefined : out.line(out.c.magenta(text))),
      keepRunning: opts.keepRunning === true,
    });
    out.result(result, () => summarizeDemo(result).join('\n'));
    const expected = result.productionAnswers === 'v2' && result.deployments.at(-1)?.state === 'rolled-back';
    return expected ? EXIT.ok : EXIT.failed;
  } finally {
    hooks.stop();
  }
}
