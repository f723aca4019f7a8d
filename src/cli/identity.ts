/**
 * Who is acting on the CLI: SLIPWAY_USER when set (scripts, CI), otherwise the OS login mapped through the
 * process file's `identities` (or taken as is); recorded with how it was known.
 */

import { userInfo } from 'node:os';
import type { Actor } from '../core/events.js';

export function currentActor(
  identities: Readonly<Record<string, string>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Actor {
  const fromEnv = env.SLIPWAY_USER?.trim();
  if (fromEnv) return { user: fromEnv, via: 'env' };
  const login = userInfo().username;
  return { user: identities[login] ?? login, via: 'os-user' };
}
