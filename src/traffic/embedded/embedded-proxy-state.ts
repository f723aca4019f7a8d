/** The embedded proxy's state file (listen address, backends, weights) and its admin socket path. */

import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SlipwayError } from '../../core/errors.js';
import { MAX_WEIGHT } from '../traffic-input.js';
import type { ProxyBackend } from './embedded-proxy.js';

const stateSchema = z.object({
  version: z.literal(1),
  /** Bumped by every write; the proxy reports the one it applied, so a writer knows when it took effect. */
  generation: z.int().min(0),
  listen: z.string(),
  backends: z.array(
    z.object({
      id: z.string(),
      address: z.string(),
      port: z.int().min(1).max(65_535),
      weight: z.int().min(0).max(MAX_WEIGHT),
    }),
  ),
});

export interface ProxyState {
  readonly version: 1;
  readonly generation: number;
  /** `host:port`, `[v6]:port`. */
  readonly listen: string;
  readonly backends: readonly ProxyBackend[];
}

/** Parses `host:port` / `[ipv6]:port`; the port may be 0 only where `allowZero`. */
export function parseListen(listen: string, allowZero = false): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65_535 || (port === 0 && !allowZero)) {
    throw new SlipwayError(
      'SLW_TRAFFIC_INVALID',
      `embedded proxy: listen ${JSON.stringify(listen)} is not host:port`,
      {
        hint: 'write it like 127.0.0.1:8080 or [::1]:8080',
      },
    );
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

export function parseProxyState(text: string, file: string): ProxyState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SlipwayError(
      'SLW_TRAFFIC_FAILED',
      `embedded proxy state ${file} is not JSON: ${(e as Error).message}`,
    );
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SlipwayError(
      'SLW_TRAFFIC_FAILED',
      `embedded proxy state ${file}: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}`,
      { hint: 'Slipway writes this file; remove it and switch again to rewrite it' },
    );
  }
  return parsed.data;
}

/** The state in `file`, or null when there is none yet. */
export async function readProxyState(file: string): Promise<ProxyState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SlipwayError('SLW_TRAFFIC_FAILED', `embedded proxy state ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseProxyState(text, file);
}

/** Writes the state beside the old one and renames it over: the watching proxy never reads half a file. */
export async function writeProxyState(file: string, state: ProxyState): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flush: true });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new SlipwayError(
      'SLW_TRAFFIC_FAILED',
      `embedded proxy state ${file}: cannot write: ${(e as Error).message}`,
      {
        hint: 'Slipway needs write access to the folder of the state file',
        cause: e,
      },
    );
  }
}

/** `proxy-<port>.json`: the state file's name when the process file names none. */
export function defaultStateFileName(listen: string): string {
  return `proxy-${parseListen(listen).port}.json`;
}

/** Unix socket paths are limited to ~107 bytes: long ones move to the temp folder, named by a hash. */
const MAX_SOCKET_PATH = 100;

/** Where the proxy started for `stateFile` answers admin requests (`GET /state`). */
export function adminSocketPath(stateFile: string): string {
  const beside = `${path.resolve(stateFile)}.sock`;
  if (beside.length <= MAX_SOCKET_PATH) return beside;
  const hash = createHash('sha256').update(beside).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `slipway-proxy-${hash}.sock`);
}

/** What the admin socket's `GET /state` answers. */
export interface AdminState {
  readonly pid: number;
  readonly generation: number;
  readonly listen: string;
  readonly backends: readonly (ProxyBackend & { readonly inflight: number })[];
}
