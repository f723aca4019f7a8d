/** The engine against a real local target and a real SQLite store: gates, retries, timeouts, rollback, secrets, resume. */

import { existsSync, readFileSync } from 'node:fs';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyStoredEvent } from '../src/core/events.js';
import { Engine } from '../src/engine/engine.js';
import { decide } from '../src/engine/gates.js';
import { startManualRollback } from '../src/engine/rollback.js';
import { liveDeployment, liveDeploymentOn, startDeployment } from '../src/engine/start-deployment.js';
import { DANA, DEV, errorOf, processYaml, QUINN, type Workspace, workspace } from './engine-fixtures.js';

let ws: Workspace;
afterEach(async () => {
  await ws?.cleanup();
});

const SERVICE = `
service:
  start: [sh, -c, 'cat "$SLIPWAY_CURRENT/VERSION" > "$SLIPWAY_SHARED/running"']
  stop: [sh, -c, 'rm -f "$SLIPWAY_SHARED/running"']
`;

const DEPLOY_PHASE = `
  - id: deploy
    steps:
      - id: ship
        release: { keep: 3 }
      - id: restart
        restart: {}
      - id: check
        run: [sh, -c, 'grep -qv broken "$SLIPWAY_SHARED/running"']
`;

function deploy(release: string, files: Record<string, string> = { VERSION: release }) {
  return ws.deploy(release, files);
}

async function setup(yaml: string) {
  ws = await workspace();
  ws.yaml = yaml;
  return ws;
}

