/** Separation of duties, table-driven: every combination of starter, approver and awaited role, with the policy on and off. */

import { afterEach, describe, expect, it } from 'vitest';
import { SlipwayError } from '../src/core/errors.js';
import { decide } from '../src/engine/gates.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { type Workspace, workspace } from './engine-fixtures.js';

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

function processText(roles: string, policy = ''): string {
  return `version: 1
app: sod
roles:
  qa: [quinn, dev]
  security: [sam, quinn]
  devops: [dana]
artifact: { path: 'artifacts/app-{{ release }}.tar.gz' }
${policy}
environments:
  prod: { target: { root: target } }
phases:
  - id: p
    steps:
      - { id: go, approval: { roles: [${roles}] } }
`;
}

/** Starts a deployment by `starter`, runs it to its gate, and returns a function that approves as someone. */
async function gateStartedBy(starter: string, roles: string, policy = '') {
  ws = await workspace();
  await ws.artifact('v1', { VERSION: 'v1' });
  const process = await ws.process(processText(roles, policy));
  const { deployment } = await startDeployment(ws.store, {
    process,
    environment: 'prod',
    release: 'v1',
    actor: { user: starter, via: 'env' },
  });
  await ws.engine.run(deployment.id);
  const store = ws.store;
  return async (approver: string): Promise<string> => {
    try {
      const r = await decide(store, deployment.id, 'approve', { actor: { user: approver, via: 'env' } });
      return r.remaining.length === 0 ? 'ok' : `ok, awaiting ${r.remaining.join('+')}`;
    } catch (e) {
      if (!(e instanceof SlipwayError)) throw e;
      if (e.message.includes('separation of duties')) return 'refused: starter';
      if (e.message.includes('already approved')) return 'refused: one person one role';
      if (e.message.includes('holds none of')) return 'refused: not in role';
      return `refused: ${e.code}`;
    }
  };
}

// qa = quinn, dev · security = sam, quinn · devops = dana · mallory holds no role.
const SINGLE_ROLE: [starter: string, role: string, approver: string, expected: string][] = [
  ['dev', 'qa', 'dev', 'refused: starter'],
  ['dev', 'qa', 'quinn', 'ok'],
  ['dev', 'qa', 'sam', 'refused: not in role'],
  ['dev', 'qa', 'dana', 'refused: not in role'],
  ['dev', 'qa', 'mallory', 'refused: not in role'],
  ['quinn', 'qa', 'dev', 'ok'],
  ['quinn', 'qa', 'quinn', 'refused: starter'],
  ['quinn', 'qa', 'sam', 'refused: not in role'],
  ['quinn', 'qa', 'dana', 'refused: not in role'],
  ['quinn', 'qa', 'mallory', 'refused: not in role'],
  ['sam', 'qa', 'dev', 'ok'],
  ['sam', 'qa', 'quinn', 'ok'],
  ['sam', 'qa', 'sam', 'refused: not in role'],
  ['sam', 'qa', 'dana', 'refused: not in role'],
  ['sam', 'qa', 'mallory', 'refused: not in role'],
  ['dev', 'security', 'dev', 'refused: not in role'],
  ['dev', 'security', 'quinn', 'ok'],
  ['dev', 'security', 'sam', 'ok'],
  ['dev', 'security', 'dana', 'refused: not in role'],
  ['dev', 'security', 'mallory', 'refused: not in role'],
  ['quinn', 'security', 'dev', 'refused: not in role'],
  ['quinn', 'security', 'quinn', 'refused: starter'],
  ['quinn', 'security', 'sam', 'ok'],
  ['quinn', 'security', 'dana', 'refused: not in role'],
  ['quinn', 'security', 'mallory', 'refused: not in role'],
  ['sam', 'security', 'dev', 'refused: not in role'],
  ['sam', 'security', 'quinn', 'ok'],
  ['sam', 'security', 'sam', 'refused: starter'],
  ['sam', 'security', 'dana', 'refused: not in role'],
  ['sam', 'security', 'mallory', 'refused: not in role'],
];

describe('separation of duties (default policy)', () => {
  it.each(SINGLE_ROLE)(
    'started by %s, awaiting %s, %s approves → %s',
    async (starter, role, approver, expected) => {
      const approve = await gateStartedBy(starter, role);
      expect(await approve(approver)).toBe(expected);
    },
  );
});

describe('separation of duties with the policy switched off', () => {
  const OFF = 'policy: { starterCannotApprove: false, onePersonOneRole: false }';
  it.each([
    ['dev', 'qa', 'dev', 'ok'],
    ['quinn', 'security', 'quinn', 'ok'],
    ['dev', 'qa', 'sam', 'refused: not in role'],
  ])('started by %s, awaiting %s, %s approves → %s', async (starter, role, approver, expected) => {
    const approve = await gateStartedBy(starter, role, OFF);
    expect(await approve(approver)).toBe(expected);
  });
});

describe('one person, one role of the same gate', () => {
  it.each([
    ['', 'refused: one person one role'],
    ['policy: { onePersonOneRole: false }', 'ok'],
  ])('quinn (qa and security) approves both roles; policy "%s" → %s', async (policy, expected) => {
    const approve = await gateStartedBy('dev', 'qa, security', policy);
    expect(await approve('quinn')).toBe('ok, awaiting security');
    expect(await approve('quinn')).toBe(expected);
  });
});
