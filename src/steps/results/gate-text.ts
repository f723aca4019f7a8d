/** Text shared by the result gates: bounded lists ("… and N more"), aligned tables, percentages, dates. */

/** How many failing tests or findings a failure message lists before "… and N more". */
export const MAX_LISTED = 10;

/** Indented bullet lines, at most `max` of them, then "… and N more". */
export function listSome(items: readonly string[], max = MAX_LISTED): string {
  const shown = items.slice(0, max).map((i) => `  - ${i}`);
  if (items.length > max) shown.push(`  … and ${items.length - max} more`);
  return shown.join('\n');
}

/** A plain-text table: the first row is the header, the first column is left-aligned, the others right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/** A percentage rounded down to two decimals, so 79.999% never prints as a passing "80.00%". */
export function percent(value: number): string {
  return `${(Math.floor(value * 100 + 1e-9) / 100).toFixed(2)}%`;
}

/** The first non-empty line, trimmed and capped, for one-line listings of long messages and stack traces. */
export function firstLine(text: string, max = 200): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const trimmed = line.trim();
  return trimmed.length > max ? `${trimmed.slice(0, max - 1)}…` : trimmed;
}

/** A day (or, when not midnight UTC, a minute) in ISO form, for allow-list expiries. */
export function formatWhen(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 16)}Z`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
