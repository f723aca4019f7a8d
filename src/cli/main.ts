/**
 * The `slipway` command: a thin argv layer over the command functions, with the one top-level error handler.
 * Commands are imported when chosen, so `slipway history` does not pay for the config compiler or the engine.
 */

import { Command, CommanderError, Option } from 'commander';
import { ConfigError, formatConfigProblem, SlipwayError } from '../core/errors.js';
import { EXIT, exitForError } from './exit-codes.js';
import { createOutput } from './output.js';

const VERSION = '0.1.0';

const EXIT_HELP = `
Exit codes:
  0  ok            1  failed            2  bad input (nothing was changed)
  3  waiting at a gate (approval or checklist item)            4  rolled back

Environment:
  SLIPWAY_FILE   process file (default ./slipway.yaml)
  SLIPWAY_STORE  store file (default .slipway/slipway.db beside the process file)
  SLIPWAY_USER   act as this user (default: the OS user)
  NO_COLOR       no colours`;

function build(setExit: (code: number) => void, json: boolean): Command {
  const program = new Command('slipway')
    .description(
      'Runs your written deployment process: plan, test, staging, production, validation, rollback.',
    )
    .version(VERSION)
    .addOption(new Option('-f, --file <path>', 'process file').env('SLIPWAY_FILE'))
    .addOption(new Option('--store <path>', 'store file').env('SLIPWAY_STORE'))
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', "show every command's output live")
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError(!json && '(run with --help for usage)')
    .exitOverride();
  // Under --json, usage errors are reported once, as JSON, by reportError (commander would print text).
  if (json) program.configureOutput({ writeErr: () => undefined });

  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      setExit(await fn(...args));
    };
  // Commander passes (args..., options, command); merge global options into each command's options.
  const withGlobals = <T extends object>(cmd: Command, opts: T) => ({
    ...program.opts(),
    ...cmd.optsWithGlobals(),
    ...opts,
  });

  program
    .command('init')
    .description("write a starter slipway.yaml with the seed's process and checklists")
    .option('--force', 'overwrite an existing file')
    .option('--minimal', 'a small process (staging, QA sign-off, production) instead of the whole seed')
    .action(
      run(async (opts, cmd) => (await import('./commands/init.js')).initCommand(withGlobals(cmd, opts))),
    );

  program
    .command('validate [file]')
    .description('check a process file; problems are reported as file:line:col')
    .action(
      run(async (file, opts, cmd) =>
        (await import('./commands/validate.js')).validateCommand(file, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('schema')
    .description('print the JSON Schema of slipway.yaml')
    .action(run(async () => (await import('./commands/schema.js')).schemaCommand()));

  program
    .command('plan <environment>')
    .description(
      'show what a deployment would do, its gates, who must act and the next window; nothing is done',
    )
    .requiredOption('-r, --release <id>', 'release id')
    .option('--emergency', 'plan it as an emergency deployment')
    .action(
      run(async (env, opts, cmd) =>
        (await import('./commands/plan.js')).planCommand(env, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('deploy <environment>')
    .description('start a deployment and follow it (continues an unfinished one of the same release)')
    .requiredOption('-r, --release <id>', 'release id')
    .option('--var <KEY=VALUE...>', 'override a variable (repeatable)')
    .option('--wait', 'follow until it ends or waits at a gate (the default)')
    .option(
      '--emergency <reason>',
      'deploy outside the maintenance window / in a freeze (needs extra approvals; flagged)',
    )
    .option(
      '--no-wait-for-window',
      'outside the window, record the wait and exit 3 (continue later: slipway resume)',
    )
    .action(
      run(async (env, opts, cmd) =>
        (await import('./commands/deploy.js')).deployCommand(env, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('status [id]')
    .description('phases, steps, gates and who is awaited (default: the latest deployment)')
    .action(
      run(async (id, opts, cmd) =>
        (await import('./commands/status.js')).statusCommand(id, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('logs <id>')
    .description("a deployment's log")
    .option('--follow', 'keep printing until it ends or waits')
    .option('--host <name>', 'only what happened on this host (fleets)')
    .action(
      run(async (id, opts, cmd) =>
        (await import('./commands/logs.js')).logsCommand(id, withGlobals(cmd, opts)),
      ),
    );

  for (const [name, decision, text] of [
    ['approve', 'approve', 'approve the open approval gate'],
    ['reject', 'reject', 'reject the open gate (the deployment fails or rolls back)'],
    ['check', 'check', 'tick the open checklist item'],
  ] as const) {
    program
      .command(`${name} <id>`)
      .description(`${text}, then carry the deployment on`)
      .option('--role <role>', 'decide in this role')
      .option('--step <step>', 'the gate step id (a safety check)')
      .option('-m, --comment <text>', 'comment recorded with the decision')
      .option('--no-continue', 'record the decision only')
      .action(
        run(async (id, opts, cmd) =>
          (await import('./commands/decide.js')).decideCommand(decision, id, withGlobals(cmd, opts)),
        ),
      );
  }

  program
    .command('cancel <id>')
    .description(
      'end an unfinished deployment (at a gate, waiting for its window); rolls back if it changed the target',
    )
    .option('-m, --comment <text>', 'why (recorded)')
    .action(
      run(async (id, opts, cmd) =>
        (await import('./commands/cancel.js')).cancelCommand(id, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('rollback <environment-or-id>')
    .description('return an environment to the good release before its live one')
    .option('-m, --comment <text>', 'why (recorded)')
    .action(
      run(async (target, opts, cmd) =>
        (await import('./commands/rollback.js')).rollbackCommand(target, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('history [environment]')
    .description('past deployments with outcome and duration')
    .option('-n, --limit <n>', 'how many (default 30; all with --json)')
    .option('--app <app>', 'only this app')
    .action(
      run(async (env, opts, cmd) =>
        (await import('./commands/history.js')).historyCommand(env, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('resume [id]')
    .description('carry on deployments whose runner stopped (default: all running or rolling back)')
    .action(
      run(async (id, opts, cmd) =>
        (await import('./commands/resume.js')).resumeCommand(id, withGlobals(cmd, opts)),
      ),
    );

  program
    .command('report <id>')
    .description('a deployment report; for a failed or rolled-back one, a post-incident review draft')
    .option('--format <format>', 'md or html (default md)')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(
      run(async (id, opts, cmd) =>
        (await import('./commands/report.js')).reportCommand(id, withGlobals(cmd, opts)),
      ),
    );

  const backup = program.command('backup').description('backup sets: list, verify, restore');
  backup
    .command('list [environment]')
    .description('backup sets, newest first: id, created, environment, release, items, size, verified')
    .action(
      run(async (env, opts, cmd) =>
        (await import('./commands/backup.js')).backupListCommand(env, withGlobals(cmd, opts)),
      ),
    );
  backup
    .command('verify <id>')
    .description(
      'check every file against the manifest and test-restore the set (PostgreSQL: a temporary database)',
    )
    .option('--env <environment>', 'the environment whose store holds the set (default: search all)')
    .action(
      run(async (id, opts, cmd) =>
        (await import('./commands/backup.js')).backupVerifyCommand(id, withGlobals(cmd, opts)),
      ),
    );
  backup
    .command('restore <id>')
    .description('restore a backup set (asks first; --yes in scripts); audited in the store')
    .option('--env <environment>', 'the environment whose store holds the set (default: search all)')
    .option('--item <name...>', 'only these items (see backup list)')
    .option('--to <folder>', 'new folder for files items (live folders are never overwritten)')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .action(
      run(async (id, opts, cmd) =>
        (await import('./commands/backup.js')).backupRestoreCommand(id, withGlobals(cmd, opts)),
      ),
    );

  const audit = program.command('audit').description('the tamper-evident event log');
  audit
    .command('verify')
    .description('verify the hash chain of every event')
    .action(
      run(async (opts, cmd) =>
        (await import('./commands/audit.js')).auditVerifyCommand(withGlobals(cmd, opts)),
      ),
    );

  program
    .command('demo')
    .description("the seed's whole process on a bundled sample app, on this machine")
    .option('--dir <path>', 'where to put the demo (default ./slipway-demo)')
    .option('--keep-running', 'leave the sample service running at the end')
    .action(
      run(async (opts, cmd) => (await import('./commands/demo.js')).demoCommand(withGlobals(cmd, opts))),
    );

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  const json = argv.includes('--json');
  const program = build((c) => {
    code = c;
  }, json);
  try {
    await program.parseAsync(argv as string[]);
    return code;
  } catch (e) {
    return reportError(e, json);
  }
}

function reportError(e: unknown, json: boolean): number {
  const out = createOutput({ json });
  if (e instanceof CommanderError) {
    // Help and version are "errors" to commander; they already printed.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return EXIT.ok;
    if (json) {
      out.result(
        {
          error: {
            code: 'SLW_USAGE',
            message: e.message.replace(/^error: /, ''),
            hint: 'run with --help for usage',
          },
        },
        () => '',
      );
    }
    return EXIT.badInput;
  }
  if (e instanceof SlipwayError) {
    if (json) {
      out.result(
        { error: { code: e.code, message: e.message, hint: e.hint, ...(e.details ?? {}) } },
        () => '',
      );
    } else {
      const c = createOutput({ stdout: process.stderr }).c;
      const body = e instanceof ConfigError ? e.problems.map(formatConfigProblem).join('\n') : e.message;
      process.stderr.write(`${c.red(c.bold('error'))} ${c.dim(e.code)} ${body}\n`);
      if (e.hint) process.stderr.write(`  ${c.cyan('hint:')} ${e.hint}\n`);
    }
    return exitForError(e.category);
  }
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(
    `internal error (SLW_INTERNAL): ${message}\nplease report this with the output above\n`,
  );
  return EXIT.failed;
}
