/** Makes the TrafficSwitch for an environment's `traffic:` spec: adding a load balancer type is one line here. */

import path from 'node:path';
import type { Backend, TrafficSwitch } from '../core/ports.js';
import type { TrafficSpec } from '../core/process.js';
import type { Redactor } from '../core/redact.js';
import { defaultStateFileName } from './embedded/embedded-proxy-state.js';
import { EmbeddedSwitch } from './embedded/embedded-switch.js';
import { HaproxySwitch } from './haproxy/haproxy-switch.js';
import { NginxSwitch } from './nginx/nginx-switch.js';

export interface TrafficSwitchContext {
  /** Every backend (host × slot) the switch may send traffic to; weights name them by id. */
  readonly backends: readonly Backend[];
  /** Applied to load-balancer output shown in errors. */
  readonly redact?: Redactor;
  /** Used when an embedded spec has no stateFile: `<stateDir>/proxy-<port>.json`. @default ".slipway" (from the working folder) */
  readonly stateDir?: string;
}

/** Paths in the spec must already be absolute (the config compiler resolves them against the process file). */
export function createTrafficSwitch(spec: TrafficSpec, context: TrafficSwitchContext): TrafficSwitch {
  const { backends } = context;
  switch (spec.type) {
    case 'nginx':
      return new NginxSwitch({ ...spec, backends, ...(context.redact ? { redact: context.redact } : {}) });
    case 'haproxy':
      return new HaproxySwitch({ socket: spec.socket, backend: spec.backend, backends });
    case 'embedded':
      return new EmbeddedSwitch({
        listen: spec.listen,
        stateFile:
          spec.stateFile ?? path.resolve(context.stateDir ?? '.slipway', defaultStateFileName(spec.listen)),
        backends,
      });
  }
}