describe('engine', () => {
  it('runs phases in order, switches current and records every step', async () => {
    await setup(processYaml(DEPLOY_PHASE, SERVICE));
    const view = await deploy('v1');
    expect(view.state).toBe('succeeded');
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
    expect(await readlink(path.join(ws.dir, 'target/current'))).toContain('v1-d1');
    const types = (await ws.store.readEvents(view.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'step.succeeded')).toHaveLength(3);
    expect(types.at(-1)).toBe('deployment.succeeded');
    expect((await ws.store.verifyChain()).ok).toBe(true);
  });

  it('rolls back to the previous good release when a step fails after the switch', async () => {
    await setup(processYaml(DEPLOY_PHASE, SERVICE));
    expect((await deploy('v1')).state).toBe('succeeded');
    const view = await deploy('v2', { VERSION: 'v2-broken' });
    expect(view.state).toBe('rolled-back');
    expect(view.outcome).toContain('deploy.check failed');
    expect(view.rollback?.toRelease).toBe('v1');
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
    expect(await readlink(path.join(ws.dir, 'target/current'))).toContain('v1-d1');
    const record = await ws.store.getDeployment(view.id);
    expect(record?.state).toBe('rolled-back');
  });

  it('fails without touching the target when a step fails before the release is shipped', async () => {
    await setup(
      processYaml(
        `  - id: test\n    steps:\n      - id: unit\n        run: [sh, -c, 'exit 3']\n${DEPLOY_PHASE}`,
        SERVICE,
      ),
    );
    const view = await deploy('v1');
    expect(view.state).toBe('failed');
    expect(view.outcome).toMatch(/exited with 3.*the live release was not changed/s);
    expect(existsSync(path.join(ws.dir, 'target/current'))).toBe(false);
  });

  it('retries with backoff until a flaky step succeeds', async () => {
    await setup(
      processYaml(`  - id: t
    steps:
      - id: flaky
        run: [sh, -c, 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]']
        retries: 3
        retryDelay: 50ms
`),
    );
    const view = await deploy('v1');
    expect(view.state).toBe('succeeded');
    const step = view.phases[0]?.steps[0];
    expect(step?.attempts).toBe(3);
    const failed = (await ws.store.readEvents(view.id)).filter((e) => e.type === 'step.failed');
    expect(
      failed.map((e) => (e as AnyStoredEvent & { payload: { retryInMs: number } }).payload.retryInMs),
    ).toEqual([50, 100]);
  });

  it('stops a step at its timeout', async () => {
    await setup(
      processYaml(
        `  - id: t\n    steps:\n      - id: slow\n        run: [sleep, '20']\n        timeout: 300ms\n`,
      ),
    );
    const started = Date.now();
    const view = await deploy('v1');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(view.state).toBe('failed');
    expect(view.phases[0]?.steps[0]?.error?.code).toBe('SLW_STEP_TIMEOUT');
  });

  it('waits at gates and continues after the right people decide; the starter cannot approve', async () => {
    await setup(
      processYaml(`  - id: plan
    steps:
      - id: ready
        checklist: { item: Requirements approved, role: devops }
      - id: uat
        approval: { roles: [qa] }
      - id: after
        run: [sh, -c, 'true']
`),
    );
    let view = await deploy('v1');
    expect(view.state).toBe('waiting');
    expect((await errorOf(decide(ws.store, view.id, 'check', { actor: QUINN }))).code).toBe(
      'SLW_NOT_AUTHORIZED',
    );
    expect((await errorOf(decide(ws.store, view.id, 'approve', { actor: DANA }))).code).toBe(
      'SLW_GATE_NOT_OPEN',
    );
    await decide(ws.store, view.id, 'check', { actor: DANA, comment: 'ticket 42' });
    view = await ws.engine.run(view.id);
    expect(view.state).toBe('waiting');
    // dev is in qa but started the deployment: separation of duties.
    const sod = await errorOf(decide(ws.store, view.id, 'approve', { actor: DEV }));
    expect(sod.code).toBe('SLW_NOT_AUTHORIZED');
    expect(sod.message).toContain('separation of duties');
    await decide(ws.store, view.id, 'approve', { actor: QUINN, comment: 'UAT ok' });
    view = await ws.engine.run(view.id);
    expect(view.state).toBe('succeeded');
    const uat = view.phases[0]?.steps[1];
    expect(uat?.decisions[0]).toMatchObject({ kind: 'approved', role: 'qa', comment: 'UAT ok' });
    expect(uat?.decisions[0]?.actor.user).toBe('quinn');
  });

  it('fails a rejected deployment and records who rejected it', async () => {
    await setup(
      processYaml(`  - id: plan\n    steps:\n      - id: uat\n        approval: { roles: [qa] }\n`),
    );
    let view = await deploy('v1');
    await decide(ws.store, view.id, 'reject', { actor: QUINN, comment: 'login broken' });
    view = await ws.engine.run(view.id);
    expect(view.state).toBe('failed');
    expect(view.outcome).toContain('rejected by quinn (qa): login broken');
  });

  it('refuses a second deployment to a busy environment', async () => {
    await setup(
      processYaml(`  - id: plan\n    steps:\n      - id: uat\n        approval: { roles: [qa] }\n`),
    );
    await deploy('v1');
    await ws.artifact('v2', { VERSION: 'v2' });
    const process = await ws.process(ws.yaml);
    const busy = await errorOf(
      startDeployment(ws.store, { process, environment: 'prod', release: 'v2', actor: DEV }),
    );
    expect(busy.code).toBe('SLW_ENV_BUSY');
    expect(busy.message).toContain('v1');
    // The same release continues the unfinished deployment instead.
    const again = await startDeployment(ws.store, {
      process,
      environment: 'prod',
      release: 'v1',
      actor: DEV,
    });
    expect(again).toMatchObject({ resumed: true, deployment: { id: 1 } });
  });

  it('keeps secrets out of events and passes hostile values as data, never as shell syntax', async () => {
    process.env.SLIPWAY_TEST_TOKEN = 's3cr3t-t0ken-value';
    await setup(
      processYaml(
        `  - id: t
    steps:
      - id: echo-secret
        run: [sh, -c, 'echo "token=$API_TOKEN"; echo "greeting=$GREETING"']
      - id: argv
        run: [printf, '%s', '{{ vars.GREETING }}']
      - id: fail-with-secret
        run: [sh, -c, 'echo "bad $API_TOKEN" >&2; exit 1']
`,
        `    vars: { GREETING: '$(touch pwned); \`touch pwned2\`' }\n    secrets:\n      API_TOKEN: { env: SLIPWAY_TEST_TOKEN }`,
      ),
    );
    const view = await deploy('v1');
    expect(view.state).toBe('failed');
    const log = JSON.stringify(await ws.store.readEvents(view.id));
    expect(log).not.toContain('s3cr3t-t0ken-value');
    expect(log).toContain('token=[redacted]');
    expect(log).toContain('bad [redacted]');
    expect(log).toContain('greeting=$(touch pwned); `touch pwned2`');
    expect(existsSync(path.join(ws.dir, 'pwned'))).toBe(false);
    expect(existsSync(path.join(ws.dir, 'pwned2'))).toBe(false);
  });

  it('after a crash, re-runs an interrupted idempotent step', async () => {
    await setup(processYaml(DEPLOY_PHASE, SERVICE));
    await ws.artifact('v1', { VERSION: 'v1' });
    const process = await ws.process(ws.yaml);
    const { deployment } = await startDeployment(ws.store, {
      process,
      environment: 'prod',
      release: 'v1',
      actor: DEV,
    });
    // The log of a runner killed during "ship": it ends with step.started.
    await ws.store.append(deployment.id, 1, [
      { type: 'phase.started', payload: { phase: 'deploy' } },
      { type: 'step.started', payload: { phase: 'deploy', step: 'ship', attempt: 1 } },
    ]);
    const resumed = await ws.engine.run(deployment.id);
    expect(resumed.state).toBe('succeeded');
    expect(resumed.resumes).toBe(1);
    expect(resumed.phases[0]?.steps[0]?.attempts).toBe(2);
  });

  it('after a crash inside a non-idempotent step, does not run it again: fails safely and rolls back', async () => {
    await setup(
      processYaml(
        `${DEPLOY_PHASE}      - id: notify\n        on: target\n        run: [sh, -c, 'echo x >> ../notified; [ "$SLIPWAY_RELEASE" = v1 ] || sleep 5']\n`,
        SERVICE,
      ),
    );
    expect((await deploy('v1')).state).toBe('succeeded');
    await ws.artifact('v2', { VERSION: 'v2' });
    const process = await ws.process(ws.yaml);
    const { deployment } = await startDeployment(ws.store, {
      process,
      environment: 'prod',
      release: 'v2',
      actor: DEV,
    });
    const stop = new AbortController();
    const crashing = new Engine({
      store: ws.store,
      hooks: {
        onOutput: () => undefined,
        onEvent: (e) => {
          if (e.type === 'step.started' && e.payload.step === 'notify') setTimeout(() => stop.abort(), 300);
        },
      },
    });
    await expect(crashing.run(deployment.id, stop.signal)).rejects.toBeDefined();
    expect((await ws.store.getDeployment(deployment.id))?.state).toBe('running');
    const view = await ws.engine.run(deployment.id);
    expect(view.state).toBe('rolled-back');
    expect(view.outcome).toContain('not idempotent');
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
    // notify ran once in v1's deployment and once (cut short) in v2's — never a third time.
    expect(
      (await readFile(path.join(ws.dir, 'target/releases/notified'), 'utf8')).trim().split('\n'),
    ).toHaveLength(2);
  });

  it('bounds the stored output of a chatty step and keeps its tail in the error', async () => {
    await setup(
      processYaml(`  - id: t
    steps:
      - id: chatty
        run: [sh, -c, 'i=0; while [ $i -lt 20000 ]; do echo "line $i of a very chatty build step"; i=$((i+1)); done; echo last words; exit 1']
`),
    );
    const view = await deploy('v1');
    const events = await ws.store.readEvents(view.id);
    const stored = events.flatMap((e) => (e.type === 'step.output' ? [e.payload.text] : [])).join('');
    expect(stored.length).toBeLessThan(300 * 1024);
    expect(stored).toContain('not stored');
    expect(view.phases[0]?.steps[0]?.error?.message).toContain('last words');
  });

  it('keeps a service a finished step started running when the next runner takes over after a gate', async () => {
    await setup(
      processYaml(
        `  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: restart
        restart: {}
      - id: uat
        approval: { roles: [qa] }
`,
        `
service:
  start: [sh, -c, 'sleep 30 > /dev/null 2>&1 & echo $! > "$SLIPWAY_SHARED/daemon.pid"']
  stop: [sh, -c, 'true']
`,
      ),
    );
    const view = await deploy('v1');
    expect(view.state).toBe('waiting');
    const pid = Number((await readFile(path.join(ws.dir, 'target/shared/daemon.pid'), 'utf8')).trim());
    try {
      await decide(ws.store, view.id, 'approve', { actor: QUINN });
      expect((await ws.engine.run(view.id)).state).toBe('succeeded');
      expect(running(pid)).toBe(true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  it('redacts secrets with quotes and backslashes in stored details, and multi-line secrets line by line', async () => {
    const key = 'key-line-one-AAAA\nkey-line-two-BBBB\nkey-line-three-CC';
    process.env.SLIPWAY_QUOTED = 'tok"en\\value-123';
    await setup(
      processYaml(
        `  - id: t
    steps:
      - id: leak
        run: [sh, -c, 'printf "%s\\n" "$QUOTED"; printf "%s\\n" "$KEY" | tail -n 2; exit 1']
`,
        `    secrets:\n      QUOTED: { env: SLIPWAY_QUOTED }\n      KEY: { file: key.pem }`,
      ),
    );
    await writeFile(path.join(ws.dir, 'key.pem'), `${key}\n`);
    const view = await deploy('v1');
    expect(view.state).toBe('failed');
    const raw = JSON.stringify(await ws.store.readEvents(view.id));
    for (const leaked of [
      'tok\\"en\\\\value-123',
      'tok"en\\value-123',
      'key-line-one-AAAA',
      'key-line-two-BBBB',
      'key-line-three-CC',
    ]) {
      expect(raw).not.toContain(leaked);
    }
    // The quoted secret, then the key's last two lines (not the whole key): each came out redacted.
    const output = (await ws.store.readEvents(view.id)).flatMap((e) =>
      e.type === 'step.output' ? [e.payload.text] : [],
    );
    expect(output.join('')).toBe('[redacted]\n[redacted]\n[redacted]\n');
  });

  it('a manual rollback after a failed deployment left live (automatic rollback off) returns to the release before it', async () => {
    await setup(
      processYaml(DEPLOY_PHASE, `${SERVICE}`).replace(
        'target: { root: target }',
        'target: { root: target }\n    rollback: { auto: false }',
      ),
    );
    await deploy('v0');
    await deploy('v1');
    const broken = await deploy('v2', { VERSION: 'v2-broken' });
    expect(broken.state).toBe('failed');
    expect(await readlink(path.join(ws.dir, 'target/current'))).toContain('v2-d3');
    const process = await ws.process(ws.yaml);
    const live = await liveDeploymentOn(ws.store, process, 'prod');
    expect(live.id).toBe(broken.id);
    await startManualRollback(ws.store, live, DANA, 'broken release left live');
    const view = await ws.engine.run(live.id);
    expect(view.state).toBe('rolled-back');
    expect(await readlink(path.join(ws.dir, 'target/current'))).toContain('v1-d2');
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
  });

  it('rolls back even when the broken release cannot be stopped', async () => {
    await setup(
      processYaml(
        DEPLOY_PHASE,
        `
service:
  start: [sh, -c, 'cat "$SLIPWAY_CURRENT/VERSION" > "$SLIPWAY_SHARED/running"']
  stop: [sh, -c, 'if grep -q broken "$SLIPWAY_SHARED/running" 2>/dev/null; then echo "cannot stop"; exit 1; fi']
`,
      ),
    );
    await deploy('v1');
    const view = await deploy('v2', { VERSION: 'v2-broken' });
    expect(view.state).toBe('rolled-back');
    expect(view.rollback?.actions.map((a) => `${a.action}:${a.ok}`)).toEqual([
      'stop:false',
      'switch:true',
      'start:true',
    ]);
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
  });

  it('rolls back by hand to the release before the live one', async () => {
    await setup(processYaml(DEPLOY_PHASE, SERVICE));
    await deploy('v1');
    await deploy('v2');
    const process = await ws.process(ws.yaml);
    const live = await liveDeployment(ws.store, process.app, 'prod');
    expect(live.release).toBe('v2');
    await startManualRollback(ws.store, live, DANA, 'customer complaints');
    const view = await ws.engine.run(live.id);
    expect(view.state).toBe('rolled-back');
    expect(view.outcome).toBe('manual rollback by dana: customer complaints');
    expect(await readFile(path.join(ws.dir, 'target/shared/running'), 'utf8')).toBe('v1');
  });

  it('refuses an artifact whose bytes changed under the same release id', async () => {
    await setup(processYaml(DEPLOY_PHASE, SERVICE));
    await deploy('v1');
    await ws.artifact('v1', { VERSION: 'v1', extra: 'sneaky' });
    const process = await ws.process(ws.yaml);
    const changed = await errorOf(
      startDeployment(ws.store, { process, environment: 'prod', release: 'v1', actor: DEV }),
    );
    expect(changed.code).toBe('SLW_RELEASE_CHANGED');
  });
});

/** A live (not zombie) process. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
