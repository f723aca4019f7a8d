/**
 * A tiny real HTTP service for fleet tests, shipped inside each release artifact:
 * - `server.cjs` listens on 127.0.0.1:$PORT and answers `/` with {version, pid, host, slot} (`/slow`: the same after
 *   100 ms) and `/health` with 200 ("ok"), or 500 when `<shared>/broken-<version>` exists, or when `<shared>/degrades-<version>` exists and it has
 *   been up for more than 1.5 s (a canary that goes bad under traffic).
 * - `ctl.cjs start|stop` runs it detached, its pid in `<shared>/pid-<slot|main>`; start waits until /health answers,
 *   stop sends SIGTERM — the server exits at once, dropping requests in flight (so tests see a missing drain) — and
 *   waits for the exit. PORT is
 *   SLIPWAY_SLOT_PORT (blue-green, canary) or SLIPWAY_SERVICE_PORT (rolling).
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';

export const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const version = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
const shared = process.env.SLIPWAY_SHARED;
const started = Date.now();
const marked = (kind) => fs.existsSync(path.join(shared, kind + '-' + version));
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    const bad = marked('broken') || (marked('degrades') && Date.now() - started > 1500);
    res.writeHead(bad ? 500 : 200);
    res.end(bad ? 'unhealthy' : 'ok');
    return;
  }
  const answer = () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ version, pid: process.pid, host: process.env.SLIPWAY_HOST, slot: process.env.SLIPWAY_SLOT || null }));
  };
  if (req.url === '/slow') setTimeout(answer, 100);
  else answer();
});
server.listen(Number(process.env.PORT), '127.0.0.1');
// Stops at once, dropping requests in flight: only a drain before the stop keeps them from failing.
process.on('SIGTERM', () => process.exit(0));
`;

export const CTL = `
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const [cmd] = process.argv.slice(2);
const shared = process.env.SLIPWAY_SHARED;
const slot = process.env.SLIPWAY_SLOT || 'main';
const port = Number(process.env.SLIPWAY_SLOT_PORT || process.env.SLIPWAY_SERVICE_PORT);
const pidFile = path.join(shared, 'pid-' + slot);
const alive = (pid) => {
  try { process.kill(pid, 0); } catch { return false; }
  try { const st = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z'; } catch { return false; }
};
const up = () => new Promise((r) => {
  const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => { res.resume(); r(true); });
  req.on('error', () => r(false));
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function main() {
  if (cmd === 'start') {
    const log = fs.openSync(path.join(shared, 'log-' + slot), 'a');
    const server = path.join(fs.realpathSync(__dirname), 'server.cjs');
    const child = spawn(process.execPath, [server], { detached: true, stdio: ['ignore', log, log], env: { ...process.env, PORT: String(port) } });
    child.unref();
    fs.writeFileSync(pidFile, String(child.pid));
    for (let i = 0; i < 200; i++) { if (await up()) return; await sleep(25); }
    throw new Error('port ' + port + ' never answered');
  }
  if (cmd === 'stop') {
    let pid;
    try { pid = Number(fs.readFileSync(pidFile, 'utf8')); } catch { return; }
    if (alive(pid)) process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && alive(pid); i++) await sleep(25);
    fs.rmSync(pidFile, { force: true });
    return;
  }
  throw new Error('usage: ctl.cjs start|stop');
}
main().catch((e) => { console.error(e.message); process.exit(1); });
`;

/** The files of one release of the service. */
export function appFiles(version: string): Record<string, string> {
  return { VERSION: version, 'server.cjs': SERVER, 'ctl.cjs': CTL };
}

/** The pid recorded for a slot (or `main`) on a host root, or undefined. */
export function pidOf(root: string, slot = 'main'): number | undefined {
  try {
    return Number(readFileSync(path.join(root, 'shared', `pid-${slot}`), 'utf8'));
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    // An exited process nobody reaped yet is a zombie: gone for our purposes.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** GET a URL's JSON body (the service's `/`). */
export async function whoServes(
  url: string,
): Promise<{ version: string; pid: number; host: string; slot: string | null }> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as { version: string; pid: number; host: string; slot: string | null };
}

/** Stops every service a test started under these host roots (SIGKILL: the test is over). */
export function killAll(roots: readonly string[]): void {
  for (const root of roots)
    for (const slot of ['main', 'blue', 'green']) {
      const pid = pidOf(root, slot);
      if (alive(pid)) process.kill(pid as number, 'SIGKILL');
    }
}

/** The steps that ship the app and check it: release, restart, then a smoke check of `healthUrl`. */
export function shipSteps(healthUrl: string): string {
  return `      - id: ship
        release: {}
      - id: restart
        restart: {}
      - id: smoke
        smoke:
          - id: health
            http: { url: '${healthUrl}' }
`;
}

/**
 * A process file deploying this app (its service is `ctl.cjs` of the current release) to a fleet: `hosts` are the
 * YAML lines of the environment's host list, `steps` those of the `deploy` phase, `phases` more phases after it.
 */
export function fleetYaml(o: {
  readonly environment: string;
  readonly hosts: string;
  readonly strategy: string;
  readonly traffic?: string;
  readonly steps: string;
  readonly phases?: string;
}): string {
  return `version: 1
app: shop
artifact:
  path: artifacts/app-{{ release }}.tar.gz
service:
  start: [node, '{{ target.current }}/ctl.cjs', start]
  stop: [node, '{{ target.current }}/ctl.cjs', stop]
environments:
  ${o.environment}:
    hosts:
${o.hosts}
    strategy: ${o.strategy}
${o.traffic ? `    traffic: ${o.traffic}\n` : ''}phases:
  - id: deploy
    steps:
${o.steps}${o.phases ?? ''}`;
}
