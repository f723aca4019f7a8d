/** The schema of an environment's `traffic:` key: which load balancer Slipway steers, with descriptions and defaults. */

import { z } from 'zod';
import { NGINX_DEFAULTS } from '../traffic/nginx/nginx-defaults.js';

const expected = (what: string) => ({ error: what });
const text = z.string().min(1);
const argv = (what: string) =>
  z
    .array(z.string().min(1))
    .min(1, expected('a command as a list of arguments, e.g. ["nginx", "-s", "reload"]'))
    .describe(`${what} As a list of arguments: run without a shell, so no value is ever parsed by one.`);

/** Names HAProxy accepts, which also cannot end a config line or a runtime API command. */
const HAPROXY_NAME = /^[A-Za-z0-9._:-]+$/;
/** nginx reads a ":" in an upstream name as a port: the nginx switch refuses it, so the config does too. */
const NGINX_UPSTREAM = /^[A-Za-z0-9._-]+$/;
/** `host:port` or `[ipv6]:port`. */
const LISTEN = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export const nginxTrafficSchema = z.strictObject({
  type: z.literal('nginx'),
  upstreamFile: text.describe(
    'The include file Slipway owns and rewrites (only `server …;` lines), included by your nginx config ' +
      "inside `upstream <upstream> { include <file>; }`. Relative paths start at the process file's folder.",
  ),
  upstream: z
    .string()
    .regex(NGINX_UPSTREAM, expected('the upstream name: letters, digits, ".", "_" and "-"'))
    .describe('Name of the `upstream` block that includes the file.'),
  config: text.optional().meta({
    description: "nginx's main config file, for the default test command.",
    default: NGINX_DEFAULTS.config,
  }),
  pidFile: text.optional().meta({
    description: "nginx's pid file (its `pid` directive): the reload signal and drain find the master there.",
    default: NGINX_DEFAULTS.pidFile,
  }),
  testCommand: argv('Validates the config before a reload. Default: nginx -t -q -c <config>.').optional(),
  reloadCommand: argv('Reloads nginx gracefully. Default: SIGHUP to the master pid in pidFile.').optional(),
});

export const haproxyTrafficSchema = z.strictObject({
  type: z.literal('haproxy'),
  socket: text.describe(
    "Path of HAProxy's admin socket: `stats socket <path> level admin` in its global section.",
  ),
  backend: z
    .string()
    .regex(HAPROXY_NAME, expected('the HAProxy backend name: letters, digits, ".", "_", ":" and "-"'))
    .describe(
      'The HAProxy backend holding one `server <host>[-<slot>] <address>:<port>` line per host (and slot).',
    ),
});

export const embeddedTrafficSchema = z.strictObject({
  type: z.literal('embedded'),
  listen: z
    .string()
    .regex(LISTEN, expected('host:port, e.g. 127.0.0.1:8080'))
    .describe("Address and port of Slipway's own proxy, e.g. 127.0.0.1:8080 (it runs as its own process)."),
  stateFile: text.optional().meta({
    description:
      "The JSON state file the proxy process watches (weights, backends). Relative paths start at the process file's folder.",
    default: '.slipway/proxy-<port>.json',
  }),
});

/** The `traffic:` key of an environment. */
export const trafficSchema = z
  .union(
    [nginxTrafficSchema, haproxyTrafficSchema, embeddedTrafficSchema],
    expected(
      'a load balancer: { type: nginx, upstreamFile, upstream }, { type: haproxy, socket, backend } or { type: embedded, listen }',
    ),
  )
  .describe(
    'The load balancer Slipway steers for blue-green and canary (and to take hosts out of rotation): nginx ' +
      '(upstream include + graceful reload), HAProxy (runtime API) or the embedded proxy.',
  );

export type TrafficInput = z.output<typeof trafficSchema>;
