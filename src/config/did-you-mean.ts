/** "Did you mean …?" suggestions for misspelt keys, step kinds, environments, roles and template names. */

/**
 * Edit distance where swapping two neighbouring letters counts as one edit ("evn" → "env"), as
 * typing slips do (optimal string alignment). Inputs are short, so a full table is fine.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The closest candidate within 2 edits (1 for words of up to 3 letters, where 2 edits turn almost
 * anything into anything), or undefined. Case is ignored: `Timeout` for `timeout` is a common slip.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = word.length <= 3 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** A hint for an unknown name: the near miss if there is one, otherwise the names that are allowed. */
export function suggestionHint(
  word: string,
  candidates: readonly string[],
  what: string,
): string | undefined {
  const near = closest(word, candidates);
  if (near !== undefined) return `did you mean "${near}"?`;
  if (candidates.length === 0) return undefined;
  return `${what}: ${candidates.join(', ')}`;
}
