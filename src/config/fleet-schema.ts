/** Schema pieces of an environment's fleet: `hosts`, `ssh` defaults and `strategy` (checked further in fleet-rules). */

import { z } from 'zod';
import { STRATEGY_TYPES } from '../core/process.js';
import { sshTargetSchema } from './ssh-target-schema.js';

const expected = (what: string) => ({ error: what });
const text = z.string().min(1);

/** Host names appear in events, status tables and load-balancer server names: keep them plain. */
export const HOST_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HOST_NAME = 'a host name: letters, digits, ".", "_" and "-", starting with a letter or digit';
const GROUP = 'a group name: lowercase letters, digits, "-" and "_", starting with a letter';
const PORT = 'a port number from 1 to 65535';
const port = z.int(expected(PORT)).min(1, expected(PORT)).max(65_535, expected(PORT));
const DURATION = 'a duration like 500ms, 30s, 5m or 1h30m, or a whole number of milliseconds';
const duration = z.union(
  [
    z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/, expected(DURATION)),
    z.int(expected(DURATION)).min(0, expected(DURATION)),
  ],
  expected(DURATION),
);

/** Ports of the two slots; both given, and different (checked in fleet-rules). */
const slots = z
  .strictObject({ blue: port, green: port })
  .describe('Ports of the blue and green slots: the new release starts on the one not serving traffic.');

/** SSH connection keys, shared by a host entry and the environment's `ssh` defaults: the SSH target's own. */
const ssh = sshTargetSchema.shape;
const sshKeys = {
  port: ssh.port,
  user: ssh.user,
  identityFile: ssh.identityFile,
  passphrase: ssh.passphrase,
  agent: ssh.agent,
  knownHosts: ssh.knownHosts,
  acceptNewHosts: ssh.acceptNewHosts,
  jump: ssh.jump,
  connectTimeout: ssh.connectTimeout,
};
/** The names of those keys, for code that copies or checks them one by one. */
export const SSH_HOST_KEYS = Object.keys(sshKeys) as readonly (keyof typeof sshKeys)[];

export const hostSchema = z
  .strictObject({
    name: z.string().regex(HOST_NAME_PATTERN, expected(HOST_NAME)).describe('Unique in the environment.'),
    type: z
      .enum(['local', 'ssh'])
      .optional()
      .meta({ description: 'How Slipway reaches the host.', default: 'ssh' }),
    address: ssh.address
      .optional()
      .describe(
        'Host name or IP address; required for ssh hosts. Local hosts: where their service listens (127.0.0.1).',
      ),
    root: text.describe(
      'Folder holding releases/, current and shared/ on the host (absolute for ssh hosts).',
    ),
    groups: z
      .array(z.string().regex(/^[a-z][a-z0-9_-]*$/, expected(GROUP)))
      .optional()
      .describe('Groups the host belongs to, e.g. [web].'),
    servicePort: port
      .optional()
      .describe("The port the host's service listens on, for the load balancer (rolling)."),
    slots: slots
      .optional()
      .describe("This host's slot ports (blue-green, canary), when they differ from the strategy's."),
    ...sshKeys,
  })
  .describe(
    'One host: { name, type: ssh, address, user, identityFile, root } or { name, type: local, root }.',
  );

export const hostDefaultsSchema = hostSchema
  .omit({ name: true, address: true })
  .partial()
  .describe(
    'Keys every host of the environment (listed under `hosts` or in the inventory) gets unless it sets its own, e.g. { root: /srv/app, user: deploy }; `groups` add up.',
  );

export const sshDefaultsSchema = z
  .strictObject({
    concurrency: z
      .int(expected('a whole number, 1 or more'))
      .min(1, expected('a whole number, 1 or more'))
      .optional()
      .meta({ description: 'Hosts worked on at the same time.', default: 10 }),
    ...sshKeys,
  })
  .describe('Defaults for the ssh hosts of this environment, and the fan-out limit.');

const BATCH = 'a number of hosts (1 or more) or a percentage of them like 25%';
const batch = z.union(
  [
    z.int(expected(BATCH)).min(1, expected(BATCH)),
    z
      .string()
      .regex(/^\d+(\.\d+)?%$/, expected(BATCH))
      .refine((v) => {
        const n = Number.parseFloat(v);
        return n > 0 && n <= 100;
      }, expected('a percentage above 0% and at most 100%')),
  ],
  expected(BATCH),
);
const WEIGHT = 'a weight percentage from 1 to 100';

export const strategySchema = z
  .strictObject({
    type: z
      .enum(STRATEGY_TYPES as [string, ...string[]])
      .describe(
        'all-at-once: every host together; rolling: in batches; blue-green: new release beside the old, then a traffic switch; canary: traffic shifted in steps.',
      ),
    batch: batch.optional().meta({ description: 'rolling: hosts per batch.', default: '25%' }),
    maxFailed: z
      .int(expected('a whole number, 0 or more'))
      .min(0, expected('a whole number, 0 or more'))
      .optional()
      .meta({
        description: 'rolling: hosts that may fail before the rollout stops and rolls back.',
        default: 0,
      }),
    slots: slots.optional(),
    scaleDownDelay: duration.optional().meta({
      description: 'blue-green, canary: how long the old slot keeps running after the switch.',
      default: '0s',
    }),
    steps: z
      .array(z.number(expected(WEIGHT)).min(1, expected(WEIGHT)).max(100, expected(WEIGHT)))
      .min(1)
      .optional()
      .meta({
        description: 'canary: traffic percentages sent to the new release, ascending, ending at 100.',
        default: [10, 50, 100],
      }),
    pause: duration
      .optional()
      .meta({ description: 'canary: wait after each step before its checks.', default: '0s' }),
    drainTimeout: duration.optional().meta({
      description: 'How long a backend taken out of the balancer may take to finish its requests.',
      default: '30s',
    }),
  })
  .describe('How the release reaches the hosts.');

/** Which strategy keys apply to which strategy types. */
export const STRATEGY_KEYS: Readonly<Record<string, readonly string[]>> = {
  batch: ['rolling'],
  maxFailed: ['rolling'],
  slots: ['blue-green', 'canary'],
  scaleDownDelay: ['blue-green', 'canary'],
  steps: ['canary'],
  pause: ['canary'],
};

export type HostInput = z.output<typeof hostSchema>;
export type SshDefaultsInput = z.output<typeof sshDefaultsSchema>;
export type StrategyInput = z.output<typeof strategySchema>;
