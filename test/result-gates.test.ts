/** Result gates (junit, sarif, npm-audit, benchmark, coverage) on reports real tools wrote, and on broken ones. */

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SlipwayError } from '../src/core/errors.js';
import type { Target } from '../src/core/ports.js';
import type {
  AllowEntry,
  BenchmarkStep,
  CoverageStep,
  EnvironmentSpec,
  JunitStep,
  NpmAuditStep,
  Process,
  SarifStep,
  StepSpec,
} from '../src/core/process.js';
import { executorFor } from '../src/steps/registry.js';
import { findFiles } from '../src/steps/results/find-files.js';
import { judgeNpmAudit, parseNpmAuditReport } from '../src/steps/results/npm-audit-report.js';
import { judgeSarif, parseSarifLog } from '../src/steps/results/sarif-log.js';
import type { StepOutcome, StepRuntime } from '../src/steps/step-executor.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIXTURES = path.join(ROOT, 'test/fixtures/results');
const AUDIT_PROJECT = path.join(FIXTURES, 'npm-audit-project');
const DAY = 86_400_000;

const work = await mkdtemp(path.join(tmpdir(), 'slipway-result-gates-'));
afterAll(() => rm(work, { recursive: true, force: true }));

// ─────────────── real tools, run once for the whole file (in parallel: the file stays well under 20 s) ───────────────

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Ran> {
  // The child must not think it runs inside this vitest worker.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 60_000, maxBuffer: 32 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function vitestJunit(): Promise<{ ran: Ran; xml: string }> {
  const out = path.join(work, 'vitest-junit.xml');
  const ran = await run(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--root',
      path.join(FIXTURES, 'vitest-project'),
      '--reporter=junit',
      `--outputFile=${out}`,
    ],
    ROOT,
  );
  return { ran, xml: await readFile(out, 'utf8') };
}

async function nodeTestReports(): Promise<{ ran: Ran; junit: string; lcov: string }> {
  const junit = path.join(work, 'node-junit.xml');
  const lcov = path.join(work, 'node-lcov.info');
  const ran = await run(
    process.execPath,
    [
      '--test',
      '--experimental-test-coverage',
      '--test-reporter=junit',
      `--test-reporter-destination=${junit}`,
      '--test-reporter=lcov',
      `--test-reporter-destination=${lcov}`,
      'pricing.fixture.mjs',
    ],
    path.join(FIXTURES, 'node-project'),
  );
  return { ran, junit: await readFile(junit, 'utf8'), lcov: await readFile(lcov, 'utf8') };
}

/** `npm audit --json` against the configured registry; `reason` says why there is no report when there is none. */
async function liveNpmAudit(): Promise<{ report: string | null; reason: string }> {
  const ran = await run(
    'npm',
    ['audit', '--json', '--fetch-retries=0', '--fetch-timeout=8000'],
    AUDIT_PROJECT,
  );
  try {
    const doc = JSON.parse(ran.stdout) as { auditReportVersion?: number; message?: string; error?: unknown };
    if (doc.auditReportVersion === 2) return { report: ran.stdout, reason: '' };
    return { report: null, reason: doc.message ?? JSON.stringify(doc.error ?? doc).slice(0, 200) };
  } catch {
    return { report: null, reason: (ran.stderr.trim().split('\n')[0] ?? '') || `exit ${ran.code}` };
  }
}

