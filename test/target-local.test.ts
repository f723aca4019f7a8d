/** LocalTarget: the Target contract in temporary folders, plus what only a local folder can show (crashes, modes). */

import { spawn } from 'node:child_process';
import {
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalTarget, type LocalTarget, RELEASE_MARKER } from '../src/targets/local/local-target.js';
import { execLocal } from '../src/targets/local-exec.js';
import { inspectArchive } from '../src/targets/safe-archive.js';
import { describeTargetContract } from './target-contract.js';
import { buildArtifact, type TarEntry, writeTarball } from './target-tarball.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describeTargetContract('local', async () => {
  const base = await mkdtemp(path.join(tmpdir(), 'slipway-local-'));
  const artifacts = path.join(base, 'artifacts');
  await mkdir(artifacts);
  return {
    target: createLocalTarget(path.join(base, 'target')),
    cleanup: () => rm(base, { recursive: true, force: true }),
    artifact: (files) => buildArtifact(artifacts, files),
  };
});

describe('LocalTarget specifics', () => {
  let base: string;
  let target: LocalTarget;
  const artifact = (files: Record<string, string>) => buildArtifact(base, files);
  const tarball = (name: string, entries: readonly TarEntry[]) =>
    writeTarball(path.join(base, name), entries);

  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'slipway-local-'));
    target = createLocalTarget(path.join(base, 'root'));
    await target.prepare();
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('describes itself by its absolute root and lays out its folders with mode 750', async () => {
    const relative = createLocalTarget(path.relative(process.cwd(), path.join(base, 'root')));
    expect(relative.description).toBe(`local:${path.join(base, 'root')}`);
    expect(relative.layout.root).toBe(path.join(base, 'root'));
    expect((await stat(target.layout.shared)).mode & 0o777).toBe(0o750);
  });

  it('replaces a stale incomplete releases/<name> and ignores it until then', async () => {
    await mkdir(path.join(target.layout.releases, 'r1', 'half'), { recursive: true });
    await writeFile(path.join(target.layout.releases, 'r1', 'half', 'junk'), 'x');
    expect(await target.listReleases()).toEqual([]);
    await expect(target.switchCurrent('r1')).rejects.toMatchObject({ code: 'SLW_TARGET_FAILED' });
    const art = await artifact({ VERSION: '1\n' });
    expect(await target.installRelease(art.path, art.sha256, 'r1')).toMatchObject({ reused: false });
    expect((await readdir(path.join(target.layout.releases, 'r1'))).sort()).toEqual([
      RELEASE_MARKER,
      'VERSION',
    ]);
    expect(await readdir(target.layout.releases)).toEqual(['r1']);
  });

  it('refuses to replace an incomplete release that current points at', async () => {
    await mkdir(path.join(target.layout.releases, 'r1'), { recursive: true });
    await symlink('releases/r1', target.layout.current);
    const art = await artifact({ VERSION: '1\n' });
    await expect(target.installRelease(art.path, art.sha256, 'r1')).rejects.toMatchObject({
      code: 'SLW_TARGET_FAILED',
    });
    expect(await readdir(target.layout.releases)).toEqual(['r1']);
  });

  it('sweeps work folders and switch links older than a minute when pruning, and keeps fresh ones', async () => {
    const old = new Date(Date.now() - 5 * 60_000);
    const stale = path.join(target.layout.releases, '.tmp-r1-abc');
    const fresh = path.join(target.layout.releases, '.tmp-r2-def');
    await mkdir(path.join(stale, 'deep'), { recursive: true });
    await writeFile(path.join(stale, RELEASE_MARKER), '{}');
    await mkdir(fresh);
    await utimes(stale, old, old);
    const staleLink = path.join(target.layout.root, 'current.tmp-123');
    await symlink('releases/r1', staleLink);
    // lutimes: the link itself, not what it points at.
    await lutimes(staleLink, old, old);
    expect(await target.listReleases()).toEqual([]);
    expect(await target.pruneReleases(5, [])).toEqual([]);
    expect(await readdir(target.layout.releases)).toEqual(['.tmp-r2-def']);
    expect(await readdir(target.layout.root)).not.toContain('current.tmp-123');
  });

  it('replaces a marker that came inside the archive with its own', async () => {
    const art = await tarball('m.tar.gz', [
      { type: 'file', path: 'VERSION', content: '1\n' },
      {
        type: 'file',
        path: RELEASE_MARKER,
        content: JSON.stringify({ sha256: 'f'.repeat(64), installedAt: 'x' }),
      },
    ]);
    await target.installRelease(art.path, art.sha256, 'r1');
    const marker = JSON.parse(
      await readFile(path.join(target.layout.releases, 'r1', RELEASE_MARKER), 'utf8'),
    );
    expect(marker).toMatchObject({ name: 'r1', sha256: art.sha256, entries: 2 });
  });

  it('drops setuid, setgid and sticky bits from unpacked files', async () => {
    const art = await tarball('suid.tar.gz', [
      { type: 'file', path: 'tool', content: '#!/bin/sh\n', mode: 0o6755 },
    ]);
    await target.installRelease(art.path, art.sha256, 'r1');
    expect((await stat(path.join(target.layout.releases, 'r1', 'tool'))).mode & 0o7777).toBe(0o755);
  });

  it('refuses to switch when current is a real folder', async () => {
    const art = await artifact({ VERSION: '1\n' });
    await target.installRelease(art.path, art.sha256, 'r1');
    await mkdir(path.join(target.layout.current, 'x'), { recursive: true });
    await expect(target.switchCurrent('r1')).rejects.toMatchObject({ code: 'SLW_TARGET_FAILED' });
    await expect(target.currentRelease()).rejects.toMatchObject({ code: 'SLW_TARGET_FAILED' });
    expect((await lstat(target.layout.current)).isDirectory()).toBe(true);
  });

  it('reports no current release when current links outside releases/', async () => {
    await symlink('/tmp', target.layout.current);
    expect(await target.currentRelease()).toBeNull();
  });

  it('runs commands in the root by default and resolves a relative cwd against it', async () => {
    await mkdir(path.join(target.layout.root, 'sub'));
    expect((await target.exec({ argv: ['pwd'] }, { timeoutMs: 5_000 })).output).toBe(
      `${target.layout.root}\n`,
    );
    expect((await target.exec({ argv: ['pwd'] }, { cwd: 'sub', timeoutMs: 5_000 })).output).toBe(
      `${path.join(target.layout.root, 'sub')}\n`,
    );
  });

  it('never leaves releases/<name> looking complete when the installing process is killed', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) files[`f/${i % 30}/${i}.txt`] = `${i}\n`.repeat(50);
    const art = await artifact(files);
    const script = `
      import { createLocalTarget } from ${JSON.stringify(path.join(REPO, 'src/targets/local/local-target.ts'))};
      const t = createLocalTarget(${JSON.stringify(target.layout.root)});
      console.log('ready');
      await t.installRelease(${JSON.stringify(art.path)}, ${JSON.stringify(art.sha256)}, 'r1');
    `;
    let sawPartial = false;
    // Kill points from "before unpacking" to "probably done"; each round checks the invariant.
    for (const delay of [5, 50, 150, 300, 600, 1000, 1500, 2500, 4000]) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const closed = new Promise((r) => child.once('close', r));
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await closed;
      const names = await readdir(target.layout.releases);
      if (names.some((n) => n.startsWith('.tmp-'))) sawPartial = true;
      if (names.includes('r1')) {
        // Under its final name, it is whole.
        expect(await target.listReleases()).toEqual(['r1']);
        expect(await readdir(path.join(target.layout.releases, 'r1', 'f'))).toHaveLength(30);
        const count = async (dir: string): Promise<number> =>
          (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).length;
        expect(await count(path.join(target.layout.releases, 'r1'))).toBe(1501);
        break;
      }
      expect(await target.listReleases()).toEqual([]);
    }
    expect(sawPartial, 'no kill landed while unpacking').toBe(true);
    // A later install completes (or reuses the one that got through) despite the leftovers.
    await target.installRelease(art.path, art.sha256, 'r1');
    expect(await target.listReleases()).toEqual(['r1']);
  });
});

