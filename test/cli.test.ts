/** The CLI as users drive it: exit codes, --json, colours, gates across processes, one deployment per environment. */

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, slipway } from './cli-helpers.js';
import { processYaml, workspace } from './engine-fixtures.js';

let dir: string;
const ESC = '\u001b[';

const GATED = processYaml(`  - id: plan
    steps:
      - id: uat
        approval: { roles: [qa] }
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: hello
        run: [sh, -c, 'echo "deploying $SLIPWAY_RELEASE as $GREETING"']
`);

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withArtifacts(yaml: string, releases: string[]): Promise<void> {
  const ws = await workspace();
  try {
    for (const r of releases) await ws.artifact(r, { VERSION: r });
    await ws.process(yaml);
    await rm(dir, { recursive: true, force: true });
    await cp(ws.dir, dir, { recursive: true, filter: (src) => !src.includes('.slipway') });
  } finally {
    await ws.cleanup();
  }
}

const as = (user: string) => ({ SLIPWAY_USER: user });
/** A freeze end a month ahead: far enough to wait for, near enough to be within the window search horizon. */
const FREEZE_END = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

/** Processes of a group that still run (zombies waiting for a slow init to reap them do not count). */
function liveGroupMembers(pgid: number): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z';
    } catch {
      return false;
    }
  });
}

