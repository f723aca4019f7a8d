/** The deployment report (and post-incident review draft) as one self-contained HTML page: inline CSS, no scripts, every value escaped. */

import { formatChange, formatNumber } from '../core/analysis.js';
import { formatDuration } from '../core/duration.js';
import { reviewSections } from './incident-review.js';
import { type DeploymentReport, describeTrigger } from './report-data.js';

/** The one escaping function of the HTML report: text and attribute values both go through it. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const e = escapeHtml;

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;max-width:1080px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.failure td{background:#ffebe9}.warning td{background:#fff8c5}
.state{display:inline-block;padding:.1rem .5rem;border-radius:1rem;color:#fff;background:#1a7f37}
.state.failed,.state.rolled-back{background:#cf222e}.state.running,.state.waiting,.state.rolling-back{background:#9a6700}
.known{background:#f6f8fa;border-left:4px solid #0969da;padding:.25rem 1rem}.q{font-weight:600;margin:.5rem 0 0}
.answer{border:1px dashed #8c959f;min-height:2.5rem;margin:.25rem 0 1rem;padding:.25rem .5rem;color:#6e7781}
code{font-family:ui-monospace,monospace;font-size:.9em}small{color:#6e7781}
`;

export function renderHtml(r: DeploymentReport): string {
  const title = `${r.incident ? 'Post-incident review (draft)' : 'Deployment report'}: ${r.app} ${r.release} → ${r.environment} (deployment ${r.id})`;
  const parts: string[] = [];
  parts.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // Nothing is loaded or run: the page is data only, even if a value slipped past escaping.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${e(title)}</h1>`,
    '<table>',
    row(
      'Outcome',
      `<span class="state ${e(r.state)}">${e(r.state)}</span>${r.outcome ? ` ${e(r.outcome)}` : ''}`,
    ),
    row('Started', `${e(r.createdAt)} by ${e(r.startedBy)}`),
    row(
      'Finished',
      r.finishedAt ? `${e(r.finishedAt)} (${e(formatDuration(r.durationMs ?? 0))})` : 'not yet',
    ),
    row('Artifact', `sha256 <code>${e(r.artifactSha256)}</code>`),
    ...(r.emergency ? [row('Emergency', e(r.emergency))] : []),
    ...(r.incident
      ? [
          row(
            'Trigger',
            `${e(r.incident.triggerLabel)}${r.incident.analysis ? ` — ${e(describeTrigger(r.incident.analysis))}` : ''}`,
          ),
        ]
      : []),
    '</table>',
  );

  if (r.incident) {
    parts.push(
      '<h2>Review</h2>',
      '<p><small>Slipway filled in what its log knows. Answer the questions, add action items with owners, and keep this with the release.</small></p>',
    );
    for (const section of reviewSections(r)) {
      parts.push(`<h3>${e(section.title)}</h3>`);
      if (section.known.length) {
        parts.push(
          `<div class="known"><ul>${section.known.map((k) => `<li>${e(k)}</li>`).join('')}</ul></div>`,
        );
      }
      for (const q of section.questions) parts.push(`<p class="q">${e(q)}</p><div class="answer">…</div>`);
      if (section.title === 'Action items') {
        parts.push(
          '<table><tr><th>Action</th><th>Owner</th><th>Due</th></tr><tr><td>&nbsp;</td><td></td><td></td></tr><tr><td>&nbsp;</td><td></td><td></td></tr></table>',
        );
      }
    }
  }

  if (r.metrics.length) {
    parts.push(
      '<h2>Metrics: baseline before the switch, measured after</h2>',
      '<table><tr><th>Monitor</th><th>Baseline</th><th>After</th><th>Change</th><th>Failing intervals</th><th>Last verdict</th></tr>',
    );
    for (const m of r.metrics) {
      parts.push(
        `<tr${m.failedIntervals > 0 ? ' class="warning"' : ''}><td>${e(m.monitor)}</td><td>${
          m.baseline === undefined
            ? '—'
            : `${e(formatNumber(m.baseline))} <small>(${m.baselineSamples} samples)</small>`
        }</td><td>${m.after === undefined ? '—' : e(formatNumber(m.after))}</td><td>${
          m.change === undefined ? '—' : e(formatChange(m.change))
        }</td><td>${m.failedIntervals} of ${m.intervals}</td><td>${e(m.verdict)}</td></tr>`,
      );
    }
    parts.push('</table>');
  }

  parts.push(
    '<h2>Steps</h2><table><tr><th>Step</th><th>Kind</th><th>Status</th><th>Took</th><th>Result</th></tr>',
  );
  for (const s of r.steps) {
    const result = s.error ? `${s.error.code}: ${s.error.message}` : (s.result ?? '');
    parts.push(
      `<tr${s.status === 'failed' ? ' class="failure"' : ''}><td>${e(`${s.phase}.${s.id}`)}</td><td>${e(s.kind)}</td><td>${e(
        s.status,
      )}${s.attempts > 1 ? ` (${s.attempts} attempts)` : ''}</td><td>${
        s.durationMs === undefined ? '' : e(formatDuration(s.durationMs))
      }</td><td>${e(result)}</td></tr>`,
    );
  }
  parts.push('</table>');

  parts.push('<h2>Approvals and sign-offs</h2>');
  if (r.approvals.length === 0) parts.push('<p>None recorded.</p>');
  else {
    parts.push('<table><tr><th>When</th><th>Gate</th><th>Decision</th><th>Who</th><th>Comment</th></tr>');
    for (const a of r.approvals) {
      parts.push(
        `<tr><td>${e(a.at)}</td><td>${e(`${a.phase}.${a.step}`)}</td><td>${e(a.decision)}</td><td>${e(
          `${a.user} (${a.role})`,
        )}</td><td>${e(a.comment)}</td></tr>`,
      );
    }
    parts.push('</table>');
  }

  parts.push('<h2>Timeline</h2><table><tr><th>Time (UTC)</th><th>What</th></tr>');
  for (const t of r.timeline) {
    parts.push(
      `<tr${t.severity === 'info' ? '' : ` class="${t.severity}"`}><td><code>${e(t.at)}</code></td><td>${e(t.text)}</td></tr>`,
    );
  }
  parts.push(
    '</table>',
    "<p><small>Generated by Slipway from the deployment's tamper-evident event log.</small></p>",
    '</body></html>',
    '',
  );
  return parts.join('\n');
}

function row(label: string, html: string): string {
  return `<tr><th>${e(label)}</th><td>${html}</td></tr>`;
}
