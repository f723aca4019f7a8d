/** SshTarget against real OpenSSH sshd hosts on loopback: the Target contract, plus what only SSH can show. */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SshTargetSpec } from '../src/core/process.js';
import { createTarget } from '../src/targets/create-target.js';
import { INSTALL, ScriptExit } from '../src/targets/ssh/ssh-scripts.js';
import { createSshTarget, type SshTarget } from '../src/targets/ssh/ssh-target.js';
import { type SshdFleet, type SshdHost, startSshd } from './servers/sshd.js';
import { describeTargetContract } from './target-contract.js';
import { buildArtifact, writeTarball } from './target-tarball.js';
import { waitFor } from './wait-for.js';

let fleet: SshdFleet;
let base: string;
let general: SshdHost;
let jumpTarget: SshdHost;
let rekeyed: SshdHost;
let dying: SshdHost;

beforeAll(async () => {
  fleet = await startSshd(4);
  [general, jumpTarget, rekeyed, dying] = fleet.hosts as [SshdHost, SshdHost, SshdHost, SshdHost];
  base = await mkdtemp(path.join(tmpdir(), 'slipway-ssh-test-'));
});
afterAll(async () => {
  await fleet?.stop();
  await rm(base, { recursive: true, force: true });
});

/** A fresh, empty root folder on the (loopback) host. */
async function freshRoot(name = 'root'): Promise<string> {
  return await mkdtemp(path.join(general.root, `${name}-`));
}

describeTargetContract('ssh', async () => {
  const root = await freshRoot();
  return {
    target: createSshTarget(general.spec({ root })),
    cleanup: () => rm(root, { recursive: true, force: true }),
    artifact: (files) => buildArtifact(base, files),
  };
});

