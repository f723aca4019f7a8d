#!/usr/bin/env node
/** Entry point of the `slipway` executable. */

import { main } from './main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`internal error (SLW_INTERNAL): ${String(e)}\n`);
    process.exitCode = 1;
  },
);
