/** Which release folder names a target accepts: one path segment that can never be mistaken for a path trick. */

import { SlipwayError } from '../core/errors.js';

/**
 * Starts with a letter or digit (so never `.`/`..`, never a hidden `.tmp-*` work folder, never an option
 * like `-rf` on a remote shell) and holds only characters that need no quoting anywhere.
 */
export const RELEASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Longest name accepted: the folder name must stay well under NAME_MAX (255) with the work-folder affixes. */
export const RELEASE_NAME_MAX_LENGTH = 128;

export function isReleaseName(name: string): boolean {
  return name.length <= RELEASE_NAME_MAX_LENGTH && RELEASE_NAME.test(name) && !name.includes('..');
}

/** Throws SLW_USAGE naming the bad value; every target operation that takes a release name calls it first. */
export function assertReleaseName(name: string): void {
  if (!isReleaseName(name)) {
    throw new SlipwayError('SLW_USAGE', `invalid release name ${JSON.stringify(name)}`, {
      hint: `use letters, digits and . _ + - (starting with a letter or digit, no "..", at most ${RELEASE_NAME_MAX_LENGTH} characters)`,
    });
  }
}