/** Real npm, hermetic data: a local registry serving the bulk advisory endpoint and trimmed packuments. */
async function npmAuditAgainstLocalAdvisories(): Promise<{ ran: Ran; requests: string[] }> {
  const data = JSON.parse(await readFile(path.join(AUDIT_PROJECT, 'advisory-registry.json'), 'utf8')) as {
    advisories: unknown;
    packuments: Record<string, unknown>;
  };
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url?.endsWith('/-/npm/v1/security/advisories/bulk')) {
        res.end(JSON.stringify(data.advisories));
        return;
      }
      const packument = data.packuments[decodeURIComponent((req.url ?? '/').slice(1))];
      res.statusCode = packument ? 200 : 404;
      res.end(JSON.stringify(packument ?? { error: 'not found' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const ran = await run(
      'npm',
      [
        'audit',
        '--json',
        `--registry=http://127.0.0.1:${port}/`,
        `--cache=${path.join(work, 'npm-cache')}`,
        '--noproxy=127.0.0.1',
        '--fetch-retries=0',
      ],
      AUDIT_PROJECT,
    );
    return { ran, requests };
  } finally {
    server.close();
  }
}

const [vitestRun, nodeRun, liveAudit, localAudit] = await Promise.all([
  vitestJunit(),
  nodeTestReports(),
  liveNpmAudit(),
  npmAuditAgainstLocalAdvisories(),
]);

// ─────────────────────────────── helpers ───────────────────────────────

const BASE = {
  name: 'gate',
  timeoutMs: 600_000,
  retry: { count: 0, delayMs: 1000, maxDelayMs: 30_000 },
  idempotent: true,
} as const;

const junit = (p: Partial<JunitStep> & { path: string }): JunitStep => ({
  ...BASE,
  id: 'unit-tests',
  kind: 'junit',
  maxFailures: 0,
  minTests: 1,
  ...p,
});
const sarif = (p: Partial<SarifStep> & { path: string }): SarifStep => ({
  ...BASE,
  id: 'lint',
  kind: 'sarif',
  max: { error: 0 },
  allow: [],
  ...p,
});
const npmAudit = (p: Partial<NpmAuditStep> & { path: string }): NpmAuditStep => ({
  ...BASE,
  id: 'audit',
  kind: 'npm-audit',
  max: { critical: 0, high: 0 },
  allow: [],
  ...p,
});
const benchmark = (p: Partial<BenchmarkStep> & { path: string }): BenchmarkStep => ({
  ...BASE,
  id: 'bench',
  kind: 'benchmark',
  better: 'smaller',
  threshold: 0.2,
  ...p,
});
const coverage = (p: Partial<CoverageStep> & { path: string }): CoverageStep => ({
  ...BASE,
  id: 'coverage',
  kind: 'coverage',
  minLines: 80,
  ...p,
});

interface Gate {
  readonly rt: StepRuntime;
  readonly dir: string;
  /** Everything the step printed. */
  output(): string;
}

let dirs = 0;

/** A fresh folder (the process file's folder) holding `files`, and a StepRuntime like the engine's `runtimeFor` builds. */
async function gate(files: Record<string, string>, baseline?: Record<string, unknown>): Promise<Gate> {
  const dir = path.join(work, `case-${++dirs}`);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  const chunks: string[] = [];
  const rt: StepRuntime = {
    process: { file: path.join(dir, 'slipway.yaml'), baseDir: dir } as unknown as Process,
    environment: { name: 'staging' } as unknown as EnvironmentSpec,
    deploymentId: 7,
    release: '1.4.0',
    artifact: { path: path.join(dir, 'app.tar.gz'), sha256: '0'.repeat(64) },
    target: {} as Target,
    releaseName: '1.4.0-d7',
    previousGoodRelease: null,
    scope: {
      app: 'shop',
      env: 'staging',
      release: '1.4.0',
      deployment: { id: '7' },
      vars: { REPORTS: 'reports' },
      secrets: { TOKEN: 'not-for-paths' },
      target: {
        root: '/srv/shop',
        current: '/srv/shop/current',
        shared: '/srv/shop/shared',
        release: '/srv/shop/r',
      },
    },
    commandEnv: {},
    facts: {},
    restartFollows: false,
    signal: new AbortController().signal,
    timeoutMs: 600_000,
    output: (chunk) => chunks.push(chunk),
    redact: (text) => text,
    baseline: async () => baseline,
  };
  return { rt, dir, output: () => chunks.join('') };
}

/** Runs the step through the registry, as the engine does. */
function execute(step: StepSpec, g: Gate): Promise<StepOutcome> {
  return executorFor(step).execute(step, g.rt);
}

async function failure(promise: Promise<unknown>): Promise<SlipwayError> {
  const settled = await promise.then(
    () => 'passed',
    (e: unknown) => e,
  );
  expect(settled, 'the gate should have failed').toBeInstanceOf(SlipwayError);
  const error = settled as SlipwayError;
  expect(error.code).toBe('SLW_STEP_FAILED');
  return error;
}

const fixture = (name: string): Promise<string> => readFile(path.join(FIXTURES, name), 'utf8');
const allowUntil = (id: string, untilMs: number, reason: string): AllowEntry => ({ id, untilMs, reason });

// ─────────────────────────────── junit ───────────────────────────────

describe('junit gate', () => {
  it('judges the JUnit report vitest itself just wrote (2 passed, 1 failed, 1 skipped)', async () => {
    expect(vitestRun.ran.code).toBe(1); // the fixture has a failing test on purpose
    const g = await gate({ 'reports/vitest-staging.xml': vitestRun.xml });
    // The path is a template: rendered with the public scope.
    const step = junit({ path: '{{ vars.REPORTS }}/vitest-{{ env }}.xml' });

    const e = await failure(execute(step, g));
    expect(e.message).toContain('reports/vitest-staging.xml: 1 failed (maximum 0)');
    expect(e.message).toContain(
      'cart.fixture.ts › cart > rounds to cents — expected 0.30000000000000004 to be 0.3 // Object.is equality',
    );
    expect(e.details).toMatchObject({ tests: 4, failures: 1, errors: 0, skipped: 1 });
    expect(g.output()).toMatch(/reports\/vitest-staging\.xml\s+4\s+1\s+0\s+1/);

    const passed = await execute(junit({ path: step.path, maxFailures: 1 }), g);
    expect(passed.summary).toBe('4 tests, 1 failed, 1 skipped');
    expect(passed.details).toMatchObject({ tests: 4, failures: 1, skipped: 1 });
  });

  it('applies minTests and maxSkipped, naming the threshold', async () => {
    const g = await gate({ 'junit.xml': vitestRun.xml });
    const few = await failure(execute(junit({ path: 'junit.xml', maxFailures: 1, minTests: 5 }), g));
    expect(few.message).toContain('junit.xml: 4 tests (minimum 5)');
    const skips = await failure(execute(junit({ path: 'junit.xml', maxFailures: 1, maxSkipped: 0 }), g));
    expect(skips.message).toContain('junit.xml: 1 skipped (maximum 0)');
  });

  it("judges node --test's own JUnit output (tests outside suites, todo counted as skipped)", async () => {
    expect(nodeRun.ran.code).toBe(1);
    const g = await gate({ 'node.xml': nodeRun.junit });
    const e = await failure(execute(junit({ path: 'node.xml' }), g));
    expect(e.message).toContain('node.xml: 1 failed (maximum 0) — 5 tests, 1 failed, 2 skipped');
    expect(e.message).toContain('pricing › never goes below zero — Expected values to be strictly equal');
  });

  it.each([
    // name, file, summary, a failing test as listed
    [
      'jest-junit (saved real)',
      'jest-junit.xml',
      '5 tests, 2 failed, 1 skipped',
      'cart › throws on a negative quantity — TypeError: quantity must be >= 0',
    ],
    [
      'pytest --junitxml (saved real)',
      'pytest-junit.xml',
      '4 tests, 2 failed (1 error), 1 skipped',
      'test_inventory › test_uses_database [error] — failed on setup with "RuntimeError: database not reachable"',
    ],
    [
      'Maven Surefire (hand-made: flaky tests pass)',
      'surefire-hand-made.xml',
      '6 tests, 2 failed (1 error), 1 skipped',
      'com.example.orders.OrderServiceTest › rejectsEmptyCart — expected: <400> but was: <200>',
    ],
  ])('reads %s', async (_name, file, summary, listed) => {
    const g = await gate({ [file]: await fixture(file) });
    const e = await failure(execute(junit({ path: file }), g));
    expect(e.message).toContain(summary);
    expect(e.message).toContain(listed);
    const passed = await execute(junit({ path: file, maxFailures: 2 }), g);
    expect(passed.summary).toBe(summary);
  });

  it('adds up every report a glob matches, naming the file of each failing test', async () => {
    const g = await gate({
      'reports/web/junit.xml': vitestRun.xml,
      'reports/api/junit.xml': nodeRun.junit,
      'reports/api/notes.txt': 'not a report',
    });
    const e = await failure(execute(junit({ path: 'reports/**/*.xml' }), g));
    expect(e.message).toContain(
      'reports/**/*.xml (2 files): 2 failed (maximum 0) — 9 tests, 2 failed, 3 skipped in 2 files',
    );
    expect(e.message).toContain('reports/api/junit.xml: pricing › never goes below zero');
    expect(e.message).toContain('reports/web/junit.xml: cart.fixture.ts › cart > rounds to cents');
    expect(e.details).toMatchObject({ files: ['reports/api/junit.xml', 'reports/web/junit.xml'], tests: 9 });
  });

  it('lists at most 10 failing tests, then "… and N more"', async () => {
    const cases = Array.from(
      { length: 15 },
      (_, i) => `<testcase name="case ${i + 1}"><failure message="boom ${i + 1}"/></testcase>`,
    ).join('');
    const g = await gate({
      'many.xml': `<testsuites><testsuite name="load">${cases}</testsuite></testsuites>`,
    });
    const e = await failure(execute(junit({ path: 'many.xml' }), g));
    expect(e.message).toContain('load › case 10 — boom 10');
    expect(e.message).not.toContain('case 11 ');
    expect(e.message).toContain('… and 5 more');
  });

  it('fails closed on a report that counts failures it does not list', async () => {
    const g = await gate({
      'odd.xml': '<testsuite name="s" tests="3" failures="2"><testcase name="a"/></testsuite>',
    });
    const e = await failure(execute(junit({ path: 'odd.xml' }), g));
    expect(e.message).toContain('2 failed (maximum 0)');
    expect(e.message).toContain('the report counts as failed without a <testcase>');
  });

  it('names a missing report and the step that should have written it', async () => {
    const g = await gate({});
    const missing = await failure(execute(junit({ path: 'reports/junit.xml' }), g));
    expect(missing.message).toBe('reports/junit.xml does not exist (read by step "unit-tests")');
    expect(missing.hint).toContain('did the step that writes it run?');
    expect(missing.hint).toContain('vitest run --reporter=junit --outputFile=reports/junit.xml');
    const none = await failure(execute(junit({ path: 'reports/**/*.xml' }), g));
    expect(none.message).toMatch(/^no file matches reports\/\*\*\/\*\.xml/);
  });
});

describe('findFiles (Node 20 has no fs.glob)', () => {
  it('expands *, ? and ** like a shell, without dot folders, sorted', async () => {
    const g = await gate({
      'a/b/c.xml': '',
      'a/x.xml': '',
      'a/x.txt': '',
      'z.xml': '',
      '.cache/y.xml': '',
      'a/.hidden.xml': '',
    });
    const rel = async (p: string) => (await findFiles(p, g.dir)).map((f) => path.relative(g.dir, f));
    expect(await rel('**/*.xml')).toEqual(['a/b/c.xml', 'a/x.xml', 'z.xml']);
    expect(await rel('a/*.xml')).toEqual(['a/x.xml']);
    expect(await rel('a/**')).toEqual(['a/b/c.xml', 'a/x.txt', 'a/x.xml']);
    expect(await rel('?/x.*')).toEqual(['a/x.txt', 'a/x.xml']);
    expect(await rel('a/.*.xml')).toEqual(['a/.hidden.xml']);
    expect(await rel('a/x.xml')).toEqual(['a/x.xml']);
    expect(await rel('nope/**/*.xml')).toEqual([]);
    expect(await findFiles(path.join(g.dir, 'a/*/c.xml'), '/elsewhere')).toEqual([
      path.join(g.dir, 'a/b/c.xml'),
    ]);
  });
});

// ─────────────────────────────── sarif ───────────────────────────────

describe('sarif gate', () => {
  it('judges a real ESLint SARIF log: errors over the maximum fail; suppressed results do not count', async () => {
    const g = await gate({ 'eslint.sarif': await fixture('eslint.sarif') });
    const e = await failure(execute(sarif({ path: 'eslint.sarif' }), g));
    expect(e.message).toContain('eslint.sarif: 3 error findings (maximum 0)');
    expect(e.message).toContain('error no-eval /tmp/gen-sarif/src/legacy.js:7 eval can be harmful.');
    expect(e.message).toContain(
      "error no-undef /tmp/gen-sarif/src/orders.js:15 'lookupCustomer' is not defined.",
    );
    expect(e.message).not.toContain('legacy.js:3'); // eslint-disable-next-line → suppressed
    expect(e.message).not.toContain('eqeqeq'); // warnings are not limited by default
    expect(e.details).toMatchObject({
      counts: { error: 3, warning: 3, note: 0 },
      suppressed: 1,
      tools: ['ESLint'],
    });
    expect(g.output()).toContain('1 suppressed in source (not counted)');

    const ok = await execute(sarif({ path: 'eslint.sarif', max: { error: 3, warning: 3 } }), g);
    expect(ok.summary).toBe('error 3/3, warning 3/3, note 0 [ESLint]');
  });

  it('allow-list: a live entry excuses (and is listed), an expired one does not (and says so)', async () => {
    const g = await gate({ 'eslint.sarif': await fixture('eslint.sarif') });
    const now = Date.now();
    const allow = [
      allowUntil('no-undef', now + 30 * DAY, 'lookupCustomer is injected by the host page'),
      allowUntil('NO-EVAL', now + 30 * DAY, 'legacy parser, replaced in Q3'),
      allowUntil('no-unused-vars', now - DAY, 'was cleaned up in the last sprint'),
      allowUntil('no-debugger', now + 30 * DAY, 'nothing matches this'),
    ];
    const e = await failure(execute(sarif({ path: 'eslint.sarif', allow }), g));
    expect(e.message).toContain('eslint.sarif: 1 error finding (maximum 0)');
    expect(e.message).toMatch(
      /error no-unused-vars .*orders\.js:14 'unused' is assigned a value but never used\. — allow-list entry expired after \d{4}-\d\d-\d\dT\d\d:\d\dZ \(was cleaned up in the last sprint\)/,
    );
    expect(e.message).not.toContain('lookupCustomer');
    expect(g.output()).toMatch(
      /allowed: error no-undef .* — allowed through \S+ \(lookupCustomer is injected by the host page\)/,
    );
    expect(g.output()).toContain('allow-list entry "no-debugger"');
    expect(g.output()).toContain('matched no finding');
    expect(e.details).toMatchObject({ unusedAllow: ['no-debugger'] });

    const ok = await execute(sarif({ path: 'eslint.sarif', allow, max: { error: 1 } }), g);
    expect(ok.summary).toBe('error 1/1, warning 3, note 0 (2 allowed) [ESLint]');
  });

  it('expiry is judged with the injected clock, on either side of the date', async () => {
    const log = parseSarifLog(await fixture('eslint.sarif'), 'eslint.sarif');
    const allow = [allowUntil('no-undef', Date.parse('2026-01-01T00:00:00Z'), 'generated globals')];
    const before = judgeSarif(log, {
      max: { error: 0 },
      allow,
      now: () => Date.parse('2025-12-31T23:59:59Z'),
    });
    const after = judgeSarif(log, {
      max: { error: 0 },
      allow,
      now: () => Date.parse('2026-01-01T00:00:01Z'),
    });
    expect(before.counts.error).toBe(2);
    expect(before.allowed.map((f) => f.id)).toEqual(['no-undef']);
    expect(after.counts.error).toBe(3);
    expect(after.counted.find((f) => f.id === 'no-undef')?.decision).toMatchObject({ kind: 'expired' });
  });

  it('follows the SARIF 2.1.0 defaults (hand-made log): rule default level, warning, kind, suppression status', () => {
    const log = JSON.stringify({
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'CodeScanner',
              rules: [
                { id: 'sql/injection', defaultConfiguration: { level: 'error' } },
                { id: 'style/naming', defaultConfiguration: { level: 'note' } },
              ],
            },
          },
          artifacts: [{ location: { uri: 'src/db.ts' } }],
          results: [
            // No level: the rule's default (by index), located through the artifacts table.
            {
              ruleId: 'sql/injection',
              ruleIndex: 0,
              message: { text: 'Query built from user input.\nMore text.' },
              locations: [
                { physicalLocation: { artifactLocation: { index: 0 }, region: { startLine: 12 } } },
              ],
            },
            { ruleId: 'style/naming', message: { text: 'Name it better.' } }, // default by id: note
            { ruleId: 'unknown/rule', message: { text: 'No rule metadata.' } }, // spec default: warning
            { ruleId: 'sql/injection', kind: 'pass', message: { text: 'Checked.' } }, // level none: not counted
            {
              ruleId: 'sql/injection/variant',
              level: 'error',
              message: { text: 'Under review, so it counts.' },
              suppressions: [{ kind: 'external', status: 'underReview' }],
            },
          ],
        },
      ],
    });
    const parsed = parseSarifLog(log, 'scan.sarif');
    expect(parsed.results.map((r) => [r.ruleId, r.level, r.location])).toEqual([
      ['sql/injection', 'error', 'src/db.ts:12'],
      ['style/naming', 'note', null],
      ['unknown/rule', 'warning', null],
      ['sql/injection', 'none', null],
      ['sql/injection/variant', 'error', null],
    ]);
    const verdict = judgeSarif(parsed, {
      max: { error: 0 },
      allow: [allowUntil('sql/injection', Date.now() + DAY, 'parameterised in the ORM')],
    });
    // A hierarchical rule id ("sql/injection/variant") is covered by an entry for its parent.
    expect(verdict.counts).toEqual({ error: 0, warning: 1, note: 1 });
    expect(verdict.allowed).toHaveLength(2);
    expect(verdict.informational).toBe(1);
    expect(verdict.passed).toBe(true);
  });

  it('fails closed when a run did not complete (results null, executionSuccessful false)', async () => {
    const log = {
      version: '2.1.0',
      runs: [
        { tool: { driver: { name: 'Semgrep' } }, results: null },
        { tool: { driver: { name: 'CodeQL' } }, invocations: [{ executionSuccessful: false }], results: [] },
      ],
    };
    const g = await gate({ 'scan.sarif': JSON.stringify(log) });
    const e = await failure(execute(sarif({ path: 'scan.sarif' }), g));
    expect(e.message).toContain('scan.sarif: the analysis did not complete');
    expect(e.message).toContain('Semgrep: the run has no results');
    expect(e.message).toContain('CodeQL: the tool reports executionSuccessful: false');
  });
});