describe('slipway CLI', () => {
  it('--help lists the commands and the exit codes', async () => {
    const r = await slipway(['--help'], { cwd: dir });
    expect(r.code).toBe(0);
    for (const cmd of [
      'init',
      'validate',
      'schema',
      'plan',
      'deploy',
      'status',
      'logs',
      'approve',
      'reject',
      'check',
      'rollback',
      'history',
      'resume',
      'audit',
      'demo',
    ]) {
      expect(r.stdout).toContain(cmd);
    }
    expect(r.stdout).toContain('3  waiting at a gate');
  });

  it('init writes the seed process, which validates; a second init refuses to overwrite', async () => {
    expect((await slipway(['init'], { cwd: dir })).code).toBe(0);
    const text = await readFile(path.join(dir, 'slipway.yaml'), 'utf8');
    expect(text).toContain('Security scan passed');
    const v = await slipway(['validate', '--json'], { cwd: dir });
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true });
    const again = await slipway(['init'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('SLW_FILE_EXISTS');
  });

  it('schema prints a JSON Schema', async () => {
    const r = await slipway(['schema'], { cwd: dir });
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.$schema).toContain('2020-12');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['app', 'environments', 'phases']));
  });

  it('plan shows steps and gates and writes nothing', async () => {
    await withArtifacts(GATED, ['v1']);
    const r = await slipway(['plan', 'prod', '--release', 'v1'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('approval by qa');
    expect(r.stdout).toContain('nothing was done');
    const h = await slipway(['history', '--json'], { cwd: dir });
    expect(JSON.parse(h.stdout)).toEqual([]);
  });

  it('waits at a gate with exit 3, refuses the wrong people, continues after approval with exit 0', async () => {
    await withArtifacts(GATED, ['v1']);
    const started = await slipway(['deploy', 'prod', '--release', 'v1'], { cwd: dir, env: as('dev') });
    expect(started.code).toBe(3);
    expect(started.stdout).toContain('slipway approve 1');
    const self = await slipway(['approve', '1'], { cwd: dir, env: as('dev') });
    expect(self.code).toBe(2);
    expect(self.stderr).toContain('separation of duties');
    const stranger = await slipway(['approve', '1'], { cwd: dir, env: as('mallory') });
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toContain('qa: quinn, dev');
    const ok = await slipway(['approve', '1', '-m', 'UAT passed'], { cwd: dir, env: as('quinn') });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('approved by quinn (qa): UAT passed');
    const status = JSON.parse((await slipway(['status', '1', '--json'], { cwd: dir })).stdout);
    expect(status.state).toBe('succeeded');
    expect(status.startedBy).toEqual({ user: 'dev', via: 'env' });
    const logs = await slipway(['logs', '1'], { cwd: dir });
    expect(logs.stdout).toContain('deploying v1 as hello');
    expect((await slipway(['audit', 'verify'], { cwd: dir })).code).toBe(0);
    // Someone "fixes" history by editing the table that history and promotion read: audit notices.
    const db = new Database(path.join(dir, '.slipway', 'slipway.db'));
    db.prepare("UPDATE deployments SET state = 'failed' WHERE id = 1").run();
    db.close();
    const tampered = await slipway(['audit', 'verify'], { cwd: dir });
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('deployment 1 is recorded as failed, but its events say succeeded');
  });

  it('logs --follow streams a running deployment until it ends', async () => {
    const yaml = processYaml(`  - id: slow
    steps:
      - id: tick
        run: [sh, -c, 'for i in 1 2 3; do echo "tick $i"; sleep 0.5; done']
`);
    await withArtifacts(yaml, ['v1']);
    const deploying = slipway(['deploy', 'prod', '-r', 'v1'], { cwd: dir, env: as('dev') });
    // Follow once the deployment exists (CLI start-up time varies on a loaded machine).
    for (let i = 0; i < 100; i++) {
      const h = await slipway(['history', '--json'], { cwd: dir });
      if (h.code === 0 && JSON.parse(h.stdout).length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const follow = await slipway(['logs', '1', '--follow'], { cwd: dir });
    expect((await deploying).code).toBe(0);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toContain('tick 3');
    expect(follow.stdout).toContain('deployment succeeded');
  });

  it('after a SIGKILL, resume stops the commands the dead runner left running before it decides', async () => {
    const yaml = processYaml(`  - id: t
    steps:
      - id: long
        run: [sh, -c, 'echo started > started; sleep 30; echo finished > finished']
`);
    await withArtifacts(yaml, ['v1']);
    const child = spawn(process.execPath, [BIN, 'deploy', 'prod', '-r', 'v1'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SLIPWAY_USER: 'dev' },
      stdio: 'ignore',
    });
    for (let i = 0; i < 200 && !existsSync(path.join(dir, 'started')); i++)
      await new Promise((r) => setTimeout(r, 50));
    // The scenario: the runner recorded the command's process group, then died (the record is written just
    // after the spawn, so a kill in between would leave nothing to stop).
    const recorded = async () =>
      (await slipway(['logs', '1', '--json'], { cwd: dir })).stdout.includes('"step.process"');
    for (let i = 0; i < 50 && !(await recorded()); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const orphan = await slipway(['status', '1'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(orphan.stdout).toContain('no Slipway process is running it (stopped or killed): slipway resume 1');
    const resumed = await slipway(['resume', '--json'], { cwd: dir });
    expect(resumed.code).toBe(1);
    const view = JSON.parse(resumed.stdout);
    expect(view.outcome).toContain('not idempotent');
    const logs = JSON.parse(
      `[${(await slipway(['logs', '1', '--json'], { cwd: dir })).stdout.trim().split('\n').join(',')}]`,
    );
    const pid = logs.find((e: { type: string }) => e.type === 'step.process').payload.pid;
    const runner = logs.filter((e: { type: string }) => e.type === 'deployment.runner').at(-1);
    expect(runner.payload.stoppedLeftovers).toEqual([pid]);
    expect(liveGroupMembers(pid)).toEqual([]);
  });

  it('outside the window, --no-wait-for-window records the wait and exits 3; --var only overrides declared vars', async () => {
    const yaml = processYaml(
      `  - id: deploy
    steps:
      - id: ship
        release: {}
`,
      `    freezes: [{ from: 2020-01-01, to: ${FREEZE_END}T00:00Z, reason: 'Migration to the new data centre' }]\n    emergency: { approvers: [devops] }`,
    );
    await withArtifacts(yaml, ['v1']);
    const undeclared = await slipway(['deploy', 'prod', '-r', 'v1', '--var', 'LD_PRELOAD=/tmp/x.so'], {
      cwd: dir,
    });
    expect(undeclared.code).toBe(2);
    expect(undeclared.stderr).toContain('not declared under "vars"');
    const r = await slipway(['deploy', 'prod', '-r', 'v1', '--no-wait-for-window', '--var', 'GREETING=hi'], {
      cwd: dir,
      env: { ...as('dev'), NO_COLOR: '1' },
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      'waiting for the maintenance window (freeze: Migration to the new data centre',
    );
    const status = await slipway(['status', '1'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(status.stdout).toContain(`opens ${FREEZE_END} 00:00 UTC`);
    // Nobody has to wait a month: the starter (or a role holder) can end it; a stranger cannot.
    const stranger = await slipway(['cancel', '1'], { cwd: dir, env: as('mallory') });
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toContain('holds no role');
    const cancelled = await slipway(['cancel', '1', '-m', 'moved to next week'], {
      cwd: dir,
      env: as('dev'),
    });
    expect(cancelled.code).toBe(0);
    const after = JSON.parse((await slipway(['status', '1', '--json'], { cwd: dir })).stdout);
    expect(after).toMatchObject({
      state: 'failed',
      outcome: expect.stringContaining('cancelled by dev: moved to next week'),
    });
  });

  it('lets exactly one of two simultaneous deployments to the same environment run', async () => {
    await withArtifacts(GATED, ['v1', 'v2']);
    const [a, b] = await Promise.all([
      slipway(['deploy', 'prod', '--release', 'v1'], { cwd: dir, env: as('dev') }),
      slipway(['deploy', 'prod', '--release', 'v2'], { cwd: dir, env: as('dev') }),
    ]);
    expect([a.code, b.code].sort(), `${a.stderr}\n${b.stderr}`).toEqual([2, 3]);
    expect((a.code === 2 ? a : b).stderr).toContain('SLW_ENV_BUSY');
    const history = JSON.parse((await slipway(['history', '--json'], { cwd: dir })).stdout);
    expect(history).toHaveLength(1);
  });

  it('uses colour on request only, and never with NO_COLOR', async () => {
    await withArtifacts(GATED, ['v1']);
    const plain = await slipway(['plan', 'prod', '-r', 'v1'], { cwd: dir });
    expect(plain.stdout).not.toContain(ESC);
    const forced = await slipway(['plan', 'prod', '-r', 'v1'], { cwd: dir, env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(ESC);
    const no = await slipway(['plan', 'prod', '-r', 'v1'], {
      cwd: dir,
      env: { FORCE_COLOR: '1', NO_COLOR: '' },
    });
    expect(no.stdout).not.toContain(ESC);
  });

  it('reports bad input with exit 2, a hint and --json errors', async () => {
    await withArtifacts(GATED, ['v1']);
    const env = await slipway(['deploy', 'prdo', '-r', 'v1'], { cwd: dir });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('did you mean "prod"?');
    const missing = await slipway(['deploy', 'prod', '-r', 'v9', '--json'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error.code).toBe('SLW_ARTIFACT_NOT_FOUND');
    const usage = await slipway(['deploy', 'prod', '--json'], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout).error).toMatchObject({
      code: 'SLW_USAGE',
      message: expect.stringContaining('--release'),
    });
    const badId = await slipway(['status', 'abc'], { cwd: dir });
    expect(badId.code).toBe(2);
    const noFile = await slipway(['validate', 'nope.yaml'], { cwd: dir });
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('slipway init');
  });

  it('exits 4 when a deployment rolls back and 1 when it fails with nothing to roll back', async () => {
    const yaml = processYaml(
      `  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: check
        run: [sh, -c, 'grep -q good "$SLIPWAY_RELEASE_DIR/VERSION"']
`,
    );
    await withArtifacts(yaml, ['bad0', 'good1', 'bad2']);
    const broken = await slipway(['deploy', 'prod', '-r', 'bad0'], { cwd: dir, env: as('dev') });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('no earlier good release');
    const first = await slipway(['deploy', 'prod', '-r', 'good1'], { cwd: dir, env: as('dev') });
    expect(first.code).toBe(0);
    const second = await slipway(['deploy', 'prod', '-r', 'bad2'], { cwd: dir, env: as('dev') });
    expect(second.code).toBe(4);
    expect(second.stdout).toContain('rolled back');
    const manual = await slipway(['rollback', 'prod'], { cwd: dir, env: as('dana') });
    expect(manual.code).toBe(2);
    expect(manual.stderr).toContain('SLW_NOTHING_TO_ROLL_BACK');
    expect(existsSync(path.join(dir, '.slipway', 'slipway.db'))).toBe(true);
    const history = JSON.parse((await slipway(['history', '--json'], { cwd: dir })).stdout);
    expect(history.map((d: { state: string }) => d.state)).toEqual(['rolled-back', 'succeeded', 'failed']);
  });

  it('writes a store only where asked: --store', async () => {
    await withArtifacts(GATED, ['v1']);
    const store = path.join(dir, 'elsewhere.db');
    await slipway(['deploy', 'prod', '-r', 'v1', '--store', store], { cwd: dir, env: as('dev') });
    expect(existsSync(store)).toBe(true);
    expect(existsSync(path.join(dir, '.slipway', 'slipway.db'))).toBe(false);
  });
});
