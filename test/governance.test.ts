/** Governance gates in the engine: approval rules and expiry, separation of duties, automatic checklist items, windows, freezes, emergencies. */

import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from '../src/core/events.js';
import type { WindowStatus } from '../src/core/window-status.js';
import { Engine } from '../src/engine/engine.js';
import { decide } from '../src/engine/gates.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { DANA, DEV, errorOf, QUINN, type Workspace, workspace } from './engine-fixtures.js';

const PAT: Actor = { user: 'pat', via: 'env' };
const SAM: Actor = { user: 'sam', via: 'env' };

let ws: Workspace;
afterEach(async () => {
  await ws?.cleanup();
});

function yaml(phases: string, env = '', top = ''): string {
  return `version: 1
app: demo
roles:
  developer: [dev]
  qa: [quinn, dev]
  security: [sam]
  devops: [dana]
  pm: [pat]
artifact:
  path: artifacts/app-{{ release }}.tar.gz
${top}
environments:
  prod:
    target: { root: target }
${env}
phases:
${phases}
`;
}

async function start(
  text: string,
  options: { emergency?: string; engine?: (store: Workspace['store']) => Engine } = {},
) {
  ws = await workspace();
  await ws.artifact('v1', { VERSION: 'v1' });
  const process = await ws.process(text);
  const { deployment } = await startDeployment(ws.store, {
    process,
    environment: 'prod',
    release: 'v1',
    actor: DEV,
    ...(options.emergency ? { emergency: { reason: options.emergency } } : {}),
  });
  return { id: deployment.id, engine: options.engine ? options.engine(ws.store) : ws.engine };
}

const SHIP = `  - id: ship
    steps:
      - id: release
        release: {}
`;

describe('approval rules', () => {
  it('require: any clears with one approval from any listed role', async () => {
    const { id } = await start(
      yaml(
        `  - id: p\n    steps:\n      - id: go\n        approval: { roles: [qa, security], require: any }\n`,
      ),
    );
    expect((await ws.engine.run(id)).state).toBe('waiting');
    await decide(ws.store, id, 'approve', { actor: SAM });
    expect((await ws.engine.run(id)).state).toBe('succeeded');
  });

  it('require: 2 needs two different people, and one person counts once', async () => {
    const { id } = await start(
      yaml(
        `  - id: p\n    steps:\n      - id: go\n        approval: { roles: [qa, security], require: 2 }\n`,
      ),
    );
    await ws.engine.run(id);
    const first = await decide(ws.store, id, 'approve', { actor: QUINN });
    expect(first.remaining).toEqual(['qa', 'security']);
    const again = await errorOf(decide(ws.store, id, 'approve', { actor: QUINN }));
    expect(again.message).toContain('already approved');
    expect(again.hint).toContain('2 different people; 1 so far');
    await decide(ws.store, id, 'approve', { actor: SAM });
    expect((await ws.engine.run(id)).state).toBe('succeeded');
  });

  it('lets the starter approve only when the policy allows it', async () => {
    const gate = `  - id: p\n    steps:\n      - id: go\n        approval: { roles: [qa] }\n`;
    const { id } = await start(yaml(gate, '', 'policy: { starterCannotApprove: false }'));
    await ws.engine.run(id);
    await decide(ws.store, id, 'approve', { actor: DEV });
    expect((await ws.engine.run(id)).state).toBe('succeeded');
  });

  it('expires an approval gate that was not cleared in time: refused, then failed', async () => {
    const { id } = await start(
      yaml(`  - id: p\n    steps:\n      - id: go\n        approval: { roles: [qa], expires: 300ms }\n`),
    );
    expect((await ws.engine.run(id)).state).toBe('waiting');
    await new Promise((r) => setTimeout(r, 400));
    const late = await errorOf(decide(ws.store, id, 'approve', { actor: QUINN }));
    expect(late.code).toBe('SLW_GATE_EXPIRED');
    const view = await ws.engine.run(id);
    expect(view.state).toBe('failed');
    expect(view.outcome).toContain('was not cleared in time');
  });
});

describe('identities', () => {
  it('maps an OS login to the Slipway user the process file names for it, recorded as an OS user', async () => {
    const gate = `  - id: p\n    steps:\n      - id: go\n        approval: { roles: [qa] }\n`;
    const { id } = await start(yaml(gate, '', 'identities: { qjones: quinn }'));
    await ws.engine.run(id);
    const { view } = await decide(ws.store, id, 'approve', { actor: { user: 'qjones', via: 'os-user' } });
    expect(view.phases[0]?.steps[0]?.decisions[0]?.actor).toEqual({ user: 'quinn', via: 'os-user' });
    // SLIPWAY_USER is taken as given: no mapping.
    const other = await start(yaml(gate, '', 'identities: { qjones: quinn }'));
    await ws.engine.run(other.id);
    const refused = await errorOf(
      decide(ws.store, other.id, 'approve', { actor: { user: 'qjones', via: 'env' } }),
    );
    expect(refused.code).toBe('SLW_NOT_AUTHORIZED');
  });
});

