import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkHostKey,
  fingerprint,
  hostFieldMatches,
  keyTypeOf,
  knownHostName,
  knownHostsLine,
  knownKeyTypes,
  parseKnownHosts,
} from './known-hosts.js';

let dir: string;
/** Real public keys made by ssh-keygen: type → [line type, blob]. */
const keys: Record<string, { type: string; blob: Buffer; fp: string }> = {};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'slipway-kh-'));
  for (const [name, args] of [
    ['ed25519', ['-t', 'ed25519']],
    ['ed25519b', ['-t', 'ed25519']],
    ['ecdsa', ['-t', 'ecdsa', '-b', '256']],
    ['rsa', ['-t', 'rsa', '-b', '2048']],
  ] as const) {
    const file = path.join(dir, name);
    execFileSync('ssh-keygen', [...args, '-q', '-N', '', '-f', file]);
    const [type, b64] = readFileSync(`${file}.pub`, 'utf8').split(' ');
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], {
      encoding: 'utf8',
    }).split(' ')[1]!;
    keys[name] = { type: type!, blob: Buffer.from(b64!, 'base64'), fp };
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (hosts: string, k: string) => `${hosts} ${keys[k]!.type} ${keys[k]!.blob.toString('base64')}`;

describe('known_hosts', () => {
  it('names hosts as OpenSSH does', () => {
    expect(knownHostName('Web1.Example.com', 22)).toBe('web1.example.com');
    expect(knownHostName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('reads key types from blobs and fingerprints them like ssh-keygen -l', () => {
    expect(keyTypeOf(keys.ed25519!.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(keys.ecdsa!.blob)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(keys.rsa!.blob)).toBe('ssh-rsa');
    for (const k of Object.values(keys)) expect(fingerprint(k.blob)).toBe(k.fp);
  });

  it('parses plain lines with comments, markers, and skips junk', () => {
    const text = [
      '# a comment',
      '',
      `${line('a.example,[b.example]:2222', 'ed25519')} comment here`,
      `@revoked ${line('*', 'rsa')}`,
      `@cert-authority ${line('*.example', 'ecdsa')}`,
      '@unknown-marker x y z',
      'host ssh-ed25519 not!base64',
      `host ssh-rsa ${keys.ed25519!.blob.toString('base64')}`,
      'onlytwo fields',
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => [e.marker, e.hosts, e.keyType, e.line])).toEqual([
      [null, 'a.example,[b.example]:2222', 'ssh-ed25519', 3],
      ['@revoked', '*', 'ssh-rsa', 4],
      ['@cert-authority', '*.example', 'ecdsa-sha2-nistp256', 5],
    ]);
  });

  it('matches patterns: lists, [host]:port, wildcards, negation, case', () => {
    expect(hostFieldMatches('a,b,c', 'b')).toBe(true);
    expect(hostFieldMatches('A.Example', 'a.example')).toBe(true);
    expect(hostFieldMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222')).toBe(true);
    expect(hostFieldMatches('[127.0.0.1]:2222', '127.0.0.1')).toBe(false);
    expect(hostFieldMatches('127.0.0.1', '[127.0.0.1]:2222')).toBe(false);
    expect(hostFieldMatches('*.example.com', 'web1.example.com')).toBe(true);
    expect(hostFieldMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostFieldMatches('web?', 'web1')).toBe(true);
    expect(hostFieldMatches('web?', 'web12')).toBe(false);
    expect(hostFieldMatches('*.example.com,!db.example.com', 'db.example.com')).toBe(false);
    expect(hostFieldMatches('!db.example.com', 'web.example.com')).toBe(false);
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const file = path.join(dir, 'hashed');
    writeFileSync(file, `${line('[127.0.0.1]:2201', 'ed25519')}\n${line('web1.example', 'ecdsa')}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('127.0.0.1');
    const entries = parseKnownHosts(text);
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(checkHostKey(entries, '[127.0.0.1]:2201', keys.ed25519!.blob)).toEqual({ status: 'known' });
    expect(checkHostKey(entries, 'web1.example', keys.ecdsa!.blob)).toEqual({ status: 'known' });
    expect(checkHostKey(entries, '[127.0.0.1]:2202', keys.ed25519!.blob)).toEqual({ status: 'unknown' });
    expect(knownKeyTypes(entries, 'web1.example')).toEqual(['ecdsa-sha2-nistp256']);
  });

  it('tells known, unknown, changed and revoked keys apart', () => {
    const entries = parseKnownHosts(
      [line('[h]:2200', 'ed25519'), line('[h]:2200', 'rsa'), `@revoked ${line('other', 'ecdsa')}`].join('\n'),
    );
    expect(checkHostKey(entries, '[h]:2200', keys.ed25519!.blob)).toEqual({ status: 'known' });
    expect(checkHostKey(entries, '[h]:2200', keys.rsa!.blob)).toEqual({ status: 'known' });
    expect(checkHostKey(entries, '[h]:2201', keys.ed25519!.blob)).toEqual({ status: 'unknown' });
    // Same type, other key: changed, naming the recorded fingerprint of that type.
    expect(checkHostKey(entries, '[h]:2200', keys.ed25519b!.blob)).toEqual({
      status: 'changed',
      expected: [keys.ed25519!.fp],
      expectedTypes: ['ssh-ed25519', 'ssh-rsa'],
    });
    // A type never recorded for a host that is known: refused too.
    expect(checkHostKey(entries, '[h]:2200', keys.ecdsa!.blob)).toMatchObject({ status: 'revoked' });
    const noRevoked = entries.slice(0, 2);
    expect(checkHostKey(noRevoked, '[h]:2200', keys.ecdsa!.blob)).toMatchObject({
      status: 'changed',
      expected: [keys.ed25519!.fp, keys.rsa!.fp],
    });
  });

  it('writes lines that OpenSSH finds again', () => {
    const file = path.join(dir, 'appended');
    writeFileSync(file, `${knownHostsLine('[127.0.0.1]:2299', keys.ed25519!.blob)}\n`);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2299', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(keys.ed25519!.blob.toString('base64'));
    expect(parseKnownHosts(readFileSync(file, 'utf8'))).toHaveLength(1);
  });
});