// ─────────────────────────────── npm audit ───────────────────────────────

const savedAudit = await readFile(path.join(AUDIT_PROJECT, 'npm-audit.saved.json'), 'utf8');
const auditTitle = liveAudit.report
  ? 'judges `npm audit --json` of the fixture project, live from the registry'
  : `judges \`npm audit --json\` of the fixture project: the registry's audit endpoint gave no report (${liveAudit.reason}), so the saved real output npm-audit.saved.json stands in`;

describe('npm-audit gate', () => {
  it(auditTitle, async () => {
    if (!liveAudit.report)
      console.info(`npm-audit gate: live audit unavailable: ${liveAudit.reason}; using saved output`);
    const g = await gate({ 'audit.json': liveAudit.report ?? savedAudit });
    const e = await failure(execute(npmAudit({ path: 'audit.json' }), g));
    // lodash 4.17.20 and minimist 0.0.8 (through mkdirp 0.5.1) have high and critical advisories.
    expect(e.message).toMatch(/^audit\.json: \d+ critical vulnerable packages \(maximum 0\)/);
    expect(e.message).toContain('minimist: GHSA-');
    expect(e.message).toContain('mkdirp (direct): via minimist');
    expect(e.message).toContain('lodash (direct): GHSA-');
    expect(e.hint).toContain('npm audit fix');
  });

  it('judges real npm output made against a local advisory endpoint, counting packages as npm does', async () => {
    expect(localAudit.requests).toContain('POST /-/npm/v1/security/advisories/bulk');
    const doc = JSON.parse(localAudit.ran.stdout) as { auditReportVersion: number };
    expect(doc.auditReportVersion).toBe(2);
    // The saved fallback is exactly what npm produces from the same data.
    const summary = (text: string) =>
      parseNpmAuditReport(text, 'x').vulnerabilities.map((v) => [
        v.name,
        v.severity,
        v.advisories.map((a) => a.id),
        v.via,
      ]);
    expect(summary(localAudit.ran.stdout)).toEqual(summary(savedAudit));

    const g = await gate({ 'audit.json': localAudit.ran.stdout });
    const e = await failure(execute(npmAudit({ path: 'audit.json' }), g));
    expect(e.message).toBe(
      [
        'audit.json: 2 critical vulnerable packages (maximum 0), 1 high vulnerable package (maximum 0)',
        '  - critical minimist: GHSA-xvch-5gv4-984h Prototype Pollution in minimist (+1 more); fix mkdirp@0.5.6',
        '  - critical mkdirp (direct): via minimist; fix mkdirp@0.5.6',
        '  - high lodash (direct): GHSA-35jh-r3h4-6jhm Command Injection in lodash (+1 more); fix lodash@4.17.21',
      ].join('\n'),
    );
    // Same numbers as npm's own metadata.
    expect(e.details?.counts).toEqual(e.details?.npmCounts);
    expect(g.output()).toMatch(/critical\s+2\s+0\s+0/);
  });

  it('allow-list by GHSA id or package name; an expired entry counts again, with its reason', async () => {
    const g = await gate({ 'audit.json': savedAudit });
    const now = Date.now();
    const allow = [
      allowUntil('ghsa-xvch-5gv4-984h', now + 14 * DAY, 'minimist only parses our own build flags'),
      allowUntil('GHSA-vh95-rmgr-6w4m', now - DAY, 'temporary, until the mkdirp bump'),
      allowUntil('lodash', now + 14 * DAY, 'template() never sees user input'),
    ];
    // The critical advisory is excused, so minimist (and mkdirp, vulnerable only through it) drop to moderate.
    const ok = await execute(npmAudit({ path: 'audit.json', allow }), g);
    expect(ok.summary).toBe('critical 0/0, high 0/0, moderate 2, low 0, info 0 (1 allowed)');
    expect(g.output()).toMatch(
      /allowed: high lodash .* — allowed through \S+ \(template\(\) never sees user input\)/,
    );

    const e = await failure(execute(npmAudit({ path: 'audit.json', allow, max: { moderate: 0 } }), g));
    expect(e.message).toContain('2 moderate vulnerable packages (maximum 0)');
    expect(e.message).toMatch(
      /moderate minimist: GHSA-vh95-rmgr-6w4m Prototype Pollution in minimist; fix mkdirp@0\.5\.6 — allow-list entry expired after \S+ \(temporary, until the mkdirp bump\)/,
    );
    expect(e.message).toMatch(/moderate mkdirp \(direct\): via minimist.* — allow-list entry expired/);
  });

  it('excusing the dependency clears the package vulnerable only through it (injected clock)', () => {
    const report = parseNpmAuditReport(savedAudit, 'audit.json');
    const allow = [allowUntil('minimist', Date.parse('2026-06-30T00:00:00Z'), 'build-time only')];
    const during = judgeNpmAudit(report, { max: {}, allow, now: () => Date.parse('2026-06-01T00:00:00Z') });
    expect(during.allowed.map((f) => f.id)).toEqual(['minimist', 'mkdirp']);
    expect(during.counts).toMatchObject({ critical: 0, high: 1 });
    const after = judgeNpmAudit(report, { max: {}, allow, now: () => Date.parse('2026-07-01T00:00:00Z') });
    expect(after.counts).toMatchObject({ critical: 2, high: 1 });
    expect(after.counted.map((f) => f.decision.kind)).toEqual(['expired', 'expired', 'none']);
  });
});