describe('inspectArchive', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'slipway-archive-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });
  const inspect = async (entries: readonly TarEntry[]) =>
    inspectArchive((await writeTarball(path.join(base, 'a.tar.gz'), entries)).path);

  it('counts entries and file bytes', async () => {
    expect(
      await inspect([
        { type: 'dir', path: 'a/' },
        { type: 'file', path: 'a/x', content: 'hello' },
        { type: 'symlink', path: 'a/y', target: 'x' },
      ]),
    ).toEqual({ entries: 3, bytes: 5 });
  });

  it.each<[string, TarEntry[]]>([
    ['backslash ..', [{ type: 'file', path: '..\\evil', content: '' }]],
    ['drive letter', [{ type: 'file', path: 'C:evil', content: '' }]],
    ['link out via backslash-named folder', [{ type: 'symlink', path: 'l', target: 'a\\b/../..' }]],
    ['symlink replacing the root', [{ type: 'symlink', path: './', target: 'x' }]],
    [
      'symlink loop',
      [
        { type: 'symlink', path: 'a', target: 'b/x' },
        { type: 'symlink', path: 'b', target: 'a/y' },
      ],
    ],
  ])('refuses %s', async (_label, entries) => {
    await expect(inspect(entries)).rejects.toMatchObject({ code: 'SLW_ARTIFACT_UNSAFE' });
  });

  it('honours an abort signal', async () => {
    const art = await writeTarball(path.join(base, 'b.tar.gz'), [{ type: 'file', path: 'x', content: 'x' }]);
    const ac = new AbortController();
    ac.abort();
    await expect(inspectArchive(art.path, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('execLocal specifics', () => {
  it('does not pass Slipway’s own environment on, beyond the basics', async () => {
    process.env.SLIPWAY_TEST_LEAK = 'leaked';
    try {
      const r = await execLocal(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
        { shell: 'printf "%s|%s" "${SLIPWAY_TEST_LEAK-unset}" "$HOME"' },
        { timeoutMs: 5_000 },
      );
      expect(r.output).toBe(`unset|${process.env.HOME ?? ''}`);
    } finally {
      delete process.env.SLIPWAY_TEST_LEAK;
    }
  });

  it('survives an onOutput callback that throws', async () => {
    const r = await execLocal(
      { argv: ['echo', 'hi'] },
      {
        timeoutMs: 5_000,
        onOutput: () => {
          throw new Error('display broke');
        },
      },
    );
    expect(r).toMatchObject({ exitCode: 0, output: 'hi\n' });
  });

  it('SIGKILLs a group member that ignores SIGTERM after the grace period', async () => {
    const r = await execLocal(
      { shell: `sh -c 'trap "" TERM; echo $$; while :; do sleep 0.1; done' & wait` },
      { timeoutMs: 300, onOutput: () => undefined },
    );
    expect(r.timedOut).toBe(true);
    const pid = Number(r.output.trim());
    const gone = async () => {
      try {
        const s = await readFile(`/proc/${pid}/stat`, 'utf8');
        return s.includes(') Z');
      } catch {
        return true;
      }
    };
    expect(await gone()).toBe(false);
    await new Promise((res) => setTimeout(res, 2_500));
    expect(await gone()).toBe(true);
  });

  it('reports a non-executable program as permission denied', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'slipway-exec-'));
    try {
      await writeFile(path.join(dir, 'prog'), '#!/bin/sh\n', { mode: 0o644 });
      await expect(execLocal({ argv: [path.join(dir, 'prog')] }, { timeoutMs: 5_000 })).rejects.toMatchObject(
        {
          code: 'SLW_TARGET_FAILED',
          message: expect.stringContaining('permission denied'),
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
