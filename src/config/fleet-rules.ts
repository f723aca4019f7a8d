/** Checks of an environment's fleet that one schema cannot express: target xor hosts, unique hosts, strategy needs. */

import { SSH_HOST_KEYS, STRATEGY_KEYS } from './fleet-schema.js';
import type { ProblemList } from './problems.js';
import type { ProcessFile } from './schema.js';

type EnvironmentInput = ProcessFile['environments'][string];

export function checkFleets(file: ProcessFile, problems: ProblemList): void {
  for (const [name, env] of Object.entries(file.environments)) checkFleet(name, env, problems);
}

function checkFleet(name: string, env: EnvironmentInput, problems: ProblemList): void {
  const path = ['environments', name];
  if (env.target !== undefined && env.hosts !== undefined) {
    problems.add([...path, 'hosts'], `environment "${name}" has both "target" and "hosts"`, {
      at: 'key',
      hint: 'give one machine as "target", or several as "hosts" (then remove "target")',
    });
    return;
  }
  if (env.target === undefined && env.hosts === undefined) {
    problems.add(path, `environment "${name}" says neither where to deploy ("target") nor to which "hosts"`, {
      hint: 'add target: { root: /srv/app } for this machine, or hosts: [{ name: web1, type: ssh, address: …, root: … }]',
    });
    return;
  }
  const hosts = env.hosts;
  if (hosts === undefined) {
    for (const key of ['strategy', 'ssh', 'traffic'] as const) {
      if (env[key] !== undefined)
        problems.add([...path, key], `"${key}" applies only to an environment with "hosts"`, {
          at: 'key',
          hint: 'list the machines under "hosts" instead of "target", or remove it',
        });
    }
    return;
  }

  const seen = new Map<string, number>();
  hosts.forEach((h, i) => {
    const at = [...path, 'hosts', i];
    const earlier = seen.get(h.name);
    if (earlier !== undefined) {
      problems.add([...at, 'name'], `duplicate host name "${h.name}", already used by hosts.${earlier}`, {
        hint: 'host names must be unique within an environment: they name the host in status, logs and the load balancer',
      });
    } else seen.set(h.name, i);
    if ((h.type ?? 'ssh') === 'ssh') {
      if (h.address === undefined)
        problems.add(at, `ssh host "${h.name}" needs an "address"`, {
          hint: 'add address: 10.0.0.5 (or a host name); use type: local for this machine',
        });
      if (!h.root.startsWith('/'))
        problems.add(
          [...at, 'root'],
          `the root of ssh host "${h.name}" must be an absolute path, found "${h.root}"`,
          {
            hint: 'e.g. root: /srv/app',
          },
        );
    } else {
      for (const key of SSH_HOST_KEYS)
        if (h[key] !== undefined)
          problems.add([...at, key], `"${key}" applies only to ssh hosts, and "${h.name}" is type: local`, {
            at: 'key',
          });
    }
    if (h.slots && h.slots.blue === h.slots.green)
      problems.add(
        [...at, 'slots', 'green'],
        `the blue and green slots of "${h.name}" share port ${h.slots.blue}`,
        {
          hint: 'the new release starts beside the old one: give the slots different ports',
        },
      );
  });

  const strategy = env.strategy;
  const type = strategy?.type ?? 'all-at-once';
  if (strategy) {
    for (const [key, types] of Object.entries(STRATEGY_KEYS)) {
      if ((strategy as Record<string, unknown>)[key] === undefined || types.includes(type)) continue;
      problems.add([...path, 'strategy', key], `"${key}" does not apply to strategy "${type}"`, {
        at: 'key',
        hint: `"${key}" is for ${types.join(' and ')}`,
      });
    }
    if (strategy.slots && strategy.slots.blue === strategy.slots.green)
      problems.add(
        [...path, 'strategy', 'slots', 'green'],
        `the blue and green slots share port ${strategy.slots.blue}`,
        {
          hint: 'the new release starts beside the old one: give the slots different ports',
        },
      );
    if (strategy.steps) {
      const steps = strategy.steps;
      const bad = steps.findIndex((w, i) => i > 0 && w <= (steps[i - 1] as number));
      if (bad !== -1)
        problems.add(
          [...path, 'strategy', 'steps', bad],
          `canary steps must go up, found ${steps.join(' → ')}`,
          {
            hint: 'e.g. steps: [10, 50, 100]',
          },
        );
      else if (steps.at(-1) !== 100)
        problems.add(
          [...path, 'strategy', 'steps'],
          `the last canary step must be 100, found ${steps.join(' → ')}`,
          {
            hint: `end with 100 (all traffic on the new release), e.g. steps: [${[...steps, 100].join(', ')}]`,
          },
        );
    }
  }
  const traffic = (env as { traffic?: unknown }).traffic;
  if (type === 'blue-green' || type === 'canary') {
    if (traffic === undefined)
      problems.add(
        [...path, 'strategy', 'type'],
        `strategy "${type}" needs "traffic": a load balancer to switch`,
        {
          hint: 'add traffic: { type: nginx, … }, { type: haproxy, … } or { type: embedded, listen: 127.0.0.1:8080 }',
        },
      );
    if (!strategy?.slots) {
      const without = hosts.filter((h) => !h.slots).map((h) => h.name);
      if (without.length > 0)
        problems.add(
          [...path, 'strategy'],
          `strategy "${type}" needs slot ports, and ${list(without)} ${without.length === 1 ? 'has' : 'have'} none`,
          {
            hint: 'add slots: { blue: 4312, green: 4313 } to the strategy (or to every host)',
          },
        );
    }
    checkPortClashes(path, hosts, strategy?.slots, problems);
  }
  if (type === 'rolling' && traffic !== undefined) {
    const without = hosts.filter((h) => h.servicePort === undefined).map((h) => h.name);
    if (without.length > 0)
      problems.add(
        [...path, 'hosts'],
        `rolling behind a load balancer needs each host's "servicePort"; ${list(without)} ${without.length === 1 ? 'has' : 'have'} none`,
        {
          at: 'key',
          hint: 'add servicePort: 8080 (the port the service listens on) to every host',
        },
      );
  }
}

/** Two hosts at the same address cannot both listen on the same slot port. */
function checkPortClashes(
  path: (string | number)[],
  hosts: NonNullable<EnvironmentInput['hosts']>,
  slots: { blue: number; green: number } | undefined,
  problems: ProblemList,
): void {
  const used = new Map<string, string>();
  hosts.forEach((h, i) => {
    const own = h.slots ?? slots;
    if (!own) return;
    for (const port of [own.blue, own.green]) {
      const key = `${h.address ?? '127.0.0.1'}:${port}`;
      const other = used.get(key);
      if (other !== undefined && other !== h.name) {
        problems.add(
          [...path, 'hosts', i, ...(h.slots ? ['slots'] : ['name'])],
          `hosts "${other}" and "${h.name}" would both listen on ${key}`,
          {
            hint: 'hosts sharing an address need their own slots: { blue: …, green: … }',
          },
        );
        return;
      }
      used.set(key, h.name);
    }
  });
}

function list(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}
