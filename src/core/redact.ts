/** Removes secret values from any text before it is logged, stored as an event or shown. Pure. */

export const REDACTED = '[redacted]';

export type Redactor = (text: string) => string;

/** A redactor for these secret values; very short values are skipped (they would mask ordinary text). */
export function makeRedactor(secretValues: Iterable<string>): Redactor {
  // A multi-line secret (a PEM key from a file) may surface a few lines at a time: redact every line of it too.
  const lines = [...secretValues].flatMap((v) =>
    v.includes('\n') ? v.split(/\r?\n/).map((l) => l.trim()) : [],
  );
  const values = [...new Set([...secretValues, ...lines.filter((l) => l.length >= 8)])]
    .filter((v) => v.length >= 3)
    .sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const v of values) out = out.split(v).join(REDACTED);
    return out;
  };
}

/** Redacts every string inside a JSON-like value (keys and leaves), returning a copy. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v, redact)])) as T;
  }
  return value;
}
