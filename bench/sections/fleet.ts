/** Issue 3's fan-out benchmark: the same fleet work by `slipway deploy` and by `ansible-playbook`, defaults and tuned. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSshd } from '../../test/servers/sshd.js';
import { round } from '../bench-util.js';
import { runSlipwayFleet, type SlipwayFleetTiming } from '../fleet-slipway.js';
import { type AnsibleTiming, prepareWorkload, runAnsible, stopServices } from '../fleet-vs-ansible.js';
import type { BenchSection } from '../section.js';

const HOST_COUNTS = [10, 30] as const;
/** Targets from the issue: at least 3× faster than Ansible's defaults, and faster than tuned Ansible. */
const MIN_RATIO_DEFAULTS = 3;
const MIN_RATIO_TUNED = 1;

interface FleetRun {
  readonly hosts: number;
  readonly slipway: SlipwayFleetTiming;
  readonly defaults: AnsibleTiming;
  readonly tuned: AnsibleTiming;
}

export const fleetSection: BenchSection = {
  name: 'fleet',
  title: `upload 5 MB, unpack, switch, restart, health check on ${HOST_COUNTS.join(' and ')} sshd hosts: Slipway vs Ansible`,
  async run() {
    const runs: FleetRun[] = [];
    for (const hosts of HOST_COUNTS) {
      const fleet = await startSshd(hosts);
      const dir = await mkdtemp(path.join(tmpdir(), 'slipway-bench-fleet-'));
      try {
        // Each tool gets fresh roots, so all three do exactly the same work; order is fixed, not interleaved.
        const once = async <T>(body: (w: Awaited<ReturnType<typeof prepareWorkload>>) => Promise<T>) => {
          const work = await prepareWorkload(fleet, dir);
          try {
            return await body(work);
          } finally {
            await stopServices(work);
          }
        };
        const slipway = await once((w) => runSlipwayFleet(fleet, w, { concurrency: 10 }));
        const defaults = await once((w) => runAnsible(fleet, w, 'defaults'));
        const tuned = await once((w) => runAnsible(fleet, w, 'tuned'));
        runs.push({ hosts, slipway, defaults, tuned });
      } finally {
        await fleet.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }
    const s = (ms: number) => `${round(ms / 1000, 1)} s`;
    const pass: Record<string, boolean> = {};
    const rows = runs.flatMap((r) => {
      const vsDefaults = r.defaults.wallMs / r.slipway.wallMs;
      const vsTuned = r.tuned.wallMs / r.slipway.wallMs;
      const allOk = r.slipway.ok && r.defaults.ok && r.tuned.ok;
      pass[`fleet${r.hosts}VsAnsibleDefaults`] = allOk && vsDefaults >= MIN_RATIO_DEFAULTS;
      pass[`fleet${r.hosts}VsAnsibleTuned`] = allOk && vsTuned > MIN_RATIO_TUNED;
      const ok = (t: { ok: boolean }) => (t.ok ? '' : ' (FAILED)');
      return [
        `| fleet deploy to ${r.hosts} sshd hosts (5 MB upload, unpack, switch, restart, health) | ${s(r.slipway.wallMs)}${ok(r.slipway)} | Ansible defaults ${s(r.defaults.wallMs)}${ok(r.defaults)} | ${round(vsDefaults, 1)}× faster; ≥ ${MIN_RATIO_DEFAULTS}× | ${pass[`fleet${r.hosts}VsAnsibleDefaults`] ? 'yes' : 'NO'} |`,
        `| … same, against tuned Ansible (pipelining, ControlPersist, forks ${r.tuned.forks}) | ${s(r.slipway.wallMs)} | Ansible tuned ${s(r.tuned.wallMs)}${ok(r.tuned)} | ${round(vsTuned, 1)}× faster; > 1× | ${pass[`fleet${r.hosts}VsAnsibleTuned`] ? 'yes' : 'NO'} |`,
      ];
    });
    return {
      rows,
      json: {
        runs: runs.map((r) => ({
          ...r,
          slipway: { ...r.slipway, output: r.slipway.ok ? undefined : r.slipway.output },
        })),
      },
      pass,
    };
  },
};
