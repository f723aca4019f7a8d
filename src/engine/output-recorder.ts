/** Turns a step's live output into redacted, batched, size-bounded `step.output` events. */

import type { RunContext } from './run-context.js';

/** Output stored per step; beyond it only a marker is kept (the step's result still records the tail). */
export const MAX_STORED_OUTPUT_BYTES = 256 * 1024;
const FLUSH_BYTES = 16 * 1024;
const FLUSH_INTERVAL_MS = 1000;

export class OutputRecorder {
  private pendingLine = '';
  private batch = '';
  private stored = 0;
  private capped = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: RunContext,
    private readonly phase: string,
    private readonly step: string,
  ) {}

  /** Accepts raw output; redaction works on whole lines so a secret split across chunks is still caught. */
  readonly write = (chunk: string): void => {
    const text = this.pendingLine + chunk;
    const cut = text.lastIndexOf('\n');
    if (cut === -1) {
      // Output without newlines (progress bars) must not pile up unseen: pass it on in pieces.
      if (text.length > FLUSH_BYTES) {
        this.emit(`${text}\n`);
        this.pendingLine = '';
      } else this.pendingLine = text;
      return;
    }
    this.pendingLine = text.slice(cut + 1);
    this.emit(text.slice(0, cut + 1));
  };

  /** Flushes everything; call once when the step ends. */
  async close(): Promise<void> {
    if (this.pendingLine !== '') {
      this.emit(`${this.pendingLine}\n`);
      this.pendingLine = '';
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    await this.flushing;
  }

  private emit(lines: string): void {
    const clean = this.ctx.redact(lines);
    this.ctx.hooks.onOutput?.(this.ctx.view.id, this.phase, this.step, clean);
    if (this.capped) return;
    if (this.stored + clean.length > MAX_STORED_OUTPUT_BYTES) {
      this.capped = true;
      this.batch += `[output beyond ${MAX_STORED_OUTPUT_BYTES / 1024} KiB not stored]\n`;
    } else {
      this.batch += clean;
      this.stored += clean.length;
    }
    if (this.batch.length >= FLUSH_BYTES) this.flush();
    else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, FLUSH_INTERVAL_MS);
  }

  private flush(): void {
    if (this.batch === '') return;
    const text = this.batch;
    this.batch = '';
    const write = this.ctx.append([
      { type: 'step.output', payload: { phase: this.phase, step: this.step, text } },
    ]);
    // Output is best effort: a failed write must not fail the step (the step's own events carry the verdict).
    this.flushing = this.flushing.then(() => write.catch(() => undefined));
  }
}
