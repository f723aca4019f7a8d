/** What one benchmark section returns to `bench/run.ts`: table rows, JSON, and whether it met its targets. */

export interface SectionResult {
  /** Markdown table rows: `| what | Slipway | baseline | ratio / target | pass? |`. */
  readonly rows: readonly string[];
  /** Everything measured, written to bench/results/latest.json under the section's name. */
  readonly json: Record<string, unknown>;
  /** Target → met? */
  readonly pass: Record<string, boolean>;
}

export interface BenchSection {
  readonly name: string;
  /** One line shown before it runs, e.g. "history: 10000 deployments, 5 runs". */
  readonly title: string;
  run(): Promise<SectionResult>;
}
