/** Removes secret values from any text before it is logged, stored as an event or shown. Pure. */

export const REDACTED = '[redacted]';

export type Redactor = (text: string) => string;

/** A redactor for these secret values; very short values are skipped (they would mask ordinary text). */
export function makeRedactor(secretValues: Iterable<string>): Redactor {
  const values = [...new Set(secretValues)].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const v of values) out = out.split(v).join(REDACTED);
    return out;
  };
}
