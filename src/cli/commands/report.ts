/** `slipway report <id> [--format md|html] [--out FILE]`: a deployment report; for a failed or rolled-back one, a post-incident review draft. */

import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileProcess } from '../../config/load-process.js';
import { viewDeployment } from '../../core/deployment-view.js';
import { SlipwayError } from '../../core/errors.js';
import type { AnyStoredEvent } from '../../core/events.js';
import { makeRedactor, type Redactor } from '../../core/redact.js';
import { renderHtml } from '../../report/render-html.js';
import { renderMarkdown } from '../../report/render-markdown.js';
import { buildReport } from '../../report/report-data.js';
import { type GlobalOptions, outputFor, parseId, withStore } from '../context.js';

const FORMATS = ['md', 'html'] as const;

export interface ReportOptions extends GlobalOptions {
  /** @default "md" */
  readonly format?: string;
  /** Write here instead of standard output. */
  readonly out?: string;
}

export async function reportCommand(id: string, opts: ReportOptions): Promise<number> {
  const out = outputFor(opts);
  const deploymentId = parseId(id);
  const format = opts.format ?? 'md';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new SlipwayError('SLW_USAGE', `unknown report format "${format}"`, {
      hint: `use --format ${FORMATS.join(' or --format ')}`,
    });
  }
  return withStore(opts, async (store) => {
    const events = await store.readEvents(deploymentId);
    if (events.length === 0) {
      throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment ${deploymentId} in this store`, {
        hint: 'list deployments with "slipway history"',
      });
    }
    const report = buildReport(events, secretRedactor(events));
    const text = format === 'html' ? renderHtml(report) : renderMarkdown(report);
    if (opts.out) {
      const file = path.resolve(opts.out);
      // Written whole or not at all: a half-written review is worse than none.
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, text, { mode: 0o644 });
      await rename(temp, file);
    }
    if (out.json) out.result(report, () => '');
    else if (opts.out)
      out.note(`wrote ${report.incident ? 'post-incident review draft' : 'report'} to ${opts.out}`);
    else process.stdout.write(text);
    return 0;
  });
}

/**
 * Events are stored redacted; a report redacts once more with whatever secret values this machine can see
 * (the deployment's recorded process names them), so a value that slipped into a log still stays out.
 */
function secretRedactor(events: readonly AnyStoredEvent[]): Redactor {
  try {
    const view = viewDeployment(events);
    const processDef = compileProcess(view.processSource, view.processFile, view.processIncludes);
    const env = processDef.environments[view.environment];
    if (!env) return (t) => t;
    const values: string[] = [];
    for (const source of Object.values(env.secrets)) {
      try {
        const value =
          'env' in source
            ? process.env[source.env]
            : readFileSync(path.resolve(processDef.baseDir, source.file), 'utf8').replace(/\r?\n$/, '');
        if (value) values.push(value);
      } catch {
        // A secret this machine cannot read cannot be in what it prints either, beyond the stored (redacted) log.
      }
    }
    return makeRedactor(values);
  } catch {
    return (t) => t;
  }
}
