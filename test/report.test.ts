/**
 * `slipway report`: real deployments through the engine and a real store, rendered as Markdown and HTML —
 * post-incident review only for failed or rolled-back ones, values escaped, secrets never shown.
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../src/cli/commands/report.js';
import { makeRedactor } from '../src/core/redact.js';
import { decide } from '../src/engine/gates.js';
import { renderHtml } from '../src/report/render-html.js';
import { renderMarkdown } from '../src/report/render-markdown.js';
import { buildReport } from '../src/report/report-data.js';
import { DANA, processYaml, type Workspace, workspace } from './engine-fixtures.js';
import { type Behaviour, type ReleaseService, startReleaseService } from './servers/release-service.js';

const SECRET = 'sup3r-s3cret-t0ken-value';
const HOSTILE = '<script>alert(1)</script> | `x` <img src=x onerror=alert(2)>';

let ws: Workspace;
let service: ReleaseService;
const ids: Record<string, number> = {};

async function deploy(release: string, behaviour: Behaviour, extra: Record<string, string> = {}) {
  let view = await ws.deploy(release, { 'behaviour.json': JSON.stringify(behaviour), ...extra });
  if (view.state === 'waiting') {
    // The approver's comment is free text: it may hold markup and, carelessly, a secret.
    await decide(ws.store, view.id, 'approve', { actor: DANA, comment: `go ${HOSTILE} token=${SECRET}` });
    view = await ws.engine.run(view.id);
  }
  return view;
}

beforeAll(async () => {
  process.env.REPORT_TEST_TOKEN = SECRET;
  ws = await workspace();
  service = await startReleaseService(path.join(ws.dir, 'target'));
  ws.yaml = `${processYaml(
    `
  - id: deploy
    steps:
      - id: go-ahead
        approval: { roles: [devops] }
      - id: ship
        release: {}
      - id: baseline
        baseline: { duration: 1s, every: 100ms }
      - id: restart
        restart: {}
      - id: noisy
        # Prints the secret (stored redacted) and hostile markup into the log.
        run: [sh, -c, 'echo "token is $TOKEN"; echo "${HOSTILE.replace(/'/g, '')}"']
        env: { TOKEN: '{{ secrets.TOKEN }}' }
      - id: bake
        bake: { duration: 2s, interval: 400ms, samples: 4 }
`,
    `    secrets:
      TOKEN: { env: REPORT_TEST_TOKEN }
    monitors:
      - id: latency
        http: { url: '${service.url}/' }
`,
  )}
service:
  start: [sh, -c, 'true']
  stop: [sh, -c, 'true']
`;
  ids.good = (await deploy('v1', { delayMs: 15, jitter: 0.1 })).id;
  const bad = await deploy('v2', { delayMs: 60, jitter: 0.1 });
  expect(bad.state).toBe('rolled-back');
  ids.bad = bad.id;
}, 60_000);

afterAll(async () => {
  await service?.close();
  await ws?.cleanup();
  delete process.env.REPORT_TEST_TOKEN;
});

async function report(id: number, format: 'md' | 'html'): Promise<string> {
  const file = path.join(ws.dir, `report-${id}.${format}`);
  const code = await reportCommand(String(id), {
    store: path.join(ws.dir, '.slipway', 'slipway.db'),
    format,
    out: file,
  });
  expect(code).toBe(0);
  return readFile(file, 'utf8');
}

describe('slipway report', () => {
  it('drafts a post-incident review for a rolled-back deployment, with trigger, metrics and approvals', async () => {
    const text = await report(ids.bad as number, 'md');
    expect(text).toContain('# Post-incident review (draft): demo v2 → prod');
    expect(text).toContain('**rolled-back**');
    expect(text).toMatch(
      /\| Trigger \| performance degradation — latency \d+(\.\d+)? vs baseline \d+(\.\d+)? \(\+\d+/,
    );
    for (const section of [
      'What happened',
      'Impact',
      'Detection',
      'Root cause',
      'What went well',
      'What went badly',
      'Action items',
    ])
      expect(text).toContain(`### ${section}`);
    expect(text).toContain('| Action | Owner | Due |');
    // How long the bad release served, and that the rollback restored v1.
    expect(text).toMatch(/v2 served prod from .* until .* \(\d/);
    expect(text).toMatch(/Rollback to v1: succeeded in/);
    // Metrics before/after and the timeline's bake intervals.
    expect(text).toMatch(/\| latency \| \d+(\.\d+)? \(\d+ samples\) \| \d+(\.\d+)? \| \+\d+/);
    expect(text).toMatch(/bake interval 2\/5: latency .* ✗ — TRIGGER degradation/);
    // Who approved what, and when.
    expect(text).toMatch(/deploy\.go-ahead: approved by dana \(devops\) at \d{4}-/);
  });

  it('writes no review for a deployment that succeeded', async () => {
    const md = await report(ids.good as number, 'md');
    expect(md).toContain('# Deployment report: demo v1 → prod');
    expect(md).not.toContain('Review');
    expect(md).not.toContain('Root cause');
    const html = await report(ids.good as number, 'html');
    expect(html).not.toContain('Root cause');
  });

  it('renders a self-contained, escaped HTML page', async () => {
    const html = await report(ids.bad as number, 'html');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('Content-Security-Policy" content="default-src \'none\'');
    expect(html).toContain('<h3>Root cause</h3>');
    // No script, no external resource, no markup from step output or comments.
    expect(html).not.toMatch(/<script|<img/i);
    const attributes = [...html.matchAll(/<[a-z][^>]*>/gi)]
      .map((m) => m[0])
      .filter((t) => /\b(src|href|on\w+)=/i.test(t));
    expect(attributes).toEqual([]);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const md = await report(ids.bad as number, 'md');
    expect(md).not.toMatch(/<script|<img/i);
    expect(md).toContain('&lt;script&gt;');
  });

  it('never shows a secret: not from step output, not from a free-text comment', async () => {
    for (const format of ['md', 'html'] as const) {
      const text = await report(ids.bad as number, format);
      expect(text).not.toContain(SECRET);
      expect(text).toMatch(/\\?\[redacted\\?\]/);
    }
    // The renderers themselves only show what the data holds: the redactor is what keeps it out.
    const events = await ws.store.readEvents(ids.bad as number);
    const leaky = renderMarkdown(buildReport(events, (t) => t));
    expect(leaky).toContain(SECRET); // the comment was stored as typed…
    const safe = renderHtml(buildReport(events, makeRedactor([SECRET])));
    expect(safe).not.toContain(SECRET); // …and the report's redactor removes it
  });

  it('gives the data as JSON and refuses an unknown format, naming it', async () => {
    const store = path.join(ws.dir, '.slipway', 'slipway.db');
    await expect(reportCommand(String(ids.bad), { store, format: 'pdf' })).rejects.toMatchObject({
      code: 'SLW_USAGE',
      message: expect.stringContaining('"pdf"'),
    });
    await expect(reportCommand('999', { store })).rejects.toMatchObject({ code: 'SLW_DEPLOYMENT_NOT_FOUND' });
    const data = buildReport(await ws.store.readEvents(ids.bad as number), makeRedactor([SECRET]));
    expect(data.incident).toMatchObject({
      trigger: 'degradation',
      rollback: { toRelease: 'v1', status: 'succeeded' },
    });
    expect(data.incident?.analysis?.monitor).toBe('latency');
    expect(data.metrics[0]).toMatchObject({ monitor: 'latency' });
  });
});
