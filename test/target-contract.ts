/** The contract every Target (local now, SSH later) must pass; it checks effects through the target's own `exec`. */

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Target } from '../src/core/ports.js';
import type { CommandSpec } from '../src/core/process.js';
import { type TarEntry, writeTarball } from './target-tarball.js';

export interface TargetContractContext {
  readonly target: Target;
  cleanup(): Promise<void>;
  /** A release tarball with these files (path → content), as the real build would make it. */
  artifact(files: Record<string, string>): Promise<{ path: string; sha256: string }>;
}

export function describeTargetContract(name: string, make: () => Promise<TargetContractContext>): void {
  describe(`Target contract: ${name}`, () => {
    let ctx: TargetContractContext;
    let target: Target;
    /** Controller-side scratch folder for hand-made (malicious) tarballs. */
    let scratch: string;

    beforeEach(async () => {
      ctx = await make();
      target = ctx.target;
      await target.prepare();
      scratch = await mkdtemp(path.join(tmpdir(), 'slipway-contract-'));
    });
    afterEach(async () => {
      await target.close();
      await ctx.cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    /** Runs a shell script on the target in its root folder and returns the result. */
    const sh = (script: string, options: Partial<ExecOptions> = {}): Promise<ExecResult> =>
      target.exec({ shell: script }, { cwd: target.layout.root, timeoutMs: 10_000, ...options });
    const out = async (script: string, env: Record<string, string> = {}): Promise<string> => {
      const r = await sh(script, { env });
      expect(r.exitCode, r.output).toBe(0);
      return r.output;
    };
    const exists = async (p: string): Promise<boolean> =>
      (
        await target.exec(
          { argv: ['sh', '-c', 'test -e "$1" || test -L "$1"', 'sh', p] },
          { timeoutMs: 10_000 },
        )
      ).exitCode === 0;
    const releasesListing = (): Promise<string> => out('ls -A releases');
    const tarball = (entries: readonly TarEntry[]): Promise<{ path: string; sha256: string }> =>
      writeTarball(path.join(scratch, `${randomBytes(4).toString('hex')}.tar.gz`), entries);

    /** Whether a process is gone (reaped, or a zombie: a zombie holds no resources and runs nothing). */
    const processGone = async (pid: string): Promise<boolean> =>
      (
        await out(
          'if [ -e /proc/$PID ] && ! grep -q ") Z" /proc/$PID/stat; then echo alive; else echo gone; fi',
          { PID: pid },
        )
      ).trim() === 'gone';
    const eventually = async (check: () => Promise<boolean>, ms = 2_000): Promise<boolean> => {
      const until = Date.now() + ms;
      for (;;) {
        if (await check()) return true;
        if (Date.now() > until) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // ───────────────────────────── layout and releases ─────────────────────────────

    it('prepare creates releases/ and shared/ and can run again', async () => {
      await target.prepare();
      expect(await exists(target.layout.releases)).toBe(true);
      expect(await exists(target.layout.shared)).toBe(true);
      expect(target.layout.releases).toBe(path.posix.join(target.layout.root, 'releases'));
      expect(target.layout.current).toBe(path.posix.join(target.layout.root, 'current'));
    });

    it('installs a release, switches current to it and reports it', async () => {
      const art = await ctx.artifact({ VERSION: '1\n', 'bin/hello.sh': 'echo hello\n' });
      const installed = await target.installRelease(art.path, art.sha256, 'r1');
      expect(installed).toEqual({ dir: path.posix.join(target.layout.releases, 'r1'), reused: false });
      expect(await target.listReleases()).toEqual(['r1']);
      expect(await target.currentRelease()).toBeNull();
      expect(await target.switchCurrent('r1')).toEqual({ previous: null });
      expect(await target.currentRelease()).toBe('r1');
      expect(await out('cat current/VERSION current/bin/hello.sh')).toBe('1\necho hello\n');
      // Only the release itself in releases/: no work folders left behind.
      expect((await releasesListing()).trim()).toBe('r1');
    });

    it('reuses a complete release on a second install, even without the artifact', async () => {
      const art = await ctx.artifact({ VERSION: '1\n' });
      await target.installRelease(art.path, art.sha256, 'r1');
      await out('echo local-change > releases/r1/extra');
      expect(await target.installRelease(art.path, art.sha256, 'r1')).toEqual({
        dir: path.posix.join(target.layout.releases, 'r1'),
        reused: true,
      });
      expect(
        await target.installRelease(path.join(scratch, 'gone.tar.gz'), art.sha256.toUpperCase(), 'r1'),
      ).toMatchObject({
        reused: true,
      });
      // Reuse does not unpack again.
      expect(await out('cat releases/r1/extra')).toBe('local-change\n');
    });

    it('refuses to reinstall a release name from different bytes', async () => {
      const a = await ctx.artifact({ VERSION: '1\n' });
      const b = await ctx.artifact({ VERSION: '2\n' });
      await target.installRelease(a.path, a.sha256, 'r1');
      await expect(target.installRelease(b.path, b.sha256, 'r1')).rejects.toMatchObject({
        code: 'SLW_RELEASE_CHANGED',
      });
      expect(await out('cat releases/r1/VERSION')).toBe('1\n');
    });

    it('refuses an artifact whose checksum does not match, creating nothing', async () => {
      const art = await ctx.artifact({ VERSION: '1\n' });
      const wrong = 'a'.repeat(64);
      const err = await target.installRelease(art.path, wrong, 'r1').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SLW_ARTIFACT_CHECKSUM' });
      expect((err as Error).message).toContain(wrong);
      expect((err as Error).message).toContain(art.sha256);
      expect(await releasesListing()).toBe('');
      expect(await target.listReleases()).toEqual([]);
    });

    it('refuses a missing artifact and a malformed checksum', async () => {
      await expect(
        target.installRelease(path.join(scratch, 'nope.tar.gz'), 'b'.repeat(64), 'r1'),
      ).rejects.toMatchObject({
        code: 'SLW_ARTIFACT_NOT_FOUND',
      });
      const art = await ctx.artifact({ VERSION: '1\n' });
      await expect(target.installRelease(art.path, 'not-a-sha', 'r1')).rejects.toMatchObject({
        code: 'SLW_ARTIFACT_CHECKSUM',
      });
      expect(await releasesListing()).toBe('');
    });

    it.each(['../x', '..', '.hidden', 'a/b', '', '-rf', 'x y', 'a..b', '/abs'])(
      'refuses the release name %j',
      async (bad) => {
        const art = await ctx.artifact({ VERSION: '1\n' });
        await expect(target.installRelease(art.path, art.sha256, bad)).rejects.toMatchObject({
          code: 'SLW_USAGE',
        });
        await expect(target.switchCurrent(bad)).rejects.toMatchObject({ code: 'SLW_USAGE' });
        await expect(target.writeReleaseFile(bad, 'x', 'y')).rejects.toMatchObject({ code: 'SLW_USAGE' });
        expect(await releasesListing()).toBe('');
      },
    );

    it('refuses a corrupt archive (right checksum, not a tarball), creating nothing', async () => {
      const file = path.join(scratch, 'corrupt.tar.gz');
      const bytes = randomBytes(4096);
      await writeFile(file, bytes);
      const sha = createHash('sha256').update(bytes).digest('hex');
      await expect(target.installRelease(file, sha, 'r1')).rejects.toMatchObject({
        code: 'SLW_TARGET_FAILED',
      });
      expect(await releasesListing()).toBe('');
    });

    // ───────────────────────────── unsafe archives ─────────────────────────────

    const ok: TarEntry = { type: 'file', path: 'VERSION', content: '1\n' };
    /** Each case: its entries, the entry the error must name, and paths (relative to root) that must not appear. */
    const unsafe: readonly [string, (root: string) => TarEntry[], string, readonly string[]][] = [
      [
        'a ../ path',
        () => [ok, { type: 'file', path: '../evil', content: 'x' }],
        '../evil',
        ['releases/evil'],
      ],
      [
        'an absolute path',
        () => [ok, { type: 'file', path: '/abs/evil', content: 'x' }],
        '/abs/evil',
        ['/abs/evil'],
      ],
      [
        'a path climbing out through a folder',
        () => [ok, { type: 'dir', path: 'a/' }, { type: 'file', path: 'a/../../evil', content: 'x' }],
        'a/../../evil',
        ['releases/evil'],
      ],
      [
        'a symlink escaping with ../..',
        () => [
          ok,
          { type: 'symlink', path: 'link', target: '../../outside' },
          { type: 'file', path: 'link/evil', content: 'x' },
        ],
        'link',
        ['outside/evil'],
      ],
      ['a symlink to /etc', () => [ok, { type: 'symlink', path: 'link', target: '/etc' }], 'link', []],
      [
        'a symlink to an absolute path, written through',
        (root) => [
          ok,
          { type: 'symlink', path: 'link', target: `${root}/outside` },
          { type: 'file', path: 'link/evil', content: 'x' },
        ],
        'link',
        ['outside/evil'],
      ],
      [
        'a hard link escaping',
        () => [ok, { type: 'hardlink', path: 'hl', target: '../../outside/secret' }],
        'hl',
        [],
      ],
      [
        'a path that is both a folder and a symlink',
        () => [ok, { type: 'dir', path: 'x/' }, { type: 'symlink', path: 'x', target: '.' }],
        'x',
        [],
      ],
      [
        'a hard link to an absolute path',
        () => [ok, { type: 'hardlink', path: 'hl', target: '/etc/passwd' }],
        'hl',
        [],
      ],
      [
        'a chain of links that escapes only when followed',
        () => [
          ok,
          { type: 'dir', path: 'd/' },
          { type: 'symlink', path: 'd/l', target: '..' },
          { type: 'symlink', path: 'm', target: 'd/l/../..' },
        ],
        'm',
        [],
      ],
      [
        'a hard link to a symlink (which means something else in another folder)',
        () => [
          ok,
          { type: 'dir', path: 'deep/a/' },
          { type: 'symlink', path: 'deep/a/l', target: '../x' },
          { type: 'hardlink', path: 'hl', target: 'deep/a/l' },
        ],
        'hl',
        [],
      ],
      [
        'a file written through a symlink',
        () => [
          ok,
          { type: 'symlink', path: 'same', target: '.' },
          { type: 'file', path: 'same/evil', content: 'x' },
        ],
        'same/evil',
        [],
      ],
      ['a FIFO', () => [ok, { type: 'fifo', path: 'pipe' }], 'pipe', []],
      ['a device file', () => [ok, { type: 'chardev', path: 'null' }], 'null', []],
    ];

    it.each(unsafe)(
      'refuses an archive with %s, writing nothing',
      async (_label, entries, entry, mustNotExist) => {
        await out('mkdir -p outside && echo secret > outside/secret');
        const art = await tarball(entries(target.layout.root));
        const err = await target.installRelease(art.path, art.sha256, 'r1').catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'SLW_ARTIFACT_UNSAFE' });
        expect((err as Error).message).toContain(`"${entry}"`);
        expect(await releasesListing()).toBe('');
        expect(await target.listReleases()).toEqual([]);
        for (const p of mustNotExist) {
          expect(await exists(path.posix.resolve(target.layout.root, p)), p).toBe(false);
        }
        expect(await out('ls -A outside')).toBe('secret\n');
      },
    );

    it('accepts links that stay inside, including package-manager layouts', async () => {
      const art = await tarball([
        { type: 'dir', path: './' },
        { type: 'file', path: './lib/tool.js', content: 'tool\n' },
        { type: 'symlink', path: './bin', target: 'lib' },
        { type: 'dir', path: 'node_modules/.pnpm/x@1/node_modules/x/' },
        { type: 'file', path: 'node_modules/.pnpm/x@1/node_modules/x/cli.js', content: 'cli\n' },
        { type: 'symlink', path: 'node_modules/x', target: '.pnpm/x@1/node_modules/x' },
        { type: 'dir', path: 'node_modules/.bin/' },
        { type: 'symlink', path: 'node_modules/.bin/x', target: '../x/cli.js' },
        { type: 'hardlink', path: 'lib/tool-copy.js', target: 'lib/tool.js' },
        // A shared-library chain, listed so that each link's target is a link made before it.
        { type: 'file', path: 'lib/libx.so.1.2', content: 'so\n' },
        { type: 'symlink', path: 'lib/libx.so.1', target: 'libx.so.1.2' },
        { type: 'symlink', path: 'lib/libx.so', target: 'libx.so.1' },
        { type: 'symlink', path: 'self', target: '.' },
      ]);
      await target.installRelease(art.path, art.sha256, 'r1');
      expect(
        await out(
          'cd releases/r1 && cat bin/tool.js node_modules/.bin/x lib/tool-copy.js lib/libx.so self/lib/libx.so',
        ),
      ).toBe('tool\ncli\ntool\nso\nso\n');
    });

    // ───────────────────────────── switching ─────────────────────────────

    it('switches atomically: a concurrent reader never misses current/VERSION', async () => {
      for (const v of ['1', '2']) {
        const art = await ctx.artifact({ VERSION: `${v}\n` });
        await target.installRelease(art.path, art.sha256, `r${v}`);
      }
      await target.switchCurrent('r1');
      const reader = sh(
        `touch reader-started
         reads=0; misses=0
         while [ ! -e reader-stop ]; do
           cat current/VERSION >/dev/null 2>&1 || misses=$((misses+1))
           reads=$((reads+1))
         done
         echo "reads=$reads misses=$misses"`,
        { timeoutMs: 60_000 },
      );
      expect(
        await eventually(() => exists(path.posix.join(target.layout.root, 'reader-started')), 10_000),
      ).toBe(true);
      for (let i = 0; i < 200; i++) await target.switchCurrent(i % 2 === 0 ? 'r2' : 'r1');
      await out('touch reader-stop');
      const result = await reader;
      const [, reads, misses] = /reads=(\d+) misses=(\d+)/.exec(result.output) ?? [];
      expect(Number(reads)).toBeGreaterThan(0);
      expect(misses).toBe('0');
      expect(await target.currentRelease()).toBe('r1');
      // No leftover temporary links.
      expect(await out('ls -A | grep -c "current\\.tmp" || true')).toBe('0\n');
    });

    it('switchCurrent returns the previous release and refuses unknown ones', async () => {
      for (const v of ['1', '2']) {
        const art = await ctx.artifact({ VERSION: `${v}\n` });
        await target.installRelease(art.path, art.sha256, `r${v}`);
      }
      expect(await target.switchCurrent('r1')).toEqual({ previous: null });
      expect(await target.switchCurrent('r2')).toEqual({ previous: 'r1' });
      expect(await target.switchCurrent('r1')).toEqual({ previous: 'r2' });
      expect(await target.switchCurrent('r1')).toEqual({ previous: 'r1' });
      await expect(target.switchCurrent('r9')).rejects.toMatchObject({ code: 'SLW_TARGET_FAILED' });
      expect(await target.currentRelease()).toBe('r1');
      // The link is relative, so the tree survives being moved.
      expect(await out('readlink current')).toBe('releases/r1\n');
    });

    it('prunes the oldest releases beyond keep, never current or protected ones', async () => {
      for (const v of ['1', '2', '3', '4', '5']) {
        const art = await ctx.artifact({ VERSION: `${v}\n` });
        await target.installRelease(art.path, art.sha256, `r${v}`);
      }
      expect(await target.listReleases()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
      await target.switchCurrent('r1');
      expect(await target.pruneReleases(2, ['r2'])).toEqual(['r3']);
      expect(await target.listReleases()).toEqual(['r1', 'r2', 'r4', 'r5']);
      expect(await target.pruneReleases(2, ['r2'])).toEqual([]);
      expect(await target.pruneReleases(0, [])).toEqual(['r2', 'r4', 'r5']);
      expect(await target.listReleases()).toEqual(['r1']);
      expect((await releasesListing()).trim()).toBe('r1');
      expect(await out('cat current/VERSION')).toBe('1\n');
    });

    // ───────────────────────────── release files ─────────────────────────────

    it('writes a file into a release, replacing it atomically, readable by owner and group only', async () => {
      const art = await ctx.artifact({ VERSION: '1\n' });
      await target.installRelease(art.path, art.sha256, 'r1');
      await target.writeReleaseFile('r1', 'config/app.env', 'A=1\n');
      await target.writeReleaseFile('r1', 'config/app.env', 'A=2\n');
      expect(await out('cat releases/r1/config/app.env; stat -c %a releases/r1/config/app.env')).toBe(
        'A=2\n640\n',
      );
      expect(await out('ls -A releases/r1/config')).toBe('app.env\n');
    });

    it.each(['../x', '/etc/slipway-contract-x', 'a/../../x', '../r2/x', '', '.slipway-release'])(
      'writeReleaseFile refuses %j',
      async (bad) => {
        const art = await ctx.artifact({ VERSION: '1\n' });
        await target.installRelease(art.path, art.sha256, 'r1');
        await expect(target.writeReleaseFile('r1', bad, 'evil')).rejects.toMatchObject({
          code: 'SLW_TARGET_FAILED',
        });
        expect(await exists(path.posix.join(target.layout.releases, 'x'))).toBe(false);
        expect(await exists('/etc/slipway-contract-x')).toBe(false);
        expect(await target.listReleases()).toEqual(['r1']);
      },
    );

    it('writeReleaseFile refuses to follow a symlink out of the release, and an unknown release', async () => {
      const art = await ctx.artifact({ VERSION: '1\n' });
      await target.installRelease(art.path, art.sha256, 'r1');
      await out('mkdir outside && ln -s "$PWD/outside" releases/r1/out');
      await expect(target.writeReleaseFile('r1', 'out/x', 'evil')).rejects.toMatchObject({
        code: 'SLW_TARGET_FAILED',
      });
      await expect(target.writeReleaseFile('r1', 'out/sub/x', 'evil')).rejects.toMatchObject({
        code: 'SLW_TARGET_FAILED',
      });
      expect(await out('ls -A outside')).toBe('');
      await expect(target.writeReleaseFile('r9', 'x', 'y')).rejects.toMatchObject({
        code: 'SLW_TARGET_FAILED',
      });
    });

    // ───────────────────────────── exec ─────────────────────────────

    const hostile = [
      '$(touch pwned)',
      '; touch pwned; rm -rf canary',
      '`touch pwned`',
      'a\nb; touch pwned',
      `' " \\ | & > pwned`,
    ];

    it('passes argv elements literally, shell metacharacters and all', async () => {
      await out('mkdir canary');
      for (const arg of hostile) {
        const r = await target.exec(
          { argv: ['printf', '%s', arg] },
          { cwd: target.layout.root, timeoutMs: 10_000 },
        );
        expect(r).toMatchObject({
          exitCode: 0,
          signal: null,
          timedOut: false,
          output: arg,
          truncated: false,
        });
      }
      expect(await exists(path.posix.join(target.layout.root, 'pwned'))).toBe(false);
      expect(await exists(path.posix.join(target.layout.root, 'canary'))).toBe(true);
    });

    it('gives env values to argv commands and to shell strings as "$VAR", never as code', async () => {
      for (const value of hostile) {
        const viaArgv = await target.exec(
          { argv: ['printenv', 'SLIPWAY_VALUE'] },
          { cwd: target.layout.root, env: { SLIPWAY_VALUE: value }, timeoutMs: 10_000 },
        );
        expect(viaArgv.output).toBe(`${value}\n`);
        expect(await out('printf %s "$SLIPWAY_VALUE"', { SLIPWAY_VALUE: value })).toBe(value);
      }
      expect(await exists(path.posix.join(target.layout.root, 'pwned'))).toBe(false);
      expect((await out('printf %s "$PATH"')).length).toBeGreaterThan(0);
    });

    it('reports exit codes, signals, and stdout and stderr together', async () => {
      expect(await sh('echo out; echo err >&2; exit 3')).toMatchObject({
        exitCode: 3,
        signal: null,
        timedOut: false,
      });
      expect((await sh('echo out; echo err >&2')).output.split('\n').sort()).toEqual(['', 'err', 'out']);
      expect(await sh('kill -TERM $$')).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false });
      const live: string[] = [];
      await sh('echo one; echo two', { onOutput: (c) => live.push(c) });
      expect(live.join('')).toBe('one\ntwo\n');
    });

    it('decodes UTF-8 split across chunks', async () => {
      const r = await sh("i=0; while [ $i -lt 20000 ]; do printf 'é€'; i=$((i+1)); done", {
        maxOutputBytes: 1_000_000,
      });
      expect(r.output).toBe('é€'.repeat(20000));
      expect(r.truncated).toBe(false);
    });

    it('keeps only the tail of the output, up to maxOutputBytes, on a character boundary', async () => {
      let streamed = 0;
      const r = await sh("head -c 200000 /dev/zero | tr '\\0' a; printf 'é-END'", {
        maxOutputBytes: 1000,
        onOutput: (c) => {
          streamed += c.length;
        },
      });
      expect(r.truncated).toBe(true);
      expect(Buffer.byteLength(r.output)).toBeLessThanOrEqual(1000);
      expect(Buffer.byteLength(r.output)).toBeGreaterThanOrEqual(997);
      expect(r.output.endsWith('aé-END')).toBe(true);
      expect(r.output).not.toContain('\uFFFD');
      expect(streamed).toBe(200_005);
      const whole = await sh('printf 12345', { maxOutputBytes: 5 });
      expect(whole).toMatchObject({ output: '12345', truncated: false });
    });

    it('on timeout stops the whole process group', async () => {
      const started = Date.now();
      const r = await sh('sleep 30 & echo $!; sleep 31 & echo $!; wait', { timeoutMs: 500 });
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(r).toMatchObject({ exitCode: null, timedOut: true });
      expect(r.signal).toMatch(/^SIG(TERM|KILL)$/);
      const pids = r.output.trim().split('\n');
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(await eventually(() => processGone(pid)), `pid ${pid}`).toBe(true);
    });

    it('on abort stops the whole process group and rejects', async () => {
      const ac = new AbortController();
      const pids: string[] = [];
      const started = Date.now();
      const running = sh('sleep 30 & echo $!; sleep 31 & echo $!; wait', {
        signal: ac.signal,
        timeoutMs: 60_000,
        onOutput: (c) => pids.push(...c.trim().split('\n')),
      });
      await eventually(async () => pids.length >= 2);
      ac.abort();
      await expect(running).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(await eventually(() => processGone(pid)), `pid ${pid}`).toBe(true);
    });

    it('does not start a command when the signal is already aborted', async () => {
      const ac = new AbortController();
      ac.abort();
      await expect(sh('touch ran', { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
      expect(await exists(path.posix.join(target.layout.root, 'ran'))).toBe(false);
    });

    it('throws SLW_TARGET_FAILED naming a command that cannot run, or a missing cwd', async () => {
      const err = await target
        .exec(
          { argv: ['slipway-no-such-command', '--flag', 'x'] },
          { cwd: target.layout.root, timeoutMs: 10_000 },
        )
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SLW_TARGET_FAILED' });
      expect((err as Error).message).toContain('slipway-no-such-command --flag x');
      const missing = path.posix.join(target.layout.root, 'no-such-dir');
      const err2 = await target
        .exec({ argv: ['true'] }, { cwd: missing, timeoutMs: 10_000 })
        .catch((e: unknown) => e);
      expect(err2).toMatchObject({ code: 'SLW_TARGET_FAILED' });
      expect((err2 as Error).message).toContain(missing);
    });

    it('returns promptly when the command leaves a daemon behind, and leaves the daemon running', async () => {
      const started = Date.now();
      const command: CommandSpec = { shell: 'sleep 5 & echo $!' };
      const r = await target.exec(command, { cwd: target.layout.root, timeoutMs: 10_000 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(r).toMatchObject({ exitCode: 0, timedOut: false });
      const pid = r.output.trim();
      expect(await processGone(pid)).toBe(false);
      await out('kill "$PID"', { PID: pid });
    });
  });
}
