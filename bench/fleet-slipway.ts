/**
 * The Slipway side of the fleet benchmark (issue 3): the same work as `fleet-vs-ansible.ts`'s playbook — upload
 * the 5 MB artifact, unpack, switch `current`, restart the service, HTTP health check — done by `slipway deploy`
 * (the built CLI, timed as a whole like `ansible-playbook`) with an all-at-once fleet of real sshd hosts.
 *
 *     const fleet = await startSshd(10);
 *     const work = await prepareWorkload(fleet, dir);       // from fleet-vs-ansible.ts
 *     const t = await runSlipwayFleet(fleet, work);          // { hosts, concurrency, wallMs, ok, … }
 *     await stopServices(work);
 *
 * Host keys are verified against the fleet's known_hosts file, as in the Ansible runs. Needs `npm run build`.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SshdFleet } from '../test/servers/sshd.js';
import { BIN } from './bench-util.js';
import { httpGet, runCommand, type Workload } from './fleet-vs-ansible.js';

export interface SlipwayFleetTiming {
  readonly hosts: number;
  readonly concurrency: number;
  readonly wallMs: number;
  /** `slipway deploy` exited 0 and every host then served the new release. */
  readonly ok: boolean;
  /** The tail of the CLI's output. */
  readonly output: string;
}

/** The process file for the workload: one ssh host per sshd, all at once, `concurrency` at a time. */
export function fleetProcessYaml(fleet: SshdFleet, work: Workload, concurrency: number): string {
  const hosts = work.hosts
    .map(
      (h) =>
        `      - { name: ${h.host.name}, type: ssh, address: ${h.host.address}, port: ${h.host.port}, root: ${h.root}, servicePort: ${h.port} }`,
    )
    .join('\n');
  return `version: 1
app: fleetbench
artifact:
  path: ${path.dirname(work.artifact.path)}/app-{{ release }}.tar.gz
environments:
  bench:
    hosts:
${hosts}
    ssh: { user: ${fleet.hosts[0]?.user ?? 'root'}, identityFile: ${fleet.identityFile}, knownHosts: ${fleet.knownHostsFile}, concurrency: ${concurrency} }
    strategy: { type: all-at-once }
phases:
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: restart
        run: [sh, '{{ target.current }}/bin/restart.sh', '{{ host.servicePort }}', '{{ target.root }}']
        on: target
        idempotent: true
      - id: health
        http: { url: 'http://{{ host.address }}:{{ host.servicePort }}/', expect: { body: '${work.release}' } }
`;
}

export async function runSlipwayFleet(
  fleet: SshdFleet,
  work: Workload,
  options: { readonly concurrency?: number } = {},
): Promise<SlipwayFleetTiming> {
  const concurrency = options.concurrency ?? 10;
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-fleet-slipway-'));
  try {
    await writeFile(path.join(dir, 'slipway.yaml'), fleetProcessYaml(fleet, work, concurrency));
    const started = performance.now();
    const { code, output } = await runCommand(
      process.execPath,
      [BIN, 'deploy', 'bench', '--release', work.release],
      dir,
      { SLIPWAY_USER: 'bench', NO_COLOR: '1' },
    );
    const wallMs = performance.now() - started;
    const served = await Promise.all(work.hosts.map((h) => httpGet(h.port)));
    return {
      hosts: work.hosts.length,
      concurrency,
      wallMs: Math.round(wallMs),
      ok: code === 0 && served.every((body) => body?.trim() === work.release),
      output: output.slice(-3000),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
