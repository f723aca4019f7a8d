/** A findings gate's allow-list: which entry excuses a finding, whether it has expired, and which entries went unused. */

import type { AllowEntry } from '../../core/process.js';
import { formatWhen } from './gate-text.js';

/** Milliseconds since the epoch; injectable so tests can stand on either side of an expiry. */
export type Clock = () => number;

export type AllowDecision =
  /** Excused: not counted against the maximum, but still listed. */
  | { readonly kind: 'allowed'; readonly entry: AllowEntry }
  /** An entry names it but has expired: it counts, and the message says why the exception no longer holds. */
  | { readonly kind: 'expired'; readonly entry: AllowEntry }
  | { readonly kind: 'none' };

export class AllowList {
  readonly #entries: readonly AllowEntry[];
  readonly #nowMs: number;
  readonly #used = new Set<AllowEntry>();

  constructor(entries: readonly AllowEntry[], nowMs: number) {
    this.#entries = entries;
    this.#nowMs = nowMs;
  }

  /**
   * The decision for a finding known by any of `ids` (rule id, advisory ids, package name; compared without
   * case). A live entry wins over an expired one, so renewing an exception needs no clean-up of the old one.
   */
  decide(ids: readonly string[]): AllowDecision {
    const wanted = new Set(ids.filter((id) => id !== '').map((id) => id.toLowerCase()));
    const matching = this.#entries.filter((e) => wanted.has(e.id.toLowerCase()));
    const live = matching.find((e) => this.#nowMs <= e.untilMs);
    if (live) {
      this.#used.add(live);
      return { kind: 'allowed', entry: live };
    }
    const expired = matching[0];
    return expired ? { kind: 'expired', entry: expired } : { kind: 'none' };
  }

  /** Live entries that excused nothing: stale exceptions (or misspelt ids) worth removing. */
  unused(): AllowEntry[] {
    return this.#entries.filter((e) => this.#nowMs <= e.untilMs && !this.#used.has(e));
  }
}

/** "allowed until 2026-03-01 (reason)" or "allow-list entry expired 2025-01-01 (reason)"; empty when none applies. */
export function describeDecision(decision: AllowDecision): string {
  switch (decision.kind) {
    case 'allowed':
      return `allowed through ${lastDay(decision.entry.untilMs)} (${decision.entry.reason})`;
    case 'expired':
      return `allow-list entry expired after ${lastDay(decision.entry.untilMs)} (${decision.entry.reason})`;
    case 'none':
      return '';
  }
}

/** `until: 2027-01-31` is stored as the start of the next day; people wrote, and should read, the 31st. */
function lastDay(untilMs: number): string {
  return formatWhen(untilMs).length === 10 ? formatWhen(untilMs - 86_400_000) : formatWhen(untilMs);
}
