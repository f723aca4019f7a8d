/** Checks shared by every traffic switch: backend names and addresses that are safe to write, weights in range. */

import { SlipwayError } from '../core/errors.js';
import type { Backend } from '../core/ports.js';

/** Highest weight a backend can have; weights are relative, 0 means no new requests. */
export const MAX_WEIGHT = 100;

/**
 * Backend ids become nginx comments, HAProxy server names and JSON keys: letters, digits, `.`, `_`, `-`
 * (HAProxy's own rule minus `:`), so no value can break out of a config line or a runtime API command.
 */
const BACKEND_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** A hostname, an IPv4 address or a bare IPv6 address: nothing that could end an nginx directive. */
const ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;

/** Refuses backend lists a switch cannot represent safely: bad ids, addresses or ports, duplicates. */
export function checkBackends(backends: readonly Backend[], where: string): void {
  const seen = new Set<string>();
  for (const b of backends) {
    if (!BACKEND_ID.test(b.id)) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `${where}: backend id ${JSON.stringify(b.id)} is not allowed`,
        {
          hint: 'use letters, digits, ".", "_" and "-" (at most 100), starting with a letter or digit',
        },
      );
    }
    if (seen.has(b.id)) {
      throw new SlipwayError('SLW_TRAFFIC_INVALID', `${where}: backend id "${b.id}" appears twice`, {
        hint: 'give every backend (host and slot) its own id',
      });
    }
    seen.add(b.id);
    if (!ADDRESS.test(b.address)) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `${where}: backend "${b.id}" has address ${JSON.stringify(b.address)}, which is not a hostname or IP address`,
        { hint: 'write a hostname, an IPv4 address or an IPv6 address without brackets' },
      );
    }
    if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65_535) {
      throw new SlipwayError('SLW_TRAFFIC_INVALID', `${where}: backend "${b.id}" has port ${b.port}`, {
        hint: 'a port is a whole number from 1 to 65535',
      });
    }
  }
}

/** Refuses weights for backends the switch does not know, and weights that are not whole numbers 0–100. */
export function checkWeights(
  weights: Readonly<Record<string, number>>,
  backends: readonly Backend[],
  where: string,
): void {
  const known = new Set(backends.map((b) => b.id));
  for (const [id, weight] of Object.entries(weights)) {
    if (!known.has(id)) {
      throw new SlipwayError('SLW_TRAFFIC_INVALID', `${where}: unknown backend "${id}"`, {
        hint: `known backends: ${[...known].join(', ') || '(none)'}`,
        details: { backend: id, known: [...known] },
      });
    }
    if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
      throw new SlipwayError(
        'SLW_TRAFFIC_INVALID',
        `${where}: weight ${weight} for backend "${id}" is out of range`,
        {
          hint: `a weight is a whole number from 0 (no new requests) to ${MAX_WEIGHT}`,
          details: { backend: id, weight },
        },
      );
    }
  }
}

/** Throws when `id` is not one of the switch's backends. */
export function checkBackendId(id: string, backends: readonly Backend[], where: string): void {
  checkWeights({ [id]: 0 }, backends, where);
}

/** `host:port`, with brackets around an IPv6 address. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