// ─────────────────────────────── benchmark ───────────────────────────────

describe('benchmark gate', () => {
  const hyperfine = fixture('hyperfine.json');
  const means = async () =>
    Object.fromEntries(
      (JSON.parse(await hyperfine) as { results: { command: string; mean: number }[] }).results.map((r) => [
        r.command,
        r.mean,
      ]),
    );

  it('passes without a baseline and records one; the recorded details are the next baseline', async () => {
    const first = await gate({ 'bench.json': await hyperfine });
    const recorded = await execute(benchmark({ path: 'bench.json' }), first);
    expect(recorded.summary).toBe('2 metrics, no baseline yet: baseline recorded');
    expect(first.output()).toContain('baseline recorded');
    expect(recorded.details?.values).toEqual(await means());
    expect(recorded.details?.units).toEqual({ 'node-startup': 's', 'gzip-1MiB': 's' });

    const second = await gate({ 'bench.json': await hyperfine }, recorded.details);
    const compared = await execute(benchmark({ path: 'bench.json' }), second);
    expect(compared.summary).toMatch(/^2 metrics within 20% of the baseline \(worst: \S+ \+0\.0%\)$/);
  });

  it('fails just over 20% worse and passes just under (smaller is better, hyperfine seconds)', async () => {
    const m = await means();
    const startup = m['node-startup'] as number;
    const under = await gate(
      { 'bench.json': await hyperfine },
      { values: { ...m, 'node-startup': startup / 1.199 } },
    );
    const ok = await execute(benchmark({ path: 'bench.json' }), under);
    expect(ok.summary).toContain('(worst: node-startup +19.9%)');

    const over = await gate(
      { 'bench.json': await hyperfine },
      { values: { ...m, 'node-startup': startup / 1.201 } },
    );
    const e = await failure(execute(benchmark({ path: 'bench.json' }), over));
    expect(e.message).toMatch(
      /^bench\.json: 1 metric worse than the baseline by more than 20% \(smaller is better\):\n {2}- node-startup: [\d.]+ s → [\d.]+ s \(\+20\.1%\)$/,
    );
    // A failed run keeps its numbers, but only a succeeded deployment's become the baseline.
    expect(e.details?.values).toEqual(m);
  });

  it('counts exactly the threshold as allowed (the seed rule is "more than 20%")', async () => {
    const g = await gate(
      { 'bench.json': JSON.stringify([{ name: 'p95', unit: 'ms', value: 120 }]) },
      { values: { p95: 100 } },
    );
    expect((await execute(benchmark({ path: 'bench.json' }), g)).summary).toContain('p95 +20.0%');
    const strict = await failure(execute(benchmark({ path: 'bench.json', threshold: 0.05 }), g));
    expect(strict.message).toContain('by more than 5%');
  });

  it('bigger is better: a throughput drop beyond the threshold fails, a rise passes', async () => {
    const results = (value: number) => JSON.stringify([{ name: 'orders/s', unit: 'ops/s', value }]);
    const step = benchmark({ path: 'bench.json', better: 'bigger' });
    const dropped = await failure(
      execute(step, await gate({ 'bench.json': results(790) }, { values: { 'orders/s': 1000 } })),
    );
    expect(dropped.message).toContain('(bigger is better)');
    expect(dropped.message).toContain('orders/s: 1000 ops/s → 790 ops/s (-21.0%)');
    const slight = await execute(
      step,
      await gate({ 'bench.json': results(810) }, { values: { 'orders/s': 1000 } }),
    );
    expect(slight.summary).toContain('orders/s -19.0%');
    const g = await gate({ 'bench.json': results(1300) }, { values: { 'orders/s': 1000 } });
    await execute(step, g);
    expect(g.output()).toMatch(/orders\/s\s+1000 ops\/s\s+1300 ops\/s\s+\+30\.0%\s+better/);
  });

  it('mentions a metric the baseline has and the results lack, without failing; new metrics just start', async () => {
    const g = await gate(
      { 'bench.json': await fixture('benchmark-custom-hand-made.json') },
      { values: { 'parse process file': 12, 'render dashboard': 40 }, units: { 'parse process file': 'ms' } },
    );
    const ok = await execute(benchmark({ path: 'bench.json' }), g);
    expect(ok.summary).toBe(
      '3 metrics within 20% of the baseline (worst: parse process file +3.3%), 1 missing from the results',
    );
    expect(g.output()).toContain('"render dashboard" is in the baseline but not in these results');
    expect(g.output()).toMatch(/plan 100 phases\s+-\s+3\.1 ms\s+-\s+new/);
    expect(ok.details?.missing).toEqual(['render dashboard']);
  });

  it('does not compare a metric whose unit changed', async () => {
    const g = await gate(
      { 'bench.json': JSON.stringify([{ name: 'p95', unit: 's', value: 0.2 }]) },
      { values: { p95: 120 }, units: { p95: 'ms' } },
    );
    await execute(benchmark({ path: 'bench.json' }), g);
    expect(g.output()).toContain('unit changed from ms');
  });
});

