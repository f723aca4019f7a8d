/** Smooth weighted round-robin (nginx's algorithm): exact shares, evenly interleaved, no randomness. Pure. */

export interface Weighted {
  readonly id: string;
  readonly weight: number;
}

/**
 * Each pick adds every candidate's weight to its running score, takes the highest and subtracts the
 * total from it. Over any `sum(weights)` picks each backend is chosen exactly `weight` times, spread out
 * (5/1/1 gives a a b a c a a, not a a a a a b c). Scores of backends not passed in are kept.
 */
export class SmoothWeightedPicker {
  readonly #scores = new Map<string, number>();

  /** The next backend among `candidates` with weight > 0, or undefined when there is none. */
  pick(candidates: readonly Weighted[]): string | undefined {
    let total = 0;
    let best: string | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const c of candidates) {
      if (c.weight <= 0) continue;
      const score = (this.#scores.get(c.id) ?? 0) + c.weight;
      this.#scores.set(c.id, score);
      total += c.weight;
      if (score > bestScore) {
        best = c.id;
        bestScore = score;
      }
    }
    if (best !== undefined) this.#scores.set(best, bestScore - total);
    return best;
  }

  /** Forgets scores, e.g. after the weights changed, so the new shares apply from the next request. */
  reset(): void {
    this.#scores.clear();
  }
}
