/** The post-incident review draft: the seed's "learn from failures" questions, with what the log already answers filled in. */

import { formatChange, formatNumber } from '../core/analysis.js';
import { formatDuration } from '../core/duration.js';
import { type DeploymentReport, describeTrigger } from './report-data.js';

export interface ReviewSection {
  readonly title: string;
  /** What Slipway knows from the log. */
  readonly known: readonly string[];
  /** Questions for the people to answer. */
  readonly questions: readonly string[];
}

/** The draft's sections, or none for a deployment that neither failed nor rolled back. */
export function reviewSections(r: DeploymentReport): ReviewSection[] {
  const i = r.incident;
  if (!i) return [];
  const approvals = r.approvals.map(
    (a) =>
      `${a.phase}.${a.step}: ${a.decision} by ${a.user} (${a.role}) at ${a.at}${a.comment ? ` — "${a.comment}"` : ''}`,
  );
  const measured = r.metrics
    .filter((m) => m.baseline !== undefined || m.after !== undefined)
    .map(
      (m) =>
        `${m.monitor}: ${m.baseline === undefined ? 'no baseline' : `baseline ${formatNumber(m.baseline)}`} → ${
          m.after === undefined ? 'not measured' : formatNumber(m.after)
        }${m.change === undefined ? '' : ` (${formatChange(m.change)})`}, ${m.failedIntervals} of ${m.intervals} intervals failed`,
    );
  const failedSteps = r.steps
    .filter((s) => s.status === 'failed')
    .map(
      (s) =>
        `${s.phase}.${s.id} (${s.kind}) failed${s.error ? ` [${s.error.code}]: ${s.error.message}` : ''}`,
    );
  const rollback = i.rollback;
  return [
    {
      title: 'What happened',
      known: [
        `${r.app} ${r.release} → ${r.environment} (deployment ${r.id}, started by ${r.startedBy} at ${r.createdAt}) ended ${r.state}.`,
        i.summary,
        ...failedSteps,
      ],
      questions: ['Describe the change that was deployed and what went wrong, in plain words.'],
    },
    {
      title: 'Impact',
      known: i.impact
        ? [
            `${r.release} served ${r.environment} from ${i.impact.from}${
              i.impact.to
                ? ` until ${i.impact.to} (${formatDuration(i.impact.durationMs ?? 0)})`
                : ' and may still serve it'
            }.`,
            ...measured,
          ]
        : ['The live release was never switched: users were not affected by this deployment.', ...measured],
      questions: [
        'Which users or systems were affected, and how many?',
        'Was any data lost or corrupted? Which customers must be told?',
      ],
    },
    {
      title: 'Detection',
      known: [
        `Trigger: ${i.triggerLabel}${i.analysis ? ` — ${describeTrigger(i.analysis)}` : ''}.`,
        `Detected at ${i.openedAt}${
          i.impact
            ? `, ${formatDuration(Math.max(0, Date.parse(i.openedAt) - Date.parse(i.impact.from)))} after the switch`
            : ''
        }${i.closedAt ? `; closed at ${i.closedAt}` : ''}.`,
      ],
      questions: [
        'Could it have been detected earlier (in testing, staging, or a shorter bake interval)?',
        'Did the monitors and thresholds catch the right thing, or did people notice first?',
      ],
    },
    {
      title: 'Response and rollback',
      known: rollback
        ? [
            `Rollback to ${rollback.toRelease ?? '(none)'}: ${rollback.status}${
              rollback.durationMs === undefined ? '' : ` in ${formatDuration(rollback.durationMs)}`
            }.`,
            ...rollback.actions.map((a) => `${a.at} ${a.action}: ${a.ok ? 'ok' : 'FAILED'} — ${a.detail}`),
          ]
        : ['No rollback was needed or possible (see "What happened").'],
      questions: ['Did the rollback restore full service? Was anything done by hand?'],
    },
    {
      title: 'Approvals',
      known: approvals.length ? approvals : ['No approvals or checklist items were recorded.'],
      questions: ['Did the sign-offs have the information they needed to stop this release?'],
    },
    {
      title: 'Root cause',
      known: [],
      questions: [
        'Why did it happen? Ask "why?" until you reach a cause you can change (five whys).',
        'Why did testing and staging not catch it?',
      ],
    },
    {
      title: 'What went well',
      known:
        rollback?.status === 'succeeded' ? ['The automatic rollback restored the previous release.'] : [],
      questions: ['What helped: alerts, tooling, people, runbooks?'],
    },
    {
      title: 'What went badly',
      known: [],
      questions: ['What slowed detection, diagnosis or recovery?'],
    },
    {
      title: 'Action items',
      known: [],
      questions: ['Each with an owner and a due date: what will prevent this, or detect it sooner?'],
    },
  ];
}