// ─────────────────────────────── coverage ───────────────────────────────

describe('coverage gate', () => {
  it('judges the lcov node --test --experimental-test-coverage just wrote', async () => {
    const g = await gate({ 'coverage/lcov.info': nodeRun.lcov });
    const ok = await execute(coverage({ path: 'coverage/lcov.info', minLines: 50, minBranches: 50 }), g);
    expect(ok.summary).toMatch(/^lines \d+\.\d\d% \(\d+\/\d+\), branches \d+\.\d\d% \(\d+\/\d+\)$/);
    expect(ok.details).toMatchObject({ format: 'lcov', files: 2 });
    const e = await failure(execute(coverage({ path: 'coverage/lcov.info', minLines: 99.9 }), g));
    expect(e.message).toMatch(
      /^coverage\/lcov\.info: coverage below the minimum: lines \d+\.\d\d% \(\d+\/\d+\) \(minimum 99\.9%\)$/,
    );
  });

  it.each([
    ['Cobertura from c8', 'c8-cobertura.xml', 'cobertura'],
    ['coverage-summary.json from c8', 'c8-coverage-summary.json', 'istanbul-summary'],
  ])('reads %s (saved real): 77.77%% lines, 50%% branches', async (_name, file, format) => {
    const g = await gate({ [file]: await fixture(file) });
    const ok = await execute(coverage({ path: file, minLines: 77, minBranches: 50 }), g);
    expect(ok.summary).toBe('lines 77.77% (14/18), branches 50.00% (4/8)');
    expect(ok.details).toMatchObject({ format });
    expect(g.output()).toMatch(/lines\s+14\s+18\s+77\.77%\s+77%/);
    const e = await failure(execute(coverage({ path: file, minLines: 80, minBranches: 60 }), g));
    expect(e.message).toBe(
      `${file}: coverage below the minimum: lines 77.77% (14/18) (minimum 80%); branches 50.00% (4/8) (minimum 60%)`,
    );
  });

  it('fails closed when branch data is absent but required, or nothing was measured', async () => {
    const noBranches =
      '<?xml version="1.0" ?><coverage line-rate="0.9" branch-rate="0" lines-covered="9" lines-valid="10" branches-covered="0" branches-valid="0" version="7.4"/>';
    const g = await gate({
      'cov.xml': noBranches,
      'empty.info': 'TN:\nSF:a.js\nLF:0\nLH:0\nend_of_record\n',
    });
    expect((await execute(coverage({ path: 'cov.xml' }), g)).summary).toBe(
      'lines 90.00% (9/10), branches n/a',
    );
    const e = await failure(execute(coverage({ path: 'cov.xml', minBranches: 50 }), g));
    expect(e.message).toContain('branches: the report has no branch data');
    const none = await failure(execute(coverage({ path: 'empty.info' }), g));
    expect(none.message).toContain('lines: the report measured no lines (minimum 80%)');
  });

  it('rounds down, so 79.996% is not shown as a passing 80%, and reads Cobertura rates without counts', async () => {
    const g = await gate({
      'lcov.info': 'SF:a.js\nLF:100000\nLH:79996\nend_of_record\n',
      'rates.xml': '<coverage line-rate="0.8512" branch-rate="0.5"></coverage>',
    });
    const e = await failure(execute(coverage({ path: 'lcov.info' }), g));
    expect(e.message).toContain('lines 79.99% (79996/100000) (minimum 80%)');
    expect((await execute(coverage({ path: 'rates.xml' }), g)).summary).toBe('lines 85.12%, branches 50.00%');
  });
});

