import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownHostsLine, parseKnownHosts } from './known-hosts.js';
import { HostKeyCheck, recordHostKey } from './ssh-connection.js';

let dir: string;
const keys: Buffer[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'slipway-record-'));
  for (const name of ['a', 'b']) {
    const file = path.join(dir, name);
    execFileSync('ssh-keygen', ['-t', 'ed25519', '-q', '-N', '', '-f', file]);
    keys.push(Buffer.from(readFileSync(`${file}.pub`, 'utf8').split(' ')[1] as string, 'base64'));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('recordHostKey (acceptNewHosts)', () => {
  const name = '[127.0.0.1]:2222';
  const [a, b] = [() => keys[0] as Buffer, () => keys[1] as Buffer];

  it('appends a new host once, however many connections record it', async () => {
    const file = path.join(dir, 'known_hosts_once');
    await recordHostKey(file, name, a());
    await recordHostKey(file, name, a());
    expect(readFileSync(file, 'utf8')).toBe(`${knownHostsLine(name, a())}\n`);
  });

  it('refuses a key another connection recorded differently meanwhile, and never adds a second key', async () => {
    const file = path.join(dir, 'known_hosts_race');
    writeFileSync(file, `${knownHostsLine(name, a())}\n`);
    const err = await recordHostKey(file, name, b()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SLW_HOST_KEY_CHANGED' });
    expect((err as Error).message).toContain(name);
    expect(readFileSync(file, 'utf8')).toBe(`${knownHostsLine(name, a())}\n`);
  });
});

describe('HostKeyCheck', () => {
  const name = '[127.0.0.1]:2222';

  it('pins the key a connection began with: a re-key offering another key is refused, even with acceptNewHosts', () => {
    const [a, b] = keys as [Buffer, Buffer];
    const fresh = new HostKeyCheck([], name, true);
    expect(fresh.verify(a)).toBe(true);
    expect(fresh.accepted).toEqual(a);
    expect(fresh.verify(a)).toBe(true);
    expect(fresh.verify(b)).toBe(false);
    const known = new HostKeyCheck(parseKnownHosts(knownHostsLine(name, a)), name, false);
    expect(known.verify(a)).toBe(true);
    expect(known.accepted).toBeNull();
    expect(known.verify(b)).toBe(false);
  });

  it('refuses an unknown host without acceptNewHosts, and a changed key always', () => {
    const [a, b] = keys as [Buffer, Buffer];
    expect(new HostKeyCheck([], name, false).verify(a)).toBe(false);
    const changed = new HostKeyCheck(parseKnownHosts(knownHostsLine(name, a)), name, true);
    expect(changed.verify(b)).toBe(false);
    expect(changed.verdict?.status).toBe('changed');
  });
});
