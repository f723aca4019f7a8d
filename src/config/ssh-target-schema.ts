/** The `target: { type: ssh, … }` keys of the process file, and their compilation into an `SshTargetSpec`. */

import { homedir, userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import type { SshJumpSpec, SshTargetSpec } from '../core/process.js';

/** @default values of the ssh target keys (also in the JSON Schema). */
export const SSH_TARGET_DEFAULTS = {
  port: 22,
  acceptNewHosts: false,
  connectTimeout: '10s',
} as const;

const expected = (what: string) => ({ error: what });
const text = z.string().min(1);
/** Never an option (`-oProxyCommand=…`), never whitespace or control characters. */
const HOST = 'a host name or IP address (no spaces, not starting with "-")';
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const PLAIN = /^[^-\s\x00-\x1f\x7f][^\s\x00-\x1f\x7f]*$/;
const USER = 'a user name (no spaces, not starting with "-")';
const PORT = 'a port number from 1 to 65535';
const port = z.int(expected(PORT)).min(1, expected(PORT)).max(65_535, expected(PORT));
const DURATION = 'a duration like 500ms, 30s, 5m or 1h30m, or a whole number of milliseconds';
const duration = z.union(
  [
    z.string().refine((v) => (parseDuration(v) ?? 0) > 0, expected(DURATION)),
    z.int(expected(DURATION)).min(1, expected(DURATION)),
  ],
  expected(DURATION),
);
const ABSOLUTE = 'an absolute path on the host, like /srv/app';
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const absoluteRemote = z.string().regex(/^\/[^\x00-\x1f\x7f]*$/, expected(ABSOLUTE));

const address = z.string().regex(PLAIN, expected(HOST));
const user = z.string().regex(PLAIN, expected(USER));

export const sshJumpSchema = z
  .strictObject({
    address: address.describe('The jump host.'),
    port: port.optional().meta({ description: 'Its SSH port.', default: SSH_TARGET_DEFAULTS.port }),
    user: user.optional().describe("Login user on the jump host. Default: the target's user."),
    identityFile: text
      .optional()
      .describe("Private key for the jump host. Default: the target's identityFile, else the agent."),
  })
  .describe('A jump (bastion) host the target is reached through, like ssh -J.');

/** `target` for one SSH host. Reused for fleet hosts. */
export const sshTargetSchema = z
  .strictObject({
    type: z.literal('ssh').describe('A host reached over SSH (agentless).'),
    address: address.describe('Host name or IP address.'),
    port: port.optional().meta({ description: 'SSH port.', default: SSH_TARGET_DEFAULTS.port }),
    user: user.optional().describe('Login user. Default: the user running Slipway.'),
    identityFile: text
      .optional()
      .describe(
        'Private key on this machine (~ is your home; relative to the process file). Without one, the SSH agent (SSH_AUTH_SOCK) is used.',
      ),
    passphrase: z
      .union(
        [
          z.strictObject({ env: text.describe('Read from this environment variable.') }),
          z.strictObject({ file: text.describe('Read from this file.') }),
        ],
        expected('a secret source: { env: VARIABLE } or { file: path }'),
      )
      .optional()
      .describe(
        "Where the private key's passphrase comes from, if it has one. Never written in the process file.",
      ),
    agent: text.optional().describe('Socket of the SSH agent. Default: $SSH_AUTH_SOCK.'),
    knownHosts: text
      .optional()
      .describe(
        'known_hosts file host keys are checked against. Default: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.',
      ),
    acceptNewHosts: z.boolean().optional().meta({
      description:
        "Record the key of a host not in known_hosts yet (OpenSSH's accept-new). A changed key is always refused.",
      default: SSH_TARGET_DEFAULTS.acceptNewHosts,
    }),
    jump: sshJumpSchema.optional(),
    root: absoluteRemote.describe('Folder on the host holding releases/, current and shared/.'),
    connectTimeout: duration.optional().meta({
      description: 'Time allowed to connect and log in.',
      default: SSH_TARGET_DEFAULTS.connectTimeout,
    }),
  })
  .describe('An SSH host: { type: ssh, address, user, identityFile, root }.');

export type SshTargetInput = z.infer<typeof sshTargetSchema>;

/** Applies the defaults and resolves controller-side paths (`~`, relative to the process file's folder). */
export function buildSshTarget(input: SshTargetInput, baseDir: string): SshTargetSpec {
  const local = (p: string): string =>
    p === '~'
      ? homedir()
      : p.startsWith('~/')
        ? resolve(homedir(), p.slice(2))
        : isAbsolute(p)
          ? p
          : resolve(baseDir, p);
  const loginUser = input.user ?? process.env.USER ?? userInfo().username;
  const jump: SshJumpSpec | undefined = input.jump && {
    address: input.jump.address,
    port: input.jump.port ?? SSH_TARGET_DEFAULTS.port,
    user: input.jump.user ?? loginUser,
    ...(input.jump.identityFile === undefined ? {} : { identityFile: local(input.jump.identityFile) }),
  };
  const timeout = input.connectTimeout ?? SSH_TARGET_DEFAULTS.connectTimeout;
  return {
    type: 'ssh',
    address: input.address,
    port: input.port ?? SSH_TARGET_DEFAULTS.port,
    user: loginUser,
    ...(input.identityFile === undefined ? {} : { identityFile: local(input.identityFile) }),
    ...(input.passphrase === undefined
      ? {}
      : {
          passphrase:
            'env' in input.passphrase
              ? { env: input.passphrase.env }
              : { file: local(input.passphrase.file) },
        }),
    ...(input.agent === undefined ? {} : { agent: local(input.agent) }),
    ...(input.knownHosts === undefined ? {} : { knownHosts: local(input.knownHosts) }),
    acceptNewHosts: input.acceptNewHosts ?? SSH_TARGET_DEFAULTS.acceptNewHosts,
    ...(jump === undefined ? {} : { jump }),
    root: input.root,
    connectTimeoutMs: typeof timeout === 'number' ? timeout : (parseDuration(timeout) as number),
  };
}