// ─────────────────────── malformed reports: a clear error, and the gate fails ───────────────────────

const [sarifText, hyperfineText, cobertura, npmError405] = await Promise.all([
  fixture('eslint.sarif'),
  fixture('hyperfine.json'),
  fixture('c8-cobertura.xml'),
  readFile(path.join(AUDIT_PROJECT, 'npm-audit-error-405.json'), 'utf8'),
]);

describe('malformed reports fail the gate closed', () => {
  const vitestXml = vitestRun.xml;
  const lcov = nodeRun.lcov;
  const half = (text: string) => text.slice(0, Math.floor(text.length / 2));
  const npm6 = JSON.stringify({
    actions: [],
    advisories: { '1179': { id: 1179, module_name: 'minimist', severity: 'low' } },
    muted: [],
    metadata: { vulnerabilities: { low: 1 } },
  });

  const cases: [string, StepSpec, string, string][] = [
    ['junit: empty file', junit({ path: 'r' }), '', 'r: not a JUnit XML report: the file is empty'],
    ['junit: truncated XML', junit({ path: 'r' }), half(vitestXml), '(truncated file?)'],
    ['junit: a SARIF log', junit({ path: 'r' }), sarifText, 'it is JSON, not XML; it looks like a SARIF log'],
    [
      'junit: Cobertura XML',
      junit({ path: 'r' }),
      cobertura,
      'the root element is <coverage>, expected <testsuites> or <testsuite>',
    ],
    ['sarif: empty file', sarif({ path: 'r' }), '  \n', 'r: not a SARIF 2.1.0 log: the file is empty'],
    [
      'sarif: truncated JSON',
      sarif({ path: 'r' }),
      half(sarifText),
      'r: not a SARIF 2.1.0 log: invalid JSON (',
    ],
    [
      'sarif: a JUnit report',
      sarif({ path: 'r' }),
      vitestXml,
      'it is XML, not JSON; it looks like a JUnit XML report',
    ],
    [
      'sarif: npm audit output',
      sarif({ path: 'r' }),
      savedAudit,
      'no "version": "2.1.0"; it looks like npm audit output',
    ],
    [
      'sarif: SARIF 2.0',
      sarif({ path: 'r' }),
      '{"version":"2.0.0","runs":[]}',
      'version "2.0.0" is not supported',
    ],
    [
      'npm-audit: empty file',
      npmAudit({ path: 'r' }),
      '',
      'r: not npm audit --json output: the file is empty',
    ],
    ['npm-audit: truncated JSON', npmAudit({ path: 'r' }), half(savedAudit), 'invalid JSON ('],
    [
      'npm-audit: a SARIF log',
      npmAudit({ path: 'r' }),
      sarifText,
      'no "auditReportVersion": 2; it looks like a SARIF log',
    ],
    [
      'npm-audit: npm 6 format',
      npmAudit({ path: 'r' }),
      npm6,
      'this is the npm 6 format (advisories/actions)',
    ],
    [
      'npm-audit: npm could not reach its audit endpoint (saved real error output)',
      npmAudit({ path: 'r' }),
      npmError405,
      'npm audit did not produce a report: 405 Method Not Allowed',
    ],
    [
      'benchmark: empty file',
      benchmark({ path: 'r' }),
      '',
      'r: not a benchmark result file: the file is empty',
    ],
    ['benchmark: truncated hyperfine JSON', benchmark({ path: 'r' }), half(hyperfineText), 'invalid JSON ('],
    ['benchmark: a JUnit report', benchmark({ path: 'r' }), vitestXml, 'it is XML, not JSON'],
    [
      'benchmark: other JSON',
      benchmark({ path: 'r' }),
      sarifText,
      "expected an array of {name, value, unit} or hyperfine's",
    ],
    [
      'benchmark: a value that is not a number',
      benchmark({ path: 'r' }),
      '[{"name":"p95","value":"fast"}]',
      '"p95" is "fast", not a number',
    ],
    [
      'benchmark: a name twice',
      benchmark({ path: 'r' }),
      '[{"name":"a","value":1},{"name":"a","value":2}]',
      'the name "a" appears twice',
    ],
    ['benchmark: no results', benchmark({ path: 'r' }), '{"results":[]}', 'it holds no results'],
    ['coverage: empty file', coverage({ path: 'r' }), '', 'the file is empty'],
    [
      'coverage: lcov cut after a line',
      coverage({ path: 'r' }),
      lcov.slice(0, lcov.indexOf('end_of_record')),
      'has no end_of_record (truncated file?)',
    ],
    ['coverage: truncated Cobertura', coverage({ path: 'r' }), half(cobertura), '(truncated file?)'],
    [
      'coverage: a JUnit report',
      coverage({ path: 'r' }),
      vitestXml,
      "the root element is <testsuites>, not Cobertura's <coverage>",
    ],
    ['coverage: a SARIF log', coverage({ path: 'r' }), sarifText, 'a JSON file without "total.lines"'],
    ['coverage: plain text', coverage({ path: 'r' }), 'all good!\n', 'no lcov records'],
  ];

  it.each(cases)('%s', async (_name, step, text, expected) => {
    const g = await gate({ r: text });
    const e = await failure(execute(step, g));
    expect(e.message).toContain(expected);
    expect(e.message.startsWith('r: ')).toBe(true);
    expect(e.details).toMatchObject({ file: 'r', malformed: true });
  });
});
