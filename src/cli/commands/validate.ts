/** `slipway validate [file]`: check a process file; problems come out as file:line:col. */

import { loadProcess } from '../../config/load-process.js';
import { type GlobalOptions, outputFor, processFileArg } from '../context.js';

export async function validateCommand(file: string | undefined, opts: GlobalOptions): Promise<number> {
  const out = outputFor(opts);
  const target = file ?? processFileArg(opts);
  const process = await loadProcess(target);
  const steps = process.phases.reduce((n, p) => n + p.steps.length, 0);
  const summary = {
    file: target,
    valid: true,
    app: process.app,
    environments: Object.keys(process.environments),
    phases: process.phases.map((p) => p.id),
    steps,
    // Where each environment deploys: with an inventory, the hosts it lists (and which file).
    hosts: Object.fromEntries(
      Object.values(process.environments)
        .filter((e) => e.fleet)
        .map((e) => [
          e.name,
          {
            names: e.fleet?.hosts.map((h) => h.name) ?? [],
            ...(e.inventory ? { inventory: e.inventory } : {}),
          },
        ]),
    ),
  };
  out.result(summary, () =>
    [
      out.c.green(
        `✓ ${target} is valid: app ${process.app}, ${summary.environments.length} environments (${summary.environments.join(', ')}), ${process.phases.length} phases, ${steps} steps`,
      ),
      ...Object.entries(summary.hosts).map(
        ([env, h]) =>
          `  ${env}: ${h.names.length} hosts (${h.names.join(', ')})${h.inventory ? ` from inventory ${h.inventory}` : ''}`,
      ),
    ].join('\n'),
  );
  return 0;
}
