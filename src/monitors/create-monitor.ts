/** The monitor registry: one line per kind turns a compiled `MonitorSpec` into a `Monitor` that can be sampled. */

import type { Monitor } from '../core/ports.js';
import type { MonitorKind, MonitorSpec } from '../core/process.js';
import { authMonitor } from './auth/auth-monitor.js';
import { commandMonitor } from './command/command-monitor.js';
import { httpMonitor } from './http/http-monitor.js';
import { jsonMonitor } from './json/json-monitor.js';
import type { MonitorContext } from './monitor-context.js';
import { prometheusMonitor } from './prometheus/prometheus-monitor.js';
import { sqlMonitor } from './sql/sql-monitor.js';

export type { MonitorContext } from './monitor-context.js';

type Factory<K extends MonitorKind> = (
  spec: Extract<MonitorSpec, { kind: K }>,
  context: MonitorContext,
) => Monitor;

const FACTORIES: { readonly [K in MonitorKind]: Factory<K> } = {
  http: httpMonitor,
  prometheus: prometheusMonitor,
  json: jsonMonitor,
  sql: sqlMonitor,
  auth: authMonitor,
  command: commandMonitor,
};

/**
 * Builds a monitor. Templates are rendered here, once (an unknown name throws SLW_CONFIG_INVALID);
 * `sample()` then never throws for a failing check — it returns `ok: false` — and throws only when
 * its signal aborts.
 */
export function createMonitor(spec: MonitorSpec, context: MonitorContext): Monitor {
  const factory = FACTORIES[spec.kind] as Factory<MonitorKind>;
  return factory(spec as never, context);
}
