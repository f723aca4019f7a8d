/** The main job: `slipway demo` walks the whole process, rolls back the slow v3 by itself, and leaves a store people can inspect. */

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPrometheus } from '../src/demo/demo-prometheus.js';
import { type CliResult, slipway } from './cli-helpers.js';

const TOKEN = 'demo-token-7f3a9c1e55';
let parent: string;
let dir: string;
let run: CliResult;
let elapsedMs: number;

beforeAll(async () => {
  parent = await mkdtemp(path.join(tmpdir(), 'slipway-demo-'));
  dir = path.join(parent, 'demo');
  const started = Date.now();
  run = await slipway(['demo', '--dir', dir, '--json'], {
    cwd: parent,
    env: { NOTES_API_TOKEN: TOKEN },
    timeoutMs: 90_000,
  });
  elapsedMs = Date.now() - started;
}, 120_000);

afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

describe('slipway demo', () => {
  it('finishes in about a minute with v1, v2 live and v3 rolled back', () => {
    expect(run.code, run.stderr).toBe(0);
    // Three bakes and baselines add ~20 s to the seed's process; a loaded 2-core machine needs the margin.
    expect(elapsedMs).toBeLessThan(75_000);
    const result = JSON.parse(run.stdout);
    expect(
      result.deployments.map(
        (d: { environment: string; release: string; state: string }) =>
          `${d.release}@${d.environment}:${d.state}`,
      ),
    ).toEqual([
      'v1@staging:succeeded',
      'v1@production:succeeded',
      'v2@staging:succeeded',
      'v2@production:succeeded',
      'v3@staging:succeeded',
      'v3@production:rolled-back',
    ]);
    expect(result.productionAnswers).toBe('v2');
    const gates = result.highlights.join('\n');
    expect(gates).toMatch(
      /v1 → staging: tests \(JUnit\) \d+ tests, 0 failed.*security scan \(SARIF\).*UAT signed off by quinn \(qa\)/,
    );
    expect(gates).toMatch(
      /v1 → production: waited [\d.]+s for its window \(freeze: the v1 launch announcement/,
    );
    // v3 is not broken, only slower: its smoke checks pass, the bake's degradation trigger rolls it back.
    expect(result.rollbackReason).toMatch(
      /production\.bake failed: degradation: notes-latency: 2 of the last \d intervals failed/,
    );
    expect(result.regression.monitor).toBe('notes-latency');
    expect(result.regression.value).toBeGreaterThan(90); // ms: v3's 100 ms scan
    expect(result.regression.baseline).toBeLessThan(20);
    expect(result.regression.change).toBeGreaterThan(0.2);
    // A real Prometheus measures it when one is installed; otherwise the demo says it times requests itself.
    expect(result.monitoring.source).toBe(findPrometheus() ? 'prometheus' : 'http');
    expect(result.monitoring.detail).toMatch(
      findPrometheus() ? /Prometheus http:\/\/127\.0\.0\.1:\d+/ : /not installed/,
    );
  });

  it('recorded the baseline, every bake interval, and the trigger with its numbers', async () => {
    const logs = await slipway(['logs', '6'], { cwd: dir });
    expect(logs.stdout).toMatch(
      /production\.baseline baseline of v2-d4: notes-latency [\d.]+ \(\d+ samples\)/,
    );
    expect(logs.stdout).toMatch(
      /production\.bake interval [23]\/3: notes-latency [\d.]+ vs baseline [\d.]+ \(\+[\d.]+%\), beyond 20% ✗ .* — TRIGGER degradation/,
    );
    expect(logs.stdout).toMatch(/ROLLBACK to v2 \[degradation\]/);
    expect((await slipway(['logs', '6'], { cwd: dir })).stdout).toContain('production.smoke succeeded');
    const v2 = await slipway(['status', '4', '--json'], { cwd: dir });
    expect(JSON.parse(v2.stdout).state).toBe('succeeded');
  });

  it('drafts the post-incident review of the v3 rollback', async () => {
    const review = await slipway(['report', '6'], { cwd: dir });
    expect(review.code, review.stderr).toBe(0);
    expect(review.stdout).toContain('# Post-incident review (draft): notes v3 → production (deployment 6)');
    expect(review.stdout).toMatch(
      /Trigger \| performance degradation — notes-latency [\d.]+ vs baseline [\d.]+/,
    );
    expect(review.stdout).toContain('### Root cause');
    expect(review.stdout).not.toContain(TOKEN);
  });

  it('leaves a store that history, status and audit read afterwards', async () => {
    const history = await slipway(['history', '--json'], { cwd: dir });
    expect(JSON.parse(history.stdout)).toHaveLength(6);
    const status = await slipway(['status', '6'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(status.stdout).toContain('rolled back');
    expect(status.stdout).toContain('rollback to v2 — succeeded');
    // The bake's view: baseline, the last interval, and the trigger with its numbers.
    expect(status.stdout).toMatch(/baseline notes-latency [\d.]+ ± [\d.]+ \(\d+ samples\)/);
    expect(status.stdout).toMatch(/bake interval [23]\/3 .*✗ notes-latency/);
    expect(status.stdout).toMatch(
      /trigger degradation: notes-latency [\d.]+ vs baseline [\d.]+ \(\+[\d.]+%\)/,
    );
    expect((await slipway(['audit', 'verify'], { cwd: dir })).code).toBe(0);
  });

  it('backed up and verified before v2, applied its migration and rendered its config change', async () => {
    const logs = await slipway(['logs', '4'], { cwd: dir });
    // Backed up and verified first (the phase requires it), then the migration ran through the migrate step.
    expect(logs.stdout).toMatch(/production\.verify-backup succeeded: \S+-d4 verified: 2 items/);
    expect(logs.stdout).toContain('production.migrate succeeded: applied 0002_add_author');
    expect(logs.stdout.indexOf('production.verify-backup succeeded')).toBeLessThan(
      logs.stdout.indexOf('production.migrate started'),
    );
    const config = JSON.parse(
      readFileSync(path.join(dir, 'targets/production/current/config/notes.json'), 'utf8'),
    );
    expect(config).toMatchObject({ release: 'v2', pageSize: 20, title: 'Notes (production)' });
  });

  it('never stores the API token and stops its services at the end', () => {
    const db = path.join(dir, '.slipway', 'slipway.db');
    expect(existsSync(db)).toBe(true);
    for (const p of [db, `${db}-wal`].filter(existsSync)) expect(readFileSync(p).includes(TOKEN)).toBe(false);
    expect(existsSync(path.join(dir, 'targets/production/shared/notes.pid'))).toBe(false);
    expect(existsSync(path.join(dir, 'targets/staging/shared/notes.pid'))).toBe(false);
  });
});