describe('SshTarget specifics', () => {
  let target: SshTarget;
  let root: string;
  const sh = async (script: string, env: Record<string, string> = {}): Promise<string> => {
    const r = await target.exec({ shell: script }, { timeoutMs: 10_000, env });
    expect(r.exitCode, r.output).toBe(0);
    return r.output;
  };

  beforeEach(async () => {
    root = await freshRoot();
    target = createSshTarget(general.spec({ root }));
    await target.prepare();
  });
  afterEach(async () => {
    await target.close();
    await rm(root, { recursive: true, force: true });
  });

  it('is made by createTarget from an ssh spec and describes itself as user@host:port + root', () => {
    const t = createTarget(general.spec({ root }));
    expect(t.description).toBe(`ssh:${general.user}@127.0.0.1:${general.port}${root}`);
    expect(t.layout.releases).toBe(`${root}/releases`);
  });

  it('uses one connection for many commands, uploads and switches, and runs 20 commands at once on it', async () => {
    await target.close();
    const before = await general.acceptedLogins();
    const sessions = async () => (await readFile(general.logFile, 'utf8')).split('Starting session:').length;
    const sessionsBefore = await sessions();
    target = createSshTarget(general.spec({ root }));
    for (let i = 0; i < 10; i++) await sh('true');
    const art = await buildArtifact(base, { VERSION: '1\n' });
    await target.installRelease(art.path, art.sha256, 'r1');
    await target.switchCurrent('r1');
    await target.writeReleaseFile('r1', 'config/app.env', 'A=1\n');
    // More than sshd's MaxSessions (10) at once: queued on the same connection, not refused.
    const outputs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        target.exec({ argv: ['sh', '-c', 'sleep 0.2; echo $1', 'sh', String(i)] }, { timeoutMs: 10_000 }),
      ),
    );
    expect(outputs.map((o) => o.output)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(target.connection.connects).toBe(1);
    expect((await general.acceptedLogins()) - before).toBe(1);
    // Every command and the upload were sessions (channels) of that one login.
    expect((await sessions()) - sessionsBefore).toBeGreaterThan(30);
  });

  it('reports the remote process group id, which is the command itself', async () => {
    let pgid = 0;
    const r = await target.exec(
      { shell: 'ps -o pgid= -p $$; echo $$' },
      { timeoutMs: 10_000, onSpawn: (p) => (pgid = p) },
    );
    const [group, pid] = r.output.trim().split(/\s+/).map(Number);
    expect(pgid).toBeGreaterThan(1);
    expect(group).toBe(pgid);
    expect(pid).toBe(pgid);
  });

  it('passes hostile values as data: argv, env, cwd, release files, and a root with quotes in its name', async () => {
    const hostile = [
      "'; touch pwned; '",
      '$(touch pwned)',
      '`touch pwned`',
      'a\nb; touch pwned',
      '-oProxyCommand=touch pwned',
      '--help',
      'it\'s "quoted" \\ | & ; > pwned',
    ];
    for (const value of hostile) {
      const r = await target.exec({ argv: ['printf', '%s', value] }, { timeoutMs: 10_000 });
      expect(r.output).toBe(value);
      expect(await sh('printf %s "$V"', { V: value })).toBe(value);
    }
    // A working directory with every kind of trouble in its name.
    const weird = `d'ir $(touch pwned); \`x\` -n`;
    await target.exec({ argv: ['mkdir', weird] }, { timeoutMs: 10_000 });
    const pwd = await target.exec({ argv: ['pwd'] }, { cwd: weird, timeoutMs: 10_000 });
    expect(pwd.output).toBe(`${root}/${weird}\n`);
    // Names a remote shell could not carry (or env(1) would take for an option) are refused, not lost.
    for (const name of ['-i', 'my-var', '1X', 'A=B']) {
      await expect(
        target.exec({ argv: ['true'] }, { env: { [name]: 'x' }, timeoutMs: 10_000 }),
      ).rejects.toMatchObject({
        code: 'SLW_TARGET_FAILED',
        message: expect.stringContaining(JSON.stringify(name)),
      });
    }
    // Release files with hostile names and contents.
    const art = await buildArtifact(base, { VERSION: '1\n' });
    await target.installRelease(art.path, art.sha256, 'r1');
    await target.writeReleaseFile('r1', `c'fg $(touch pwned)/a;b`, "x'$(touch pwned)\n");
    expect(await sh(`cat "releases/r1/c'fg \\$(touch pwned)/a;b"`)).toBe("x'$(touch pwned)\n");
    expect(await sh('find . -name pwned | wc -l')).toBe('0\n');

    // The whole lifecycle in a root whose name is itself hostile.
    const evilRoot = path.join(root, `r'oot $(touch pwned) ; x`);
    const evil = createSshTarget(general.spec({ root: evilRoot }));
    try {
      await evil.prepare();
      await evil.installRelease(art.path, art.sha256, 'r1');
      expect(await evil.switchCurrent('r1')).toEqual({ previous: null });
      expect(await evil.currentRelease()).toBe('r1');
      expect(await evil.listReleases()).toEqual(['r1']);
      await evil.writeReleaseFile('r1', 'x', 'y');
      expect(await evil.pruneReleases(0, [])).toEqual([]);
      expect((await evil.exec({ argv: ['cat', 'current/VERSION'] }, { timeoutMs: 10_000 })).output).toBe(
        '1\n',
      );
    } finally {
      await evil.close();
    }
    expect(await sh('find / -xdev -name pwned -newer releases 2>/dev/null | wc -l')).toBe('0\n');
  });

  it('refuses host, user and root values that could be options or shell syntax, before connecting', () => {
    const bad: Partial<SshTargetSpec>[] = [
      { address: '-oProxyCommand=touch /tmp/pwned' },
      { address: 'host name' },
      { user: '-lroot' },
      { user: 'ro\not' },
      { root: 'relative/root' },
      { root: '/a\nb' },
      { port: 0 },
    ];
    for (const overrides of bad) {
      expect(() => createSshTarget(general.spec(overrides)), JSON.stringify(overrides)).toThrow(
        expect.objectContaining({ code: 'SLW_USAGE' }),
      );
    }
  });

  it('checks unsafe archives on this machine: nothing is uploaded', async () => {
    const probe = createSshTarget(general.spec({ root }));
    try {
      await probe.prepare();
      const log = () => readFile(general.logFile, 'utf8');
      const sftpBefore = (await log()).split("Starting session: subsystem 'sftp'").length;
      const evil = await writeTarball(path.join(base, `evil-${randomBytes(3).toString('hex')}.tar.gz`), [
        { type: 'file', path: 'VERSION', content: '1\n' },
        { type: 'symlink', path: 'link', target: '../../../etc' },
      ]);
      await expect(probe.installRelease(evil.path, evil.sha256, 'r1')).rejects.toMatchObject({
        code: 'SLW_ARTIFACT_UNSAFE',
      });
      expect((await log()).split("Starting session: subsystem 'sftp'").length).toBe(sftpBefore);
      // A good one does go through SFTP (so the probe above can see an upload).
      const art = await buildArtifact(base, { VERSION: '1\n' });
      await probe.installRelease(art.path, art.sha256, 'r1');
      expect((await log()).split("Starting session: subsystem 'sftp'").length).toBe(sftpBefore + 1);
    } finally {
      await probe.close();
    }
  });

  it('verifies the checksum on the host before unpacking: other bytes there are not unpacked', async () => {
    const art = await buildArtifact(base, { VERSION: '1\n' });
    await target.installRelease(art.path, art.sha256, 'r1');
    const marker = JSON.parse(await sh('cat releases/r1/.slipway-release'));
    expect(marker).toMatchObject({ name: 'r1', sha256: art.sha256, entries: 2 });
    expect(await sh('ls -A releases')).toBe('r1\n');
    // The host-side step on its own, given an upload whose bytes are not the ones announced.
    const incoming = `${root}/releases/.incoming-r2-test.tar.gz`;
    await copyFile(art.path, incoming);
    const r = await target.exec(
      {
        argv: [
          '/bin/sh',
          '-c',
          INSTALL,
          'slipway',
          incoming,
          `${root}/releases/.tmp-r2`,
          `${root}/releases/r2`,
          'f'.repeat(64),
          '{}',
          `${root}/current`,
          'r2',
        ],
      },
      { timeoutMs: 10_000 },
    );
    expect(r.exitCode).toBe(ScriptExit.checksum);
    expect(r.output.trim()).toBe(art.sha256);
    expect(await sh('ls -A releases')).toBe('.incoming-r2-test.tar.gz\nr1\n');
  });

  it('stops an install when aborted mid-upload, leaving nothing behind, and installs again after', async () => {
    const art = await buildArtifact(base, { VERSION: '1\n', blob: randomBytes(24 * 1024 * 1024) });
    const ac = new AbortController();
    const releases = path.join(root, 'releases');
    const installing = target.installRelease(art.path, art.sha256, 'r1', ac.signal).catch((e: unknown) => e);
    // Abort once the upload has started on the host.
    await waitFor('the upload to start on the host', async () =>
      (await readdir(releases).catch(() => [] as string[])).some((n) => n.startsWith('.incoming-')),
    );
    ac.abort();
    const err = await installing;
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(await readdir(releases)).toEqual([]);
    expect(await target.installRelease(art.path, art.sha256, 'r1')).toMatchObject({ reused: false });
    expect(await readdir(releases)).toEqual(['r1']);
  });

  it('drops setuid, setgid and sticky bits from unpacked files', async () => {
    const art = await writeTarball(path.join(base, `suid-${randomBytes(3).toString('hex')}.tar.gz`), [
      { type: 'file', path: 'tool', content: '#!/bin/sh\n', mode: 0o6755 },
    ]);
    await target.installRelease(art.path, art.sha256, 'r1');
    expect(await sh('stat -c %a releases/r1/tool')).toBe('755\n');
  });

  it('reports a full disk clearly, leaves no release or upload behind, and keeps current', async () => {
    const small = path.join(root, 'small');
    await mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
    const disk = createSshTarget(general.spec({ root: small }));
    try {
      await disk.prepare();
      const ok = await buildArtifact(base, { VERSION: '1\n' });
      await disk.installRelease(ok.path, ok.sha256, 'r1');
      await disk.switchCurrent('r1');
      // 1. The upload itself does not fit (random bytes do not compress).
      const big = await buildArtifact(base, { VERSION: '2\n', blob: randomBytes(3 * 1024 * 1024) });
      const e1 = await disk.installRelease(big.path, big.sha256, 'r2').catch((e: unknown) => e);
      expect(e1).toMatchObject({ code: 'SLW_TARGET_FAILED' });
      expect((e1 as Error).message).toContain('the disk is full');
      expect((e1 as Error).message).toContain(`@127.0.0.1:${general.port}`);
      // 2. The upload fits, unpacking does not (4 MiB of random a/b compress to ~0.6 MiB).
      const ab = Buffer.from(randomBytes(4 * 1024 * 1024).map((b) => 97 + (b & 1)));
      const bomb = await buildArtifact(base, { VERSION: '3\n', ab });
      const e2 = await disk.installRelease(bomb.path, bomb.sha256, 'r3').catch((e: unknown) => e);
      expect(e2).toMatchObject({ code: 'SLW_TARGET_FAILED' });
      expect((e2 as Error).message).toContain('the disk is full');
      expect((e2 as { hint: string }).hint).toContain('free space');
      for (const t of [disk]) {
        expect(await t.listReleases()).toEqual(['r1']);
        expect(await t.currentRelease()).toBe('r1');
      }
      const listing = await disk.exec({ argv: ['ls', '-A', 'releases'] }, { timeoutMs: 10_000 });
      expect(listing.output).toBe('r1\n');
      expect((await disk.exec({ argv: ['cat', 'current/VERSION'] }, { timeoutMs: 10_000 })).output).toBe(
        '1\n',
      );
    } finally {
      await disk.close();
      execFileSync('umount', ['-l', small]);
    }
  });
});

