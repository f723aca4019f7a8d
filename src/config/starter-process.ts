/** The starter slipway.yaml that `slipway init` writes: the seed's whole deployment process, commented. */

/**
 * Every command, URL and person here is a placeholder to replace; the structure is the seed's
 * "Software Deployment Process". It compiles as is (a unit test makes sure).
 */
export const STARTER_PROCESS = `# slipway.yaml: your deployment process, run by Slipway.
#
# Written by \`slipway init\` from the standard Software Deployment Process: planning, testing,
# staging with UAT sign-off, production in a fixed order inside a maintenance window, validation,
# and automatic rollback.
# Replace the placeholders (user names, commands, URLs, paths), then:
#   slipway validate            check this file (errors come as file:line:col)
#   slipway plan staging        see what a deployment would do, without doing it
#   slipway deploy staging --release 1.0.0
# \`slipway schema\` prints a JSON Schema for completion in your editor.

version: 1
app: my-app

# Roles and their members (OS user names, or SLIPWAY_USER). Manual checklist items are ticked by a
# member of the named role (\`slipway check\`); approvals are given with \`slipway approve\`. Whoever
# starts a deployment cannot approve it, and one person fills one role of an approval.
roles:
  developer: [alice]
  qa: [quinn]
  devops: [dana]
  security: [sam]
  pm: [pat]
# Those two rules are the defaults; set either to false to relax it.
# policy: { starterCannotApprove: true, onePersonOneRole: true }

# A release is a tarball your build makes, one per release id.
artifact:
  path: dist/my-app-{{ release }}.tar.gz
  # sha256File: dist/my-app-{{ release }}.tar.gz.sha256

# Values for {{ vars.NAME }}; an environment's own vars win. \`slipway deploy --var NAME=VALUE\`
# overrides a declared var for one deployment.
vars:
  HOST: 127.0.0.1

# How the service is stopped and started on a target: used by \`restart\` steps and by rollback.
# Argv lists may use templates; shell strings may not (pass values as environment variables).
service:
  start: ['{{ target.current }}/bin/start']
  stop: ['{{ target.current }}/bin/stop']
  env:
    HOST: '{{ vars.HOST }}'
    PORT: '{{ vars.PORT }}'
    DATA_DIR: '{{ target.shared }}'

environments:
  staging:
    # Folder holding releases/, current and shared/. Relative paths start at this file's folder;
    # use a real one such as /srv/my-app/staging.
    target: { type: local, root: targets/staging }
    vars: { PORT: '8081' }
  production:
    target: { type: local, root: targets/production }
    vars: { PORT: '8080' }
    # Phases that change the target (release, config, restart, run on: target) wait for a window.
    # This one opens at 18:00 UTC Monday to Friday, for 3 hours. To change it, edit the cron (minute
    # hour day-of-month month day-of-week) and timezone (e.g. Europe/Berlin), or use an rrule such as
    # 'FREQ=WEEKLY;BYDAY=SA;BYHOUR=2'. Outside it, only an emergency approved by devops and pm runs.
    windows:
      - { cron: '0 18 * * 1-5', duration: 3h, timezone: UTC }
    # Nothing is deployed during a freeze (except an approved emergency). A date alone is a whole day.
    # freezes:
    #   - { from: 2026-12-20, to: 2027-01-04, reason: Year-end freeze }
    # Promotion: a release must have succeeded in staging first.
    requires: [staging]
    # A failure after the new release is switched in restores the previous release, config and
    # service, and records an incident.
    rollback: { auto: true }
    # Secrets are read at run time and never stored or printed. They may be used in env values,
    # HTTP headers and bodies, and config templates, e.g. env: { API_TOKEN: '{{ secrets.API_TOKEN }}' }.
    # secrets:
    #   API_TOKEN: { env: MY_APP_API_TOKEN }

phases:
  # 1. Pre-deployment planning and the pre-deployment checklist, each item ticked by its role.
  #    ("Development testing completed" and "Security scan passed" are ticked automatically in the
  #    test phase; production requires staging, so every release that gets here has passed them.)
  - id: plan
    name: Pre-deployment planning
    environments: [production]
    steps:
      - id: requirements-approved
        checklist: { item: Requirements documented and approved, role: pm }
      - id: impact-assessed
        checklist: { item: Impact assessment done (risks and system dependencies), role: devops }
      - id: resources-allocated
        checklist: { item: Server resources and personnel allocated, role: devops }
      - id: backup-completed
        checklist: { item: Backup completed and verified, role: devops }
      - id: stakeholders-notified
        checklist: { item: Stakeholders notified of the deployment schedule, role: pm }
      - id: rollback-plan-prepared
        checklist: { item: Rollback plan prepared, role: devops }
      # Approved before the window opens. require: all (a member of each role), any, or a number of
      # different people; expires: the deployment fails when nobody approves in time.
      - id: go-ahead
        name: Production go-ahead
        approval: { roles: [devops, pm], require: all, expires: 24h }

  # 2. Development testing, run on this machine in this file's folder. The gates read the reports
  #    the commands write; a checklist item with "auto" is ticked when the step it names passes.
  - id: test
    name: Development testing
    environments: [staging]
    steps:
      # Make your test runner write JUnit XML and lcov coverage, e.g.
      # vitest run --coverage --reporter=junit --outputFile=reports/junit.xml
      - id: unit-and-integration-tests
        run: [npm, test]
        timeout: 15m
        idempotent: true
      - id: test-results
        junit: { path: reports/junit.xml, minTests: 1, maxFailures: 0 }
      - id: test-coverage
        coverage: { path: coverage/lcov.info, minLines: 80 }
      - id: testing-completed
        checklist: { item: Development testing completed, auto: test-results }
      # npm audit exits non-zero when it finds anything; the npm-audit gate judges the findings.
      - id: vulnerability-scan
        run: 'mkdir -p reports && npm audit --json > reports/audit.json || true'
        idempotent: true
      - id: audit
        npm-audit:
          path: reports/audit.json
          max: { critical: 0, high: 0 }
          # Accept a known finding for a while, with a reason:
          # allow: [{ id: GHSA-xxxx-xxxx-xxxx, until: 2027-01-31, reason: 'not reachable, see SEC-12' }]
      - id: security-scan-passed
        checklist: { item: Security scan passed, auto: audit }
      # Writes [{ name, value, unit }] to reports/bench.json; more than 20% worse than the last
      # good deployment fails.
      - id: benchmarks
        run: [npm, run, bench]
        timeout: 30m
        idempotent: true
      - id: benchmark-regression
        benchmark: { path: reports/bench.json, better: smaller, threshold: 20% }
      - id: test-sign-off
        checklist: { item: Test results documented and signed off, role: qa }

  # 3. Staging: the same mechanics as production, then load, regression and security testing and
  #    UAT sign-off by QA.
  - id: staging
    name: Staging deployment
    environments: [staging]
    steps:
      - id: ship
        release: { keep: 5 }
      - id: render-config
        config:
          - { template: config/app.env.tmpl, dest: .env }
      - id: migrate
        run: ['{{ target.release }}/bin/migrate']
        on: target
        env: { DATA_DIR: '{{ target.shared }}' }
      - id: restart
        restart: {}
      - id: smoke
        smoke:
          - id: health
            http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/health', expect: { status: 200 } }
        retries: 5
        retryDelay: 1s
      - id: staging-deployed
        checklist: { item: Staging deployment successful, auto: smoke }
      # 50 requests/s for 30s. Fails beyond the limits, or when p95 latency or throughput is more
      # than 20% (regression) worse than the last good deployment's.
      - id: load-test
        load:
          url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/health'
          rate: 50
          duration: 10s
          maxP95: 500ms
          maxErrorRate: 1%
          regression: 20%
      - id: regression-tests
        run: [npm, run, test:regression]
        env: { BASE_URL: 'http://{{ vars.HOST }}:{{ vars.PORT }}' }
        timeout: 30m
        idempotent: true
      - id: security-checks
        checklist: { item: Security testing and compliance checks passed, role: security }
      - id: uat
        name: UAT completed and signed off
        approval: { roles: [qa] }

  # 4. Production, in the seed's order, inside the window: it starts only when the window stays
  #    open for expectedDuration. A failure after "ship" rolls back automatically.
  - id: production
    name: Production deployment
    environments: [production]
    expectedDuration: 30m
    steps:
      - id: window-confirmed
        checklist: { item: Production deployment window confirmed, role: devops }
      - id: backup-verified
        checklist: { item: Final backup verified, role: devops }
      - id: ship
        release: { keep: 5 }
      - id: render-config
        config:
          - { template: config/app.env.tmpl, dest: .env }
      # Runs on the target, in the new release. Set idempotent: true if your migration tool skips
      # migrations already applied; then a crash mid-step re-runs it instead of rolling back.
      - id: migrate
        run: ['{{ target.release }}/bin/migrate']
        on: target
        env: { DATA_DIR: '{{ target.shared }}' }
      - id: restart
        restart: {}
      - id: smoke
        smoke:
          - id: health
            http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/health', expect: { status: 200, maxLatency: 2s } }
        retries: 5
        retryDelay: 1s

  # 5. Post-deployment validation. (Deployment checklist: "Deployment executed successfully" is the
  #    production phase succeeding.)
  - id: validate
    name: Post-deployment validation
    environments: [production]
    steps:
      - id: health
        http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/health', expect: { status: 200 } }
      - id: version-live
        http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/version', expect: { status: 200, body: '{{ release }}' } }
      - id: validation-passed
        checklist: { item: Post-deployment validation passed, role: qa }
      - id: docs-updated
        checklist: { item: Release notes and documentation updated, role: pm }
`;

