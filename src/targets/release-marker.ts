/** The release marker both targets write last into a release folder, and the checksum rules around it. */

import { SlipwayError } from '../core/errors.js';

/** A SHA-256 as Slipway records it: 64 lower-case hex digits. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** What a marker records: the artifact's SHA-256 (for reuse) and the install time (for order). */
export interface ReleaseMarker {
  readonly name: string;
  readonly sha256: string;
  /** ISO-8601 UTC; `listReleases` orders by it. */
  readonly installedAt: string;
  readonly entries: number;
  readonly bytes: number;
}

/** The checksum a release is installed against, lower-cased; throws SLW_ARTIFACT_CHECKSUM when it is not one. */
export function expectedSha256(sha256: string): string {
  const expected = sha256.toLowerCase();
  if (!SHA256_HEX.test(expected)) {
    throw new SlipwayError(
      'SLW_ARTIFACT_CHECKSUM',
      `expected SHA-256 ${JSON.stringify(sha256)} is not 64 hex digits`,
      {
        hint: 'this is the checksum recorded for the release; check the store or the checksum file',
      },
    );
  }
  return expected;
}

/**
 * A marker's JSON, validated; null when it is not one Slipway wrote. `fallbackName` (the folder's name)
 * stands in for a marker without a name.
 */
export function parseReleaseMarker(text: string, fallbackName: string): ReleaseMarker | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const m = parsed as Partial<Record<keyof ReleaseMarker, unknown>>;
  if (typeof m.sha256 !== 'string' || !SHA256_HEX.test(m.sha256) || typeof m.installedAt !== 'string')
    return null;
  return {
    name: typeof m.name === 'string' ? m.name : fallbackName,
    sha256: m.sha256,
    installedAt: m.installedAt,
    entries: typeof m.entries === 'number' ? m.entries : 0,
    bytes: typeof m.bytes === 'number' ? m.bytes : 0,
  };
}
