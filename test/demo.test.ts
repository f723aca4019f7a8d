/** The main job: `slipway demo` walks the whole process, rolls back the broken v3, and leaves a store people can inspect. */

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('finishes in under a minute with v1, v2 live and v3 rolled back', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(elapsedMs).toBeLessThan(60_000);
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
    expect(result.rollbackReason).toMatch(/production\.smoke failed.*\/notes answered 500/);
  });

  it('leaves a store that history, status and audit read afterwards', async () => {
    const history = await slipway(['history', '--json'], { cwd: dir });
    expect(JSON.parse(history.stdout)).toHaveLength(6);
    const status = await slipway(['status', '6'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(status.stdout).toContain('rolled back');
    expect(status.stdout).toContain('rollback to v2 — succeeded');
    expect((await slipway(['audit', 'verify'], { cwd: dir })).code).toBe(0);
  });

  it('applied v2 schema change through its migration and rendered its config change', async () => {
    const logs = await slipway(['logs', '4'], { cwd: dir });
    expect(logs.stdout).toContain('applied 2: add notes.author');
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