/**
 * What `slipway init --minimal` writes: the smallest useful process — ship to staging, QA signs off, promote
 * to production, roll back on a failed smoke check. The tutorial starts here; `init` writes the whole seed.
 */
export const MINIMAL_PROCESS = `# slipway.yaml: a minimal process. Ship to staging, QA signs off, promote the same release to
# production; a failed smoke check rolls back to the previous release. \`slipway init --force\` writes
# the organization's whole process instead (checklists, test and security gates, windows).
version: 1
app: my-app

# People by role: OS login names, or what you set in SLIPWAY_USER.
roles:
  developer: [dev]
  qa: [quinn]
  devops: [dana]

# One tarball per release, built by you or your CI.
artifact:
  path: dist/my-app-{{ release }}.tar.gz

vars:
  HOST: 127.0.0.1

# Run on the target by restart steps and by rollback; {{ target.current }} is the live release.
# start must leave the server running in its own session (setsid, or systemctl/docker), and return.
service:
  start: ['{{ target.current }}/bin/start']
  stop: ['{{ target.current }}/bin/stop']
  env:
    PORT: '{{ vars.PORT }}'
    DATA_DIR: '{{ target.shared }}'

environments:
  staging:
    target: { root: deploy/staging }      # holds releases/, current and shared/
    vars: { PORT: '8081' }
  production:
    target: { root: deploy/production }
    vars: { PORT: '8080' }
    requires: [staging]                   # a release must succeed in staging first

phases:
  - id: deploy
    steps:
      - id: ship
        release: { keep: 5 }              # verify the SHA-256, unpack into releases/<release>-d<id>
      - id: restart
        restart: {}                       # stop, switch current atomically, start
      - id: smoke
        http: { url: 'http://{{ vars.HOST }}:{{ vars.PORT }}/', expect: { status: 200 } }
        retries: 5
        retryDelay: 200ms

  - id: sign-off
    environments: [staging]
    steps:
      - id: uat
        approval: { roles: [qa] }         # user acceptance: someone other than who deployed
`;
