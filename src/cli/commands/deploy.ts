/** `slipway deploy <env> --release R`: start a deployment (or continue the unfinished one of that release) and follow it. */

import { SlipwayError } from '../../core/errors.js';
import { startDeployment } from '../../engine/start-deployment.js';
import {
  EXIT_INTERRUPTED,
  engineWithProgress,
  follow,
  type GlobalOptions,
  interruptSignal,
  loadCliProcess,
  outputFor,
  withStore,
} from '../context.js';
import { exitForState } from '../exit-codes.js';
import { currentActor } from '../identity.js';
import { renderStatus } from '../render.js';

export interface DeployOptions extends GlobalOptions {
  readonly release: string;
  readonly var?: readonly string[];
  /** Why this cannot wait for a window: makes it an emergency deployment (extra approvals, flagged). */
  readonly emergency?: string;
}

export async function deployCommand(environment: string, opts: DeployOptions): Promise<number> {
  const out = outputFor(opts);
  const process = await loadCliProcess(opts);
  return withStore(opts, async (store) => {
    const { deployment, resumed } = await startDeployment(store, {
      process,
      environment,
      release: opts.release,
      actor: currentActor(process.identities),
      varOverrides: parseVars(opts.var ?? []),
      ...(opts.emergency === undefined ? {} : { emergency: { reason: emergencyReason(opts.emergency) } }),
    });
    out.line(
      resumed
        ? out.c.yellow(
            `continuing unfinished deployment ${deployment.id} of ${deployment.release} to ${environment}`,
          )
        : `deployment ${out.c.bold(String(deployment.id))}: ${process.app} ${deployment.release} → ${environment}`,
    );
    const { engine, stop } = await engineWithProgress(store, out, opts);
    const interrupt = interruptSignal(out);
    try {
      const { view, interrupted } = await follow(engine, deployment.id, interrupt.signal, out);
      if (interrupted) return EXIT_INTERRUPTED;
      out.result(view, () => (view.state === 'waiting' ? '' : `\n${renderStatus(view, out.c)}`));
      return exitForState(view.state);
    } finally {
      stop();
      interrupt.dispose();
    }
  });
}

/** `--var KEY=VALUE` pairs; values are data (never parsed by a shell). */
export function parseVars(pairs: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new SlipwayError('SLW_USAGE', `--var "${pair}" is not KEY=VALUE`, {
        hint: 'e.g. --var PORT=8080',
      });
    }
    vars[key] = pair.slice(eq + 1);
  }
  return vars;
}

function emergencyReason(text: string): string {
  const reason = text.trim();
  if (reason.length < 10) {
    throw new SlipwayError('SLW_USAGE', '--emergency needs a reason of at least 10 characters', {
      hint: 'e.g. --emergency "INC-4711: payment outage, hotfix for the retry storm"',
    });
  }
  return reason;
}