describe('SSH connection faults', () => {
  const targets: SshTarget[] = [];
  const make = (spec: SshTargetSpec): SshTarget => {
    const t = createSshTarget(spec);
    targets.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(targets.splice(0).map((t) => t.close()));
  });
  const probe = (t: SshTarget) => t.exec({ argv: ['echo', 'ok'] }, { timeoutMs: 10_000 });

  it('refuses an unknown host, saying how to add it, and writes nothing', async () => {
    const kh = path.join(base, `kh-unknown-${randomBytes(3).toString('hex')}`);
    await writeFile(kh, '');
    const err = await probe(make(general.spec({ knownHosts: kh }))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SLW_HOST_KEY_UNKNOWN' });
    const msg = `${(err as Error).message} ${(err as { hint: string }).hint}`;
    expect(msg).toContain(`${general.user}@127.0.0.1:${general.port}`);
    expect(msg).toContain(general.hostKeyFingerprint);
    expect(msg).toContain(`ssh-keyscan -p ${general.port} 127.0.0.1 >> ${kh}`);
    expect(await readFile(kh, 'utf8')).toBe('');
  });

  it('accepts and records a new host only when acceptNewHosts is on; the recorded key is then required', async () => {
    const kh = path.join(base, `kh-new-${randomBytes(3).toString('hex')}`, 'known_hosts');
    const t = make(general.spec({ knownHosts: kh, acceptNewHosts: true }));
    expect((await probe(t)).output).toBe('ok\n');
    const text = await readFile(kh, 'utf8');
    expect(text).toBe(`${general.knownHostsLine}\n`);
    // OpenSSH itself accepts the recorded line.
    expect(
      execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${general.port}`, '-f', kh], { encoding: 'utf8' }),
    ).toContain('ssh-ed25519');
    // A second target with the now-known host, opt-in off: connects, and appends nothing.
    expect((await probe(make(general.spec({ knownHosts: kh })))).output).toBe('ok\n');
    expect(await readFile(kh, 'utf8')).toBe(text);
  });

  it('accepts hashed known_hosts entries', async () => {
    const kh = path.join(base, `kh-hashed-${randomBytes(3).toString('hex')}`);
    await writeFile(kh, `${general.knownHostsLine}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
    expect(await readFile(kh, 'utf8')).toMatch(/^\|1\|/);
    expect((await probe(make(general.spec({ knownHosts: kh })))).output).toBe('ok\n');
  });

  it('verifies ECDSA and RSA host keys too, asking the host for the type known_hosts holds', async () => {
    const multi = await startSshd(1, { hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });
    try {
      const [h] = multi.hosts as [SshdHost];
      for (const type of ['rsa', 'ecdsa', 'ed25519'] as const) {
        const kh = path.join(base, `kh-${type}-${randomBytes(3).toString('hex')}`);
        await writeFile(kh, `${h.knownHostsLines[type]}\n`);
        expect((await probe(make(h.spec({ knownHosts: kh })))).output, type).toBe('ok\n');
      }
      // Known with an RSA key only, and that key replaced by another RSA key: changed, whatever else it offers.
      const other = await startSshd(1, { hostKeyTypes: ['rsa'] });
      try {
        const kh = path.join(base, `kh-rsa-changed-${randomBytes(3).toString('hex')}`);
        const [o] = other.hosts as [SshdHost];
        await writeFile(kh, `${o.knownHostsLine.replace(`:${o.port} `, `:${h.port} `)}\n`);
        const err = await probe(make(h.spec({ knownHosts: kh }))).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'SLW_HOST_KEY_CHANGED' });
        expect((err as Error).message).toContain(o.hostKeyFingerprint);
        expect((err as Error).message).toContain(h.hostKeyFingerprints.rsa);
      } finally {
        await other.stop();
      }
    } finally {
      await Promise.all(targets.splice(0).map((t) => t.close()));
      await multi.stop();
    }
  });

  it('logs in with the SSH agent when there is no identityFile', async () => {
    const sock = path.join(base, `agent-${randomBytes(3).toString('hex')}.sock`);
    const out = execFileSync('ssh-agent', ['-a', sock], { encoding: 'utf8' });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]);
    try {
      execFileSync('ssh-add', [fleet.identityFile], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: 'ignore',
      });
      const spec = general.spec({ agent: sock });
      const { identityFile: _, ...withoutKey } = spec;
      expect((await probe(make(withoutKey as SshTargetSpec))).output).toBe('ok\n');
    } finally {
      process.kill(pid, 'SIGTERM');
    }
  });

  it('always refuses a changed host key, naming host, port and both fingerprints', async () => {
    const before = rekeyed.hostKeyFingerprint;
    const kh = path.join(base, `kh-changed-${randomBytes(3).toString('hex')}`);
    await copyFile(fleet.knownHostsFile, kh);
    expect((await probe(make(rekeyed.spec({ knownHosts: kh })))).output).toBe('ok\n');
    await rekeyed.restart({ newHostKey: true });
    expect(rekeyed.hostKeyFingerprint).not.toBe(before);
    for (const acceptNewHosts of [false, true]) {
      const err = await probe(make(rekeyed.spec({ knownHosts: kh, acceptNewHosts }))).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'SLW_HOST_KEY_CHANGED' });
      const msg = (err as Error).message;
      expect(msg).toContain(`127.0.0.1`);
      expect(msg).toContain(`port ${rekeyed.port}`);
      expect(msg).toContain(before);
      expect(msg).toContain(rekeyed.hostKeyFingerprint);
    }
    expect(await readFile(kh, 'utf8')).toBe(await readFile(fleet.knownHostsFile, 'utf8'));
  });

  it('reports an unreachable port quickly, naming user@host:port', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const err = await probe(make(general.spec({ port }))).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toMatchObject({ code: 'SLW_TARGET_UNREACHABLE' });
    expect((err as Error).message).toContain(`${general.user}@127.0.0.1:${port}`);
    expect((err as Error).message).toContain('connection refused');
  });

  it('reports a refused login (wrong key) and a missing key file', async () => {
    const other = path.join(base, `other-key-${randomBytes(3).toString('hex')}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const err = await probe(make(general.spec({ identityFile: other }))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SLW_AUTH_FAILED' });
    expect((err as Error).message).toContain(`${general.user}@127.0.0.1:${general.port}`);
    expect((err as Error).message).toContain(other);
    const missing = await probe(make(general.spec({ identityFile: `${other}-missing` }))).catch(
      (e: unknown) => e,
    );
    expect(missing).toMatchObject({ code: 'SLW_AUTH_FAILED' });
    expect((missing as Error).message).toContain(`${other}-missing`);
  });

  it('uses an encrypted key with its passphrase from an environment variable', async () => {
    const key = path.join(base, `enc-key-${randomBytes(3).toString('hex')}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 's3cret pass', '-f', key]);
    const authorized = path.join(fleet.dir, 'authorized_keys');
    const original = await readFile(authorized, 'utf8');
    await writeFile(authorized, `${original}${await readFile(`${key}.pub`, 'utf8')}`);
    try {
      process.env.SLIPWAY_TEST_KEY_PASS = 's3cret pass';
      const t = make(general.spec({ identityFile: key, passphrase: { env: 'SLIPWAY_TEST_KEY_PASS' } }));
      expect((await probe(t)).output).toBe('ok\n');
      const none = await probe(make(general.spec({ identityFile: key }))).catch((e: unknown) => e);
      expect(none).toMatchObject({ code: 'SLW_AUTH_FAILED' });
      expect((none as Error).message).not.toContain('s3cret');
    } finally {
      delete process.env.SLIPWAY_TEST_KEY_PASS;
      await writeFile(authorized, original);
    }
  });

  it('reaches a host through a jump host', async () => {
    const jumpLogins = await general.acceptedLogins();
    const targetLogins = await jumpTarget.acceptedLogins();
    const t = make(
      jumpTarget.spec({
        jump: {
          address: general.address,
          port: general.port,
          user: general.user,
          identityFile: general.identityFile,
        },
      }),
    );
    await t.prepare();
    const r = await t.exec({ shell: 'echo "$SSH_CONNECTION"' }, { timeoutMs: 10_000 });
    // The target sees the connection coming from the jump host's forward, not from us directly.
    expect(r.output).toContain(` ${jumpTarget.port}`);
    const art = await buildArtifact(base, { VERSION: 'jumped\n' });
    await t.installRelease(art.path, art.sha256, 'r1');
    await t.switchCurrent('r1');
    expect((await t.exec({ argv: ['cat', 'current/VERSION'] }, { timeoutMs: 10_000 })).output).toBe(
      'jumped\n',
    );
    expect((await general.acceptedLogins()) - jumpLogins).toBe(1);
    expect((await jumpTarget.acceptedLogins()) - targetLogins).toBe(1);
  });

  it("verifies the jump host's key too: a jump host missing from known_hosts is refused, the target never reached", async () => {
    const kh = path.join(base, `kh-jump-${randomBytes(3).toString('hex')}`);
    // Only the target is known: the jump host is not.
    await writeFile(kh, `${jumpTarget.knownHostsLine}\n`);
    const targetLogins = await jumpTarget.acceptedLogins();
    const jump = {
      address: general.address,
      port: general.port,
      user: general.user,
      identityFile: general.identityFile,
    };
    const err = await probe(make(jumpTarget.spec({ knownHosts: kh, jump }))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SLW_HOST_KEY_UNKNOWN' });
    expect((err as Error).message).toContain(`jump host ${general.user}@127.0.0.1:${general.port}`);
    expect(await jumpTarget.acceptedLogins()).toBe(targetLogins);
    // A known jump host offering another key is refused as changed.
    await writeFile(
      kh,
      `${jumpTarget.knownHostsLine}\n${general.knownHostsLine.replace(/ \S+$/, ` ${jumpTarget.knownHostsLine.split(' ').at(-1)}`)}\n`,
    );
    const changed = await probe(make(jumpTarget.spec({ knownHosts: kh, jump }))).catch((e: unknown) => e);
    expect(changed).toMatchObject({ code: 'SLW_HOST_KEY_CHANGED' });
    expect(await jumpTarget.acceptedLogins()).toBe(targetLogins);
  });

  it('stops process groups an earlier connection left running on the host (a runner take-over)', async () => {
    const first = make(general.spec());
    let pgid = 0;
    const running = first
      .exec({ shell: 'sleep 30 & sleep 31; wait' }, { timeoutMs: 60_000, onSpawn: (p) => (pgid = p) })
      .catch((e: unknown) => e);
    await waitFor('the remote process group id', () => pgid !== 0);
    // The runner goes away: its connection closes, the commands on the host keep running.
    await first.connection.close();
    expect(await running).toMatchObject({ code: 'SLW_TARGET_DISCONNECTED' });
    const alive = (t: SshTarget) =>
      t.exec({ argv: ['sh', '-c', 'ps -o pid= -g "$1" | wc -l', 'sh', String(pgid)] }, { timeoutMs: 10_000 });
    const second = make(general.spec());
    expect(Number((await alive(second)).output)).toBeGreaterThan(0);
    await second.stopProcessGroups([pgid]);
    expect(Number((await alive(second)).output)).toBe(0);
  });

  it('gives up on a host that hangs with its connection open (keepalive), then reconnects', async () => {
    const t = createSshTarget(dying.spec(), { keepaliveIntervalMs: 300, keepaliveCountMax: 2 });
    targets.push(t);
    expect((await probe(t)).output).toBe('ok\n');
    let started!: () => void;
    let pgid = 0;
    const running: Promise<unknown> = t
      .exec(
        { shell: 'echo started; sleep 30' },
        { timeoutMs: 60_000, onOutput: () => started(), onSpawn: (p) => (pgid = p) },
      )
      .catch((e: unknown) => e);
    await new Promise<void>((r) => (started = r));
    const t0 = Date.now();
    await dying.freeze();
    try {
      const err = await running;
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(err).toMatchObject({ code: 'SLW_TARGET_DISCONNECTED' });
      expect((err as Error).message).toContain(`@127.0.0.1:${dying.port}`);
    } finally {
      await dying.thaw();
    }
    expect((await probe(t)).output).toBe('ok\n');
    expect(t.connection.connects).toBe(2);
    // The command itself outlived the connection on the host: stopped like a runner take-over would.
    await t.stopProcessGroups([pgid]);
  });

  it('fails a command clearly when the host dies under it, and reconnects once the host is back', async () => {
    const t = make(dying.spec());
    expect((await probe(t)).output).toBe('ok\n');
    let started!: () => void;
    let pgid = 0;
    const running: Promise<unknown> = t
      .exec(
        { shell: 'echo started; sleep 30' },
        { timeoutMs: 60_000, onOutput: () => started(), onSpawn: (p) => (pgid = p) },
      )
      .catch((e: unknown) => e);
    await new Promise<void>((r) => (started = r));
    const t0 = Date.now();
    await dying.kill();
    const err = await running;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(err).toMatchObject({ code: 'SLW_TARGET_DISCONNECTED' });
    expect((err as Error).message).toContain(`@127.0.0.1:${dying.port}`);
    expect((err as Error).message).toContain('echo started; sleep 30');
    // While it is down: unreachable, promptly.
    await expect(probe(t)).rejects.toMatchObject({ code: 'SLW_TARGET_UNREACHABLE' });
    await dying.restart();
    expect((await probe(t)).output).toBe('ok\n');
    expect(t.connection.connects).toBe(2);
  });
});
