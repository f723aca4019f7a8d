/** `slipway approve|reject|check <id>`: decide at the open gate as the current user, then carry the deployment on. */

import { SlipwayError } from '../../core/errors.js';
import { type Decision, decide } from '../../engine/gates.js';
import {
  EXIT_INTERRUPTED,
  engineWithProgress,
  follow,
  type GlobalOptions,
  interruptSignal,
  outputFor,
  parseId,
  withStore,
} from '../context.js';
import { exitForState } from '../exit-codes.js';
import { currentActor } from '../identity.js';
import { renderStatus } from '../render.js';

export interface DecideOptions extends GlobalOptions {
  readonly role?: string;
  readonly step?: string;
  readonly comment?: string;
  /** commander's --no-continue */
  readonly continue?: boolean;
}

export async function decideCommand(decision: Decision, id: string, opts: DecideOptions): Promise<number> {
  const out = outputFor(opts);
  const deploymentId = parseId(id);
  return withStore(opts, async (store) => {
    const result = await decide(store, deploymentId, decision, {
      actor: currentActor(),
      ...(opts.role ? { role: opts.role } : {}),
      ...(opts.step ? { step: opts.step } : {}),
      ...(opts.comment ? { comment: opts.comment } : {}),
    });
    const verb = decision === 'approve' ? 'approved' : decision === 'check' ? 'checked' : 'rejected';
    out.line(
      `${verb} deployment ${deploymentId} as ${result.role}${result.remaining.length ? `; still awaited: ${result.remaining.join(', ')}` : ''}`,
    );
    if (opts.continue === false || result.view.state === 'waiting') {
      out.result(result.view, () => '');
      return exitForState(result.view.state);
    }
    const { engine, stop } = await engineWithProgress(store, out, opts);
    const interrupt = interruptSignal(out);
    try {
      let followed: Awaited<ReturnType<typeof follow>>;
      try {
        followed = await follow(engine, deploymentId, interrupt.signal, out);
      } catch (e) {
        // The decision stands; carrying the deployment on needs its secrets, which an approver may not hold.
        if (!(e instanceof SlipwayError) || e.code !== 'SLW_SECRET_MISSING') throw e;
        out.note(
          `${verb}; it goes on when someone who has its secrets runs: slipway resume ${deploymentId} (${e.message})`,
        );
        return exitForState('waiting');
      }
      const { view, interrupted } = followed;
      if (interrupted) return EXIT_INTERRUPTED;
      out.result(view, () => (view.state === 'waiting' ? '' : `\n${renderStatus(view, out.c)}`));
      return exitForState(view.state);
    } finally {
      stop();
      interrupt.dispose();
    }
  });
}
