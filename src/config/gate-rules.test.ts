import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { compileProcess } from './load-process.js';

const head = (roles: string) => `version: 1
app: shop
roles: ${roles}
artifact:
  path: dist/shop-{{ release }}.tar.gz
environments:
  staging:
    target: { root: targets/staging }
  production:
    target: { root: /srv/shop }
phases:
`;
const BASE = head('{ qa: [quinn], security: [sam, sue], devops: [dana], pm: [pat] }');

function problemsOf(source: string): { path: string; message: string; hint?: string }[] {
  try {
    compileProcess(source, 'slipway.yaml');
  } catch (e) {
    if (e instanceof ConfigError)
      return e.problems.map(({ path, message, hint }) => ({ path, message, ...(hint ? { hint } : {}) }));
    throw e;
  }
  return [];
}

describe('approval gates', () => {
  const gate = (approval: string, base = BASE) =>
    problemsOf(`${base}  - id: uat\n    steps:\n      - { id: sign-off, approval: ${approval} }\n`);

  it('accepts rules that the declared members can satisfy', () => {
    expect(gate('{ roles: [qa], require: any }')).toEqual([]);
    expect(gate('{ roles: [qa, security], require: 3 }')).toEqual([]);
    expect(gate('{ roles: [qa, security, devops, pm] }')).toEqual([]);
  });

  it('refuses a count higher than the people who hold the roles', () => {
    expect(gate('{ roles: [security], require: 3 }')).toEqual([
      {
        path: 'phases.0.steps.0.approval.require',
        message: 'require: 3 needs 3 different approvers, but only 2 people hold "security"',
        hint: 'add members to the roles under "roles", or lower "require" to 2',
      },
    ]);
  });

  it('refuses roles nobody holds', () => {
    const empty = head('{ qa: [], security: [sam] }');
    expect(gate('{ roles: [security, qa] }', empty)[0]).toMatchObject({
      path: 'phases.0.steps.0.approval.roles.1',
      message: 'role "qa" has no members: the approval can never be given',
    });
    expect(gate('{ roles: [qa], require: any }', empty)[0]?.message).toBe(
      'nobody holds "qa": the approval can never be given',
    );
  });

  it('needs a different person for each role, unless the policy allows one person several', () => {
    const shared = head('{ qa: [sam], security: [sam], devops: [dana, sam] }');
    expect(gate('{ roles: [devops, qa, security] }', shared)).toEqual([
      {
        path: 'phases.0.steps.0.approval.roles',
        message: 'roles "qa" and "security" need 2 different approvers, but only 1 person holds them ("sam")',
        hint: 'one person fills one role of a gate (policy.onePersonOneRole): add members, or use require: any',
      },
    ]);
    const relaxed = shared.replace('artifact:', 'policy: { onePersonOneRole: false }\nartifact:');
    expect(gate('{ roles: [devops, qa, security] }', relaxed)).toEqual([]);
  });

  it('leaves gates naming unknown roles to the reference check', () => {
    expect(gate('{ roles: [qa, ops], require: 5 }').map((p) => p.message)).toEqual(['unknown role "ops"']);
  });
});

describe('checklist items', () => {
  const phases = (items: string) => `${BASE}  - id: test
    environments: [staging]
    steps:
      - { id: unit, run: [npm, test] }
      - { id: unit-results, junit: { path: reports/junit.xml } }
  - id: everywhere
    steps:
      - { id: ping, http: { url: 'http://127.0.0.1:8080/' } }
  - id: staging
    environments: [staging]
    steps:
${items}`;

  it('accepts earlier steps of the same phase and of earlier phases that run in the same environments', () => {
    expect(
      problemsOf(
        phases(`      - { id: a, checklist: { item: A, auto: test.unit-results } }
      - { id: b, checklist: { item: B, auto: everywhere.ping } }
      - { id: c, checklist: { item: C, auto: a, role: qa } }
`),
      ),
    ).toEqual([]);
  });

  it('names what exists when the reference is wrong', () => {
    const problems = problemsOf(
      phases(`      - { id: a, checklist: { item: A, auto: unit-results } }
      - { id: b, checklist: { item: B, auto: tst.unit-results } }
      - { id: c, checklist: { item: C, auto: test.unit-result } }
      - { id: d, checklist: { item: D, auto: d } }
      - { id: e, checklist: { item: E, auto: later } }
      - { id: later, checklist: { item: F, role: qa } }
      - { id: g, checklist: { item: G, auto: evrywhere.ping } }
`),
    );
    expect(problems).toEqual([
      {
        path: 'phases.2.steps.0.checklist.auto',
        message: '"auto" names no step: phase "staging" has no step "unit-results"',
        hint: 'a step of another phase is named with its phase: auto: test.unit-results',
      },
      {
        path: 'phases.2.steps.1.checklist.auto',
        message: '"auto" names an unknown phase "tst"',
        hint: 'did you mean "test.unit-results"?',
      },
      {
        path: 'phases.2.steps.2.checklist.auto',
        message: '"auto" names no step: phase "test" has no step "unit-result"',
        hint: 'did you mean "test.unit-results"?',
      },
      {
        path: 'phases.2.steps.3.checklist.auto',
        message: '"auto" must name an earlier step: "d" is this item itself',
        hint: 'move the item after "d", or name a step before it: test.unit, test.unit-results, everywhere.ping, a, b, c',
      },
      {
        path: 'phases.2.steps.4.checklist.auto',
        message: '"auto" must name an earlier step: "later" comes after this item',
        hint: 'move the item after "later", or name a step before it: test.unit, test.unit-results, everywhere.ping, a, b, c, d',
      },
      {
        path: 'phases.2.steps.6.checklist.auto',
        message: '"auto" names an unknown phase "evrywhere"',
        hint: 'did you mean "everywhere.ping"?',
      },
    ]);
  });

  it('refuses a step of a later phase, or one that does not run where the item does', () => {
    const problems = problemsOf(`${BASE}  - id: plan
    steps:
      - { id: tested, checklist: { item: Tested, auto: test.unit } }
      - { id: smoked, checklist: { item: Smoke, auto: staging.smoke } }
  - id: test
    steps:
      - { id: unit, run: [npm, test] }
  - id: staging
    environments: [staging]
    steps:
      - { id: smoke, http: { url: 'http://127.0.0.1:8080/' } }
  - id: production
    steps:
      - { id: deployed, checklist: { item: Staging deployed, auto: staging.smoke } }
`);
    expect(problems.map((p) => p.message)).toEqual([
      '"auto" must name an earlier step: phase "test" runs after phase "plan"',
      '"auto" must name an earlier step: phase "staging" runs after phase "plan"',
      '"auto" names staging.smoke, which does not run in environment "production", where this item does',
    ]);
    expect(problems[2]?.hint).toBe(
      'phase "staging" runs only in staging: put the item in a phase that runs there, or name a step that runs in production',
    );
  });

  it('needs a role or auto', () => {
    expect(problemsOf(`${BASE}  - id: a\n    steps:\n      - { id: x, checklist: { item: X } }\n`)).toEqual([
      {
        path: 'phases.0.steps.0.checklist',
        message: 'a checklist item needs a "role" to tick it, or "auto" to tick it automatically',
        hint: 'add role: <role> for a manual item, or auto: <step id> to tick it when an earlier step succeeds',
      },
    ]);
  });
});
