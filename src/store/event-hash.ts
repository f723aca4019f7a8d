/** The tamper-evident hash chain over events, shared by every store so a chain verifies the same anywhere. */

import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { EventType } from '../core/events.js';

/** The `prevHash` of the very first event of a store. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers: everything but its storage position, which the chain itself orders. */
export interface HashedEventFields {
  readonly deploymentId: number;
  readonly seq: number;
  readonly at: string;
  readonly type: EventType;
  readonly payload: unknown;
}

/**
 * sha256 hex of `prevHash + "\n" + canonicalJson(fields)`. Chaining on the previous event's hash means
 * editing, removing or reordering any event breaks every hash after it.
 */
export function hashEvent(prevHash: string, event: HashedEventFields): string {
  const { deploymentId, seq, at, type, payload } = event;
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalJson({ deploymentId, seq, at, type, payload })}`)
    .digest('hex');
}
