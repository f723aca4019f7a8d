#!/usr/bin/env node
/** Entry point of the `slipway` executable. */

import { main } from './main.js';

// `slipway logs 7 | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`internal error (SLW_INTERNAL): ${String(e)}\n`);
    process.exitCode = 1;
  },
);
