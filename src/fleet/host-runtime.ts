/** The StepRuntime of a step on one host of a fleet: the host's target, and `host` / `slot` in templates and env. */

import type { Target } from '../core/ports.js';
import type { HostSpec, PhaseSpec, SlotName, StepSpec } from '../core/process.js';
import type { TemplateScope } from '../core/template.js';
import { stepBaseline } from '../engine/rollback.js';
import { commandEnvFor, type RunContext, releaseNameFor, scopeFor } from '../engine/run-context.js';
import type { StepRuntime } from '../steps/step-executor.js';

export interface HostSlot {
  readonly name: SlotName;
  readonly port: number;
}

export interface HostRunSpec {
  readonly host: HostSpec;
  readonly target: Target;
  readonly slot?: HostSlot;
  /** Facts recorded on this host so far. */
  readonly facts: Readonly<Record<string, string>>;
  /** The release and its folder the step works with. @default this deployment's */
  readonly release?: string;
  readonly releaseName?: string;
}

/** `phase`/`step` are absent for slot actions and rollback, which are not steps of the process. */
export function hostRuntime(
  ctx: RunContext,
  where: { readonly phase?: PhaseSpec; readonly step?: StepSpec },
  h: HostRunSpec,
  signal: AbortSignal,
  timeoutMs: number,
  output: (chunk: string) => void,
): StepRuntime {
  const release = h.release ?? ctx.view.release;
  const releaseName = h.releaseName ?? releaseNameFor(ctx.view.id, ctx.view.release);
  const scope = hostScope(ctx, h, release, releaseName);
  const { phase, step } = where;
  const index = phase && step ? phase.steps.indexOf(step) : -1;
  return {
    process: ctx.process,
    environment: ctx.environment,
    deploymentId: ctx.view.id,
    release,
    artifact: { path: ctx.artifactPath, sha256: ctx.view.artifactSha256 },
    target: h.target,
    releaseName,
    previousGoodRelease: ctx.previousGood ?? h.facts.previousRelease ?? null,
    scope,
    commandEnv: {
      ...commandEnvFor(ctx, scope),
      SLIPWAY_HOST: h.host.name,
      SLIPWAY_HOST_ADDRESS: h.host.address,
      ...(h.host.servicePort === undefined ? {} : { SLIPWAY_SERVICE_PORT: String(h.host.servicePort) }),
      ...(h.slot ? { SLIPWAY_SLOT: h.slot.name, SLIPWAY_SLOT_PORT: String(h.slot.port) } : {}),
    },
    facts: { ...ctx.view.facts, ...h.facts },
    restartFollows:
      phase !== undefined && index !== -1 && phase.steps.slice(index + 1).some((s) => s.kind === 'restart'),
    signal,
    timeoutMs,
    output,
    redact: ctx.redact,
    baseline: () =>
      phase && step ? stepBaseline(ctx.store, ctx.view, phase.id, step.id) : Promise.resolve(undefined),
  };
}

function hostScope(ctx: RunContext, h: HostRunSpec, release: string, releaseName: string): TemplateScope {
  return {
    ...scopeFor(ctx, release, releaseName, h.target),
    host: {
      name: h.host.name,
      address: h.host.address,
      ...(h.host.servicePort === undefined ? {} : { servicePort: String(h.host.servicePort) }),
    },
    ...(h.slot ? { slot: { name: h.slot.name, port: String(h.slot.port) } } : {}),
  };
}

/** Prefixes every output line with the host name, so interleaved output of parallel hosts stays readable. */
export function hostOutput(host: string, write: (chunk: string) => void): (chunk: string) => void {
  let atLineStart = true;
  return (chunk) => {
    let out = '';
    for (const ch of chunk.split(/(?<=\n)/)) {
      out += `${atLineStart ? `[${host}] ` : ''}${ch}`;
      atLineStart = ch.endsWith('\n');
    }
    write(out);
  };
}
