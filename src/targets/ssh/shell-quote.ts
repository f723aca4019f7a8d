/** The one function that turns a value into a POSIX shell word: every value in a remote command goes through it. */

import { SlipwayError } from '../../core/errors.js';

/**
 * Quotes `value` as a single POSIX shell word: wrapped in single quotes, each `'` written as `'\''`.
 * Inside single quotes nothing is special (no `$`, backquote, backslash, glob or newline handling), so the
 * shell hands the program exactly `value`. Always quotes, even "safe" strings: one rule is easier to audit.
 * A NUL byte cannot be passed through a command line at all, so it is refused.
 */
export function quoteShellArg(value: string): string {
  if (value.includes('\0')) {
    throw new SlipwayError(
      'SLW_TARGET_FAILED',
      `cannot pass ${JSON.stringify(value)} to a remote command: it contains a NUL byte`,
      {
        hint: 'command arguments, paths and environment values may not contain NUL bytes',
      },
    );
  }
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** A command line for a POSIX shell: every element quoted, joined by spaces. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(quoteShellArg).join(' ');
}
