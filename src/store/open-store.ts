/** Picks the Store implementation for a location given by the user (a file path today, a URL later). */

import { SlipwayError } from '../core/errors.js';
import type { Store } from '../core/ports.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';

/**
 * Where the store lives when none is given: relative to the folder of the process file (not the working
 * directory), so every command run against the same process file finds the same deployments. The CLI
 * resolves it; this module takes the location as given.
 */
export const DEFAULT_STORE_PATH = '.slipway/slipway.db';

/** Opens the store at `location`: a file path (SQLite, created if missing). */
export async function openStore(location: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(location)) {
    throw new SlipwayError(
      'SLW_STORE',
      `PostgreSQL stores are not available yet (asked for ${redactUrl(location)})`,
      {
        hint: `use a file path for an SQLite store, e.g. ${DEFAULT_STORE_PATH}`,
        details: { location: redactUrl(location) },
      },
    );
  }
  return openSqliteStore(location);
}

/** A connection URL may carry a password; never echo it in an error. */
function redactUrl(location: string): string {
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'a postgres:// URL';
  }
}
