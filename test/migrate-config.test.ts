/** The migrate and integrity steps in slipway.yaml: compiled defaults, and bad input named with file:line:col. */

import { describe, expect, it } from 'vitest';
import { compileProcess } from '../src/config/load-process.js';
import { ConfigError } from '../src/core/errors.js';
import type { IntegrityStep, MigrateStep } from '../src/core/process.js';

const FILE = '/srv/app/slipway.yaml';

function yaml(steps: string, extra = ''): string {
  return `version: 1
app: notes
artifact: { path: 'dist/{{ release }}.tar.gz' }
environments:
  prod:
    target: { root: /srv/notes }
    secrets: { DB_PASSWORD: { env: DB_PASSWORD } }
${extra}
phases:
  - id: deploy
    steps:
${steps}
`;
}

const CAPTURE = `      - id: before
        integrity:
          capture:
            database: { sqlite: '{{ target.shared }}/notes.db' }
            checks:
              - { id: notes-kept, query: 'SELECT count(*) FROM notes', expect: noDrop }
              - { id: sane, query: 'SELECT count(*) FROM notes', expect: { max: 1000 } }
`;

function problems(text: string): string[] {
  try {
    compileProcess(text, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('migrate and integrity config', () => {
  it('compiles with documented defaults; verify copies its capture step', () => {
    const process = compileProcess(
      yaml(`      - id: migrate
        migrate:
          database: { postgres: { url: 'postgres://notes@db:5432/notes', password: '{{ secrets.DB_PASSWORD }}' } }
${CAPTURE}      - id: after
        integrity: { verify: before }
`),
      FILE,
    );
    const [migrate, capture, verify] = process.phases[0]?.steps ?? [];
    expect(migrate).toMatchObject({
      kind: 'migrate',
      dir: 'migrations',
      lockTimeoutMs: 60_000,
      timeoutMs: 30 * 60_000,
      idempotent: true,
      database: {
        kind: 'postgres',
        url: 'postgres://notes@db:5432/notes',
        password: '{{ secrets.DB_PASSWORD }}',
      },
    } satisfies Partial<MigrateStep>);
    expect(capture).toMatchObject({ kind: 'integrity', mode: 'capture' });
    expect(verify).toMatchObject({
      kind: 'integrity',
      mode: 'verify',
      capture: { phase: 'deploy', step: 'before' },
      database: { kind: 'sqlite', path: '{{ target.shared }}/notes.db' },
      checks: [
        { id: 'notes-kept', query: 'SELECT count(*) FROM notes', expect: { kind: 'noDrop' } },
        { id: 'sane', query: 'SELECT count(*) FROM notes', expect: { kind: 'range', max: 1000 } },
      ],
    } satisfies Partial<IntegrityStep>);
  });

  it('verify must name an earlier capture step', () => {
    expect(problems(yaml(`      - id: after\n        integrity: { verify: before }\n${CAPTURE}`))).toEqual([
      expect.stringMatching(
        /^\/srv\/app\/slipway\.yaml:13:30 phases\.0\.steps\.0\.integrity\.verify: "verify" must name an integrity capture step before it, found "before" \(add an integrity step/,
      ),
    ]);
    const notCapture = problems(
      yaml(
        `      - id: migrate\n        migrate: { database: { sqlite: a.db } }\n      - id: after\n        integrity: { verify: migrate }`,
      ),
    );
    expect(notCapture[0]).toContain('"verify" names deploy.migrate, which is not an integrity capture step');
  });

  it('refuses a password in a database URL and a secret anywhere but the password', () => {
    const inUrl = problems(
      yaml(
        `      - id: migrate\n        migrate: { database: { postgres: { url: 'postgres://notes:hunter2@db/notes' } } }`,
      ),
    );
    expect(inUrl.join('\n')).toMatch(
      /:13:\d+ .*url: expected a postgres:\/\/ or postgresql:\/\/ URL without a password/,
    );
    // The password written into the URL is not echoed back.
    expect(inUrl.join('\n')).toContain('found "postgres://notes:***@db/notes"');
    expect(inUrl.join('\n')).not.toContain('hunter2');
    const secretUrl = problems(
      yaml(
        `      - id: migrate\n        migrate: { database: { postgres: { url: 'postgres://{{ secrets.DB_PASSWORD }}@db/notes' } } }`,
      ),
    );
    expect(secretUrl.join('\n')).toContain('"{{ secrets.DB_PASSWORD }}" may not be used in a URL');
  });

  it('refuses duplicate check ids, unknown expectations and a migrations folder outside the release', () => {
    const dup = problems(yaml(CAPTURE.replace('id: sane', 'id: notes-kept')));
    expect(dup.join('\n')).toMatch(/:18:23 .*checks\.1\.id: duplicate check id "notes-kept"/);
    const expectBad = problems(yaml(CAPTURE.replace('expect: noDrop', 'expect: nodrop')));
    expect(expectBad.join('\n')).toContain('expected noDrop, unchanged, empty, or { min, max }');
    const dir = problems(
      yaml(`      - id: migrate\n        migrate: { database: { sqlite: a.db }, dir: ../sql }`),
    );
    expect(dir.join('\n')).toContain('a folder inside the release: relative, without ".."');
  });
});
