/** Who is acting on the CLI: SLIPWAY_USER when set (scripts, CI), otherwise the OS user; recorded with how it was known. */

import { userInfo } from 'node:os';
import type { Actor } from '../core/events.js';

export function currentActor(env: NodeJS.ProcessEnv = process.env): Actor {
  const fromEnv = env.SLIPWAY_USER?.trim();
  if (fromEnv) return { user: fromEnv, via: 'env' };
  return { user: userInfo().username, via: 'os-user' };
}