describe('checklists', () => {
  it('ticks an automatic item when the step it is bound to succeeded, as Slipway', async () => {
    const { id } = await start(
      yaml(`  - id: test
    steps:
      - id: unit
        run: [sh, -c, 'true']
      - id: tested
        checklist: { item: Development testing completed, auto: unit }
`),
    );
    const view = await ws.engine.run(id);
    expect(view.state).toBe('succeeded');
    expect(view.phases[0]?.steps[1]?.decisions[0]).toMatchObject({
      kind: 'checked',
      actor: { user: 'slipway', via: 'auto' },
      comment: 'test.unit succeeded',
    });
  });
});

describe('maintenance windows and freezes', () => {
  const closedFor = (ms: number) => {
    const opensAt = Date.now() + ms;
    return (): WindowStatus =>
      Date.now() >= opensAt
        ? { state: 'open', closesAt: null }
        : {
            state: 'closed',
            opensAt,
            closesAt: opensAt + 3_600_000,
            reason: 'outside the maintenance window',
          };
  };
  const WINDOWED = yaml(SHIP, "    windows: [{ cron: '0 22 * * *', duration: 2h, timezone: Europe/Berlin }]");

  it('waits for the window (recorded, with the opening time) and goes on when it opens', async () => {
    const { id, engine } = await start(WINDOWED, {
      engine: (store) => new Engine({ store, windowStatus: closedFor(500) }),
    });
    const started = Date.now();
    const view = await engine.run(id);
    expect(view.state).toBe('succeeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    const types = (await ws.store.readEvents(id)).map((e) => e.type);
    expect(types.indexOf('window.waiting')).toBeLessThan(types.indexOf('window.opened'));
    expect(types.indexOf('window.opened')).toBeLessThan(types.indexOf('step.started'));
  });

  it('without a runner waiting, stays "waiting" for the window and continues on resume once open', async () => {
    const status = closedFor(300);
    const { id, engine: handOff } = await start(WINDOWED, {
      engine: (store) => new Engine({ store, windowStatus: status, waitForWindows: false }),
    });
    const waiting = await handOff.run(id);
    expect(waiting.state).toBe('waiting');
    expect(waiting.window?.reason).toBe('outside the maintenance window');
    expect((await errorOf(decide(ws.store, id, 'approve', { actor: QUINN }))).code).toBe('SLW_GATE_NOT_OPEN');
    await new Promise((r) => setTimeout(r, 350));
    expect((await handOff.run(id)).state).toBe('succeeded');
  });

  it('holds a deployment during a real freeze until it ends', async () => {
    const until = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const from = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const { id } = await start(
      yaml(SHIP, `    freezes: [{ from: '${from}', to: '${until}', reason: Launch event }]`),
    );
    const view = await ws.engine.run(id);
    expect(view.state).toBe('succeeded');
    const waited = (await ws.store.readEvents(id)).find((e) => e.type === 'window.waiting');
    expect(waited?.payload).toMatchObject({ opensAt: new Date(until).toISOString() });
    expect(JSON.stringify(waited?.payload)).toContain('Launch event');
  });

  it('fails a deployment that no window can ever take', async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const { id } = await start(
      yaml(SHIP, `    freezes: [{ from: '${from}', to: '2099-01-01', reason: Decommissioned }]`),
    );
    const view = await ws.engine.run(id);
    expect(view.state).toBe('failed');
    expect(view.outcome).toContain('ship:');
  });

  it('lets an emergency through a freeze only after the emergency approvers, and flags it', async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const { id } = await start(
      yaml(SHIP, `    freezes: [{ from: '${from}', to: '2099-01-01', reason: Year-end freeze }]`),
      {
        emergency: 'INC-42: checkout is down',
      },
    );
    let view = await ws.engine.run(id);
    expect(view.state).toBe('waiting');
    expect(view.phases[0]?.id).toBe('emergency');
    expect(view.phases[0]?.steps[0]?.awaiting).toEqual(['devops', 'pm']);
    await decide(ws.store, id, 'approve', { actor: DANA });
    await decide(ws.store, id, 'approve', { actor: PAT });
    view = await ws.engine.run(id);
    expect(view.state).toBe('succeeded');
    expect(view.emergency?.reason).toBe('INC-42: checkout is down');
    expect((await ws.store.getDeployment(id))?.emergency).toBe(true);
  });
});
