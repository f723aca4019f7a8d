import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteShellArg, shellCommand } from './shell-quote.js';

const HOSTILE = [
  '',
  'plain',
  "it's",
  "'",
  "''",
  "'\\''",
  '$(touch /tmp/pwned)',
  '`touch /tmp/pwned`',
  "'; rm -rf /",
  '"; rm -rf / #',
  '-oProxyCommand=touch /tmp/pwned',
  '--help',
  'a\nb; touch /tmp/pwned',
  'tab\there',
  '\\',
  "\\\\'",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, as hostile data
  '$HOME ${HOME} $((1+1)) !! ~ * ? [a] {a,b}',
  '| & ; < > ( ) # =',
  'é€ unicode ✓',
  '\r\n\x1b[31m',
];

/** What `sh -c` really receives: printf each argument with a NUL after it. */
function throughShell(shell: string, args: readonly string[]): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellCommand(args)}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('quoteShellArg', () => {
  it('wraps in single quotes and escapes single quotes only', () => {
    expect(quoteShellArg('abc')).toBe("'abc'");
    expect(quoteShellArg("it's")).toBe("'it'\\''s'");
    expect(quoteShellArg('')).toBe("''");
  });

  it.each(['/bin/sh', '/bin/bash', '/bin/dash'])(
    'every hostile value reaches %s as one literal word',
    (shell) => {
      expect(throughShell(shell, HOSTILE)).toEqual(HOSTILE);
    },
  );

  it('never lets a value start an option or a new command', () => {
    for (const v of HOSTILE) {
      const q = quoteShellArg(v);
      expect(q.startsWith("'")).toBe(true);
      expect(q.endsWith("'")).toBe(true);
    }
  });

  it('refuses a NUL byte, naming the problem', () => {
    expect(() => quoteShellArg('a\0b')).toThrow(expect.objectContaining({ code: 'SLW_TARGET_FAILED' }));
  });
});
