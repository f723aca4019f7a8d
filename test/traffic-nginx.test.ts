/** NginxSwitch against a real nginx: the contract, plus a config nginx -t refuses and hostile backend values. */

import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRedactor } from '../src/core/redact.js';
import { NginxSwitch } from '../src/traffic/nginx/nginx-switch.js';
import { type NginxServer, startNginx } from './servers/nginx.js';
import { distribution, type NamedBackend, startNamedBackends, stopAll } from './traffic-backends.js';
import { describeTrafficSwitchContract } from './traffic-contract.js';

describeTrafficSwitchContract(
  'nginx',
  async (backends) => {
    const nginx = await startNginx({ backends });
    return {
      trafficSwitch: new NginxSwitch({
        upstreamFile: nginx.upstreamFile,
        upstream: nginx.upstream,
        config: nginx.config,
        pidFile: nginx.pidFile,
        backends,
      }),
      url: nginx.url,
      stop: () => nginx.stop(),
    };
  },
  { closesIdleKeepAlive: true },
);

describe('NginxSwitch specifics', () => {
  let backends: NamedBackend[];
  let nginx: NginxServer;
  let sw: NginxSwitch;

  beforeAll(async () => {
    backends = await startNamedBackends(['blue', 'green']);
    nginx = await startNginx({ backends: backends.map((b) => b.backend), workerProcesses: 2 });
    sw = new NginxSwitch({
      upstreamFile: nginx.upstreamFile,
      upstream: nginx.upstream,
      config: nginx.config,
      pidFile: nginx.pidFile,
      backends: backends.map((b) => b.backend),
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await stopAll(backends ?? []);
  });

  it('puts the previous file back and keeps serving when nginx -t refuses the config', async () => {
    await sw.setWeights({ blue: 100, green: 0 });
    const before = await readFile(nginx.upstreamFile, 'utf8');
    const goodConfig = await readFile(nginx.config, 'utf8');
    // Someone broke the main config since the last reload: the running nginx still has the good one.
    await writeFile(nginx.config, goodConfig.replace('keepalive 32;', 'keepalive 32; bogus_directive on;'));
    try {
      const error = await sw.setWeights({ blue: 0, green: 100 }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'SLW_TRAFFIC_FAILED',
        message: expect.stringContaining('unknown directive "bogus_directive"'),
      });
      expect((error as Error).message).toContain('previous file was put back');
      expect(await readFile(nginx.upstreamFile, 'utf8')).toBe(before);
      expect(await sw.weights()).toEqual({ blue: 100, green: 0 });
      expect(await distribution(nginx.url, 20)).toEqual({ blue: 20 });
    } finally {
      await writeFile(nginx.config, goodConfig);
    }
    await sw.setWeights({ blue: 0, green: 100 });
    expect(await distribution(nginx.url, 20)).toEqual({ green: 20 });
  });

  it('shows nginx’s complaint redacted: a secret in the broken config never reaches the error', async () => {
    const secret = 'sekret_token_8f3a91';
    const redacting = new NginxSwitch({
      upstreamFile: nginx.upstreamFile,
      upstream: nginx.upstream,
      config: nginx.config,
      pidFile: nginx.pidFile,
      backends: backends.map((b) => b.backend),
      redact: makeRedactor([secret]),
    });
    await redacting.setWeights({ blue: 100, green: 0 });
    const goodConfig = await readFile(nginx.config, 'utf8');
    await writeFile(nginx.config, goodConfig.replace('keepalive 32;', `keepalive 32; ${secret} on;`));
    try {
      const error = (await redacting.setWeights({ blue: 0, green: 100 }).catch((e: unknown) => e)) as Error;
      expect(error.message).toContain('unknown directive "[redacted]"');
      expect(JSON.stringify({ m: error.message, d: (error as { details?: unknown }).details })).not.toContain(
        secret,
      );
    } finally {
      await writeFile(nginx.config, goodConfig);
    }
  });

  it('uses the configured test and reload commands (argv, no shell)', async () => {
    const custom = new NginxSwitch({
      upstreamFile: nginx.upstreamFile,
      upstream: nginx.upstream,
      pidFile: nginx.pidFile,
      testCommand: ['/usr/sbin/nginx', '-t', '-c', nginx.config],
      reloadCommand: ['/usr/sbin/nginx', '-s', 'reload', '-c', nginx.config],
      backends: backends.map((b) => b.backend),
    });
    await custom.setWeights({ blue: 0, green: 100 });
    expect(await distribution(nginx.url, 20)).toEqual({ green: 20 });
    await custom.setWeights({ blue: 100, green: 0 });
    expect(await distribution(nginx.url, 20)).toEqual({ blue: 20 });

    const failing = new NginxSwitch({
      upstreamFile: nginx.upstreamFile,
      upstream: nginx.upstream,
      pidFile: nginx.pidFile,
      testCommand: ['/usr/sbin/nginx', '-t', '-c', nginx.config],
      reloadCommand: ['/bin/sh', '-c', 'echo "reload refused" >&2; exit 3'],
      backends: backends.map((b) => b.backend),
    });
    const before = await readFile(nginx.upstreamFile, 'utf8');
    await expect(failing.setWeights({ blue: 0, green: 100 })).rejects.toMatchObject({
      code: 'SLW_TRAFFIC_FAILED',
      message: expect.stringContaining('failed (exit 3): reload refused'),
    });
    expect(await readFile(nginx.upstreamFile, 'utf8')).toBe(before);
    expect(await distribution(nginx.url, 20)).toEqual({ blue: 20 });
  });

  it('writes only server lines with a managed-by-Slipway header', async () => {
    await sw.setWeights({ blue: 25, green: 75 });
    const text = await readFile(nginx.upstreamFile, 'utf8');
    const [b, g] = backends.map((x) => x.backend.port);
    expect(text).toBe(
      '# Managed by Slipway for nginx upstream "slipway_app": every traffic switch rewrites this file.\n' +
        '# Do not edit: include it inside `upstream <name> { ... }`. Weight 0 is written as "down".\n' +
        `server 127.0.0.1:${b} weight=25; # slipway-backend blue\n` +
        `server 127.0.0.1:${g} weight=75; # slipway-backend green\n`,
    );
  });

  it('refuses a file edited by hand instead of guessing, and does not touch it', async () => {
    const edited = `${await readFile(nginx.upstreamFile, 'utf8')}server 127.0.0.1:1 backup;\n`;
    await writeFile(nginx.upstreamFile, edited);
    try {
      await expect(sw.setWeights({ blue: 100 })).rejects.toMatchObject({
        code: 'SLW_TRAFFIC_FAILED',
        message: expect.stringContaining(`${nginx.upstreamFile}:5: not a line Slipway writes`),
      });
      expect(await readFile(nginx.upstreamFile, 'utf8')).toBe(edited);
    } finally {
      await writeFile(nginx.upstreamFile, edited.replace('server 127.0.0.1:1 backup;\n', ''));
    }
  });

  it.each([
    [
      'an address that closes the directive',
      { id: 'x', address: '127.0.0.1; } server { listen 9', port: 80 },
    ],
    ['an id with a newline', { id: 'x\nserver 10.0.0.1:80', address: '127.0.0.1', port: 80 }],
    ['an id starting with a dash', { id: '-oProxyCommand=touch', address: '127.0.0.1', port: 80 }],
    ['a port out of range', { id: 'x', address: '127.0.0.1', port: 70_000 }],
  ])('refuses a backend with %s before writing anything', async (_label, bad) => {
    const before = await readFile(nginx.upstreamFile, 'utf8');
    expect(
      () =>
        new NginxSwitch({
          upstreamFile: nginx.upstreamFile,
          upstream: nginx.upstream,
          config: nginx.config,
          pidFile: nginx.pidFile,
          backends: [backends[0]!.backend, bad],
        }),
    ).toThrow(expect.objectContaining({ code: 'SLW_TRAFFIC_INVALID' }));
    expect(await readFile(nginx.upstreamFile, 'utf8')).toBe(before);
  });

  it('says so clearly when nginx is not running, and leaves the file alone', async () => {
    const orphan = new NginxSwitch({
      upstreamFile: nginx.upstreamFile,
      upstream: nginx.upstream,
      config: nginx.config,
      pidFile: `${nginx.dir}/missing.pid`,
      backends: backends.map((b) => b.backend),
    });
    const before = await readFile(nginx.upstreamFile, 'utf8');
    await expect(orphan.setWeights({ blue: 1, green: 99 })).rejects.toMatchObject({
      code: 'SLW_TRAFFIC_FAILED',
      message: expect.stringContaining('missing.pid'),
    });
    expect(await readFile(nginx.upstreamFile, 'utf8')).toBe(before);
  });

  it('never signals a process that reused the pid of a stale pid file', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => other.once('exit', r));
    try {
      const stalePidFile = `${nginx.dir}/stale.pid`;
      await writeFile(stalePidFile, `${other.pid}\n`);
      const stale = new NginxSwitch({
        upstreamFile: nginx.upstreamFile,
        upstream: nginx.upstream,
        config: nginx.config,
        pidFile: stalePidFile,
        backends: backends.map((b) => b.backend),
      });
      await expect(stale.setWeights({ blue: 1, green: 99 })).rejects.toMatchObject({
        code: 'SLW_TRAFFIC_FAILED',
        message: expect.stringContaining('no running nginx master'),
      });
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
    } finally {
      other.kill('SIGKILL');
      await exited;
    }
  });
});
