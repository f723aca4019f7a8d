import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { remoteCommandLine } from './ssh-exec.js';

const dir = mkdtempSync(path.join(tmpdir(), 'slipway-wrapper-'));
writeFileSync(path.join(dir, 'plain.txt'), 'not a program\n', { mode: 0o644 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the line the way sshd's login shell would (`$SHELL -c line`), here with a local shell. */
function runLine(shell: string, argv: string[], env: string[] = [], cwd = dir, stdin?: string) {
  const { line, stdin: input } = remoteCommandLine(argv, {
    nonce: 'n0nce',
    cwd,
    env,
    ...(stdin === undefined ? {} : { stdin }),
  });
  const r = spawnSync(shell, ['-c', line], {
    input: input ?? '',
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  return { line, input, status: r.status, out: r.stdout, err: r.stderr };
}

describe('the remote command line', () => {
  it.each(['/bin/sh', '/bin/bash'])('prints the pgid line first, then runs argv literally (%s)', (shell) => {
    const hostile = ["'; touch pwned; '", '$(touch pwned)', '`touch pwned`', 'a\nb', '-oProxyCommand=x'];
    const r = runLine(shell, ['printf', '%s|', ...hostile]);
    expect(r.status).toBe(0);
    const [, header, rest] = /^\n(n0nce pgid \d+)\n([\s\S]*)$/.exec(r.out) ?? [];
    expect(header).toBeDefined();
    expect(rest).toBe(`${hostile.join('|')}|`);
  });

  it('keeps environment values off the command line and hands them over exactly', () => {
    const secret = "s3cr3t-'$(touch pwned)'-\n-`x`";
    const r = runLine('/bin/sh', ['sh', '-c', 'printf %s "$TOKEN"'], [`TOKEN=${secret}`]);
    expect(r.line).not.toContain('s3cr3t');
    expect(r.input).toContain('s3cr3t');
    expect(r.out.replace(/^\nn0nce pgid \d+\n/, '')).toBe(secret);
  });

  it('gives the command an empty stdin after reading the environment', () => {
    const r = runLine('/bin/sh', ['sh', '-c', 'cat; echo end'], ['A=1']);
    expect(r.out.replace(/^\nn0nce pgid \d+\n/, '')).toBe('end\n');
  });

  it('passes data on stdin (then env goes through env(1), still quoted)', () => {
    const r = runLine('/bin/sh', ['sh', '-c', 'cat; printf %s "$A"'], ["A=x'y"], dir, 'payload\n');
    expect(r.line).toContain(`env 'A=x'\\''y'`);
    expect(r.out.replace(/^\nn0nce pgid \d+\n/, '')).toBe("payload\nx'y");
  });

  it.each([
    ['nocwd', ['true'], path.join(dir, 'missing')],
    ['notfound', ['slipway-no-such-command'], dir],
    ['notfound', ['./nope.sh'], dir],
    ['noexec', [path.join(dir, 'plain.txt')], dir],
  ])('reports %s before running anything', (why, argv, cwd) => {
    const r = runLine('/bin/sh', argv as string[], [], cwd as string);
    expect(r.out).toBe(`\nn0nce fail ${why}\n`);
    expect(r.status).toBe(126);
  });
});
