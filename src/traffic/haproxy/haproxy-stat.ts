/** Parsers for HAProxy runtime API answers: `show stat` (CSV) and `show servers state` (space-separated). */

/** One `show stat` row, by column name (`pxname`, `svname`, `scur`, `status`, `weight`, …). */
export type StatRow = Readonly<Record<string, string>>;

/** Parses `show stat` CSV: a `# pxname,svname,…` header, then one row per frontend/backend/server. */
export function parseShowStat(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (header === undefined)
    throw new Error(`not a "show stat" answer: ${JSON.stringify(text.slice(0, 200))}`);
  const columns = header.slice(2).split(',');
  return lines
    .filter((l) => !l.startsWith('#'))
    .map((line) => {
      const cells = line.split(',');
      return Object.fromEntries(
        columns.flatMap((c, i) => (c === '' || c === '-' ? [] : [[c, cells[i] ?? '']])),
      );
    });
}

/** One server of `show servers state <backend>`. */
export interface ServerState {
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  readonly port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly operationalState: number;
  /** Bit field: maintenance (forced, inherited, via config, resolution, hostname) and drain flags. */
  readonly adminState: number;
  /** The weight set by the user (config or `set server … weight`). */
  readonly userWeight: number;
}

/** Maintenance flags of `srv_admin_state` (SRV_ADMF_FMAINT | IMAINT | CMAINT | RMAINT | HMAINT). */
export const ADMIN_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
/** Drain flags of `srv_admin_state` (SRV_ADMF_FDRAIN | IDRAIN). */
export const ADMIN_DRAIN = 0x08 | 0x10;

/**
 * Parses `show servers state`: a version line ("1"), a `# be_id be_name …` header, then one line per
 * server. Columns are found by name, so versions that add columns still parse.
 */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (header === undefined)
    throw new Error(`not a "show servers state" answer: ${JSON.stringify(text.slice(0, 200))}`);
  const columns = header.slice(2).trim().split(/\s+/);
  const at = (cells: readonly string[], name: string): string => cells[columns.indexOf(name)] ?? '';
  return lines
    .filter((l) => !l.startsWith('#') && l.trim().includes(' '))
    .map((line) => {
      const cells = line.trim().split(/\s+/);
      return {
        backend: at(cells, 'be_name'),
        server: at(cells, 'srv_name'),
        address: at(cells, 'srv_addr'),
        port: Number(at(cells, 'srv_port')),
        operationalState: Number(at(cells, 'srv_op_state')),
        adminState: Number(at(cells, 'srv_admin_state')),
        userWeight: Number(at(cells, 'srv_uweight')),
      };
    });
}

/** The weight Slipway reports for a server: 0 when draining or in maintenance, else its user weight. */
export function effectiveWeight(state: ServerState): number {
  return state.adminState & (ADMIN_MAINT | ADMIN_DRAIN) ? 0 : state.userWeight;
}
