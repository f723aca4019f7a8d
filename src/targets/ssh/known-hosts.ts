/** known_hosts files as OpenSSH writes them: parsing, host matching (plain, wildcard, hashed), and the verdict on a key. */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** `@revoked` keys are refused; `@cert-authority` lines are kept but never match (certificates are not supported). */
  readonly marker: '@revoked' | '@cert-authority' | null;
  /** The host field as written: comma-separated patterns, or one `|1|salt|hash`. */
  readonly hosts: string;
  readonly keyType: string;
  readonly key: Buffer;
  /** 1-based line number, for messages. */
  readonly line: number;
}

/** The name a host is recorded under: `host` on port 22, `[host]:port` on any other (as OpenSSH does). */
export function knownHostName(address: string, port: number): string {
  const host = address.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Parses a known_hosts text; lines it cannot read (comments, blank, malformed) are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0];
      fields.shift();
    } else if (fields[0].startsWith('@')) {
      return;
    }
    const [hosts, keyType, b64] = fields;
    if (hosts === undefined || keyType === undefined || b64 === undefined) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    // The blob names its own type first; a line whose type field disagrees is corrupt.
    if (keyTypeOf(key) !== keyType) return;
    entries.push({ marker, hosts, keyType, key, line: index + 1 });
  });
  return entries;
}

/** Whether a host field (`a,b,[c]:2222,*.example.com,!bad.example.com` or `|1|salt|hash`) names `name`. */
export function hostFieldMatches(field: string, name: string): boolean {
  const wanted = name.toLowerCase();
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (salt === undefined || hash === undefined) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(wanted).digest();
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      // A negated pattern that matches overrides every positive one.
      if (wildcardMatch(pattern.slice(1).toLowerCase(), wanted)) return false;
    } else if (wildcardMatch(pattern.toLowerCase(), wanted)) {
      matched = true;
    }
  }
  return matched;
}

/** OpenSSH's `*` (any run) and `?` (one character) patterns; everything else is literal. */
function wildcardMatch(pattern: string, text: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === text;
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The algorithm name a public key blob starts with (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...). */
export function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) return null;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:<base64 without padding>`, as `ssh-keygen -l` and OpenSSH's messages show it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The line to append for a newly accepted host key. */
export function knownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${keyTypeOf(blob) ?? 'unknown'} ${blob.toString('base64')}`;
}

export type HostKeyVerdict =
  /** A key line for this host matches the offered key. */
  | { readonly status: 'known' }
  /** The offered key is marked `@revoked`. */
  | { readonly status: 'revoked' }
  /** No line names this host at all. */
  | { readonly status: 'unknown' }
  /**
   * Lines name this host but none holds the offered key: a changed key (same type), or a host that now offers
   * another type than the ones recorded. Either way it is refused.
   */
  | {
      readonly status: 'changed';
      readonly expected: readonly string[];
      readonly expectedTypes: readonly string[];
    };

/** Checks the key a host offered against the entries for `name` (see `knownHostName`). */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  name: string,
  offered: Buffer,
): HostKeyVerdict {
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && hostFieldMatches(e.hosts, name));
  // A revoked key is refused whatever host it is listed for.
  if (entries.some((e) => e.marker === '@revoked' && e.key.equals(offered))) return { status: 'revoked' };
  const plain = forHost.filter((e) => e.marker === null);
  if (plain.some((e) => e.key.equals(offered))) return { status: 'known' };
  if (plain.length === 0) return { status: 'unknown' };
  const offeredType = keyTypeOf(offered);
  const sameType = plain.filter((e) => e.keyType === offeredType);
  const shown = sameType.length > 0 ? sameType : plain;
  return {
    status: 'changed',
    expected: shown.map((e) => fingerprint(e.key)),
    expectedTypes: [...new Set(plain.map((e) => e.keyType))],
  };
}

/** Key types recorded for a host, so the handshake can ask for one of those first (as OpenSSH does). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  return [
    ...new Set(
      entries.filter((e) => e.marker === null && hostFieldMatches(e.hosts, name)).map((e) => e.keyType),
    ),
  ];
}
