/** The nginx upstream include file Slipway owns: rendering it from weights and reading the weights back. */

import { SlipwayError } from '../../core/errors.js';
import type { Backend } from '../../core/ports.js';
import { hostPort } from '../traffic-input.js';

/** Marks each `server` line with the backend it stands for, so the file reads back without a side table. */
const MARKER = 'slipway-backend';

const SERVER_LINE = /^server\s+(\S+)\s+([^;#]*);\s*#\s*slipway-backend\s+(\S+)\s*$/;

export interface UpstreamEntry {
  readonly backend: Backend;
  /** Slipway weight 0–100. */
  readonly weight: number;
}

/**
 * The include file's text. Slipway's weight w > 0 is written as nginx `weight=w` (nginx weights are
 * relative, so 10/90 means 10% / 90%); 0 is written as `down`, because nginx refuses `weight=0` and `down`
 * sends a server no new requests while a graceful reload lets old workers finish the ones in flight.
 * All servers `down` is valid nginx (requests get 502), so "everything at 0" needs no special case.
 */
export function renderUpstreamFile(upstream: string, entries: readonly UpstreamEntry[]): string {
  const lines = [
    `# Managed by Slipway for nginx upstream "${upstream}": every traffic switch rewrites this file.`,
    '# Do not edit: include it inside `upstream <name> { ... }`. Weight 0 is written as "down".',
  ];
  for (const { backend, weight } of entries) {
    const params = weight > 0 ? `weight=${weight}` : 'down';
    lines.push(`server ${hostPort(backend.address, backend.port)} ${params}; # ${MARKER} ${backend.id}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface ParsedServer {
  readonly id: string;
  /** `host:port` as written. */
  readonly server: string;
  readonly weight: number;
}

/** Reads a file written by `renderUpstreamFile`; any other line means someone edited it, which is refused. */
export function parseUpstreamFile(text: string, file: string): ParsedServer[] {
  const servers: ParsedServer[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = SERVER_LINE.exec(line);
    const params = m?.[2]?.trim().split(/\s+/) ?? [];
    const weight = params.length === 1 ? weightOf(params[0] as string) : undefined;
    if (!m || weight === undefined) {
      throw new SlipwayError(
        'SLW_TRAFFIC_FAILED',
        `${file}:${index + 1}: not a line Slipway writes: ${JSON.stringify(line)}`,
        {
          hint: 'this file is managed by Slipway; move your own directives into the upstream block around the include',
        },
      );
    }
    servers.push({ id: m[3] as string, server: m[1] as string, weight });
  });
  return servers;
}

function weightOf(param: string): number | undefined {
  if (param === 'down') return 0;
  const m = /^weight=(\d{1,3})$/.exec(param);
  return m ? Number(m[1]) : undefined;
}
