import { Command, CommanderError, Option } from 'commander';
import { isBellowsError } from '../errors.ts';
import { redactText } from '../db/redact.ts';
import { printableLine } from '../util/printable.ts';
import { warn } from './output.ts';
import { startCommand } from './commands/start.ts';
import { statusCommand } from './commands/status.ts';
import { watchCommand } from './commands/watch.ts';
import { pauseCommand } from './commands/pause.ts';
import { resumeCommand } from './commands/resume.ts';
import { tuneCommand } from './commands/tune.ts';
import { approveCommand } from './commands/approve.ts';
import { rollbackCommand } from './commands/rollback.ts';
import { planCommand } from './commands/plan.ts';
import { eventsCommand } from './commands/events.ts';
import { serveCommand } from './commands/serve.ts';
import { historyCommand } from './commands/history.ts';
import { schemaCommand } from './commands/schema.ts';
import { demoCommand } from './commands/demo.ts';
import { dryRunCommand } from './commands/dry-run.ts';
import { workerCommand } from './commands/worker.ts';
import { schemaPathCommand } from './commands/schema-path.ts';
import { importCommand } from './commands/import.ts';
import { driftCommand } from './commands/drift.ts';
import { diffCommand } from './commands/diff.ts';
import { lintCommand } from './commands/lint.ts';
import { generateCommand } from './commands/generate.ts';
import { snapshotCommand } from './commands/snapshot.ts';
import { addExecutorFlags } from './executor-flags.ts';

export function buildProgram(): Command {
  const program = new Command('bellows')
    .description('zero-downtime expand/contract schema changes for PostgreSQL')
    .version('0.1.0')
    .addOption(new Option('--database-url <url>', 'PostgreSQL connection string').env('DATABASE_URL'))
    .addOption(new Option('--state-schema <name>', 'schema of bellows’ own state tables').default('bellows'))
    // commander's own errors (unknown command or option, missing argument) get the
    // same one `bellows: …` line as ours; its default is `error: …` plus a hint line.
    .configureOutput({ outputError: (message, write) => write(`${line(`bellows: ${message.replace(/^error: /, '')} (add --help for usage)`)}\n`) })
    .exitOverride();
  addExecutorFlags(program);
  for (const add of [
    startCommand,
    statusCommand,
    watchCommand,
    pauseCommand,
    resumeCommand,
    tuneCommand,
    approveCommand,
    rollbackCommand,
    planCommand,
    lintCommand,
    eventsCommand,
    historyCommand,
    schemaCommand,
    schemaPathCommand,
    demoCommand,
    dryRunCommand,
    workerCommand,
    serveCommand,
    importCommand,
    driftCommand,
    diffCommand,
    snapshotCommand,
    generateCommand,
  ]) {
    add(program);
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * Every message line ends here: at most 300 characters, invisible characters
 * escaped, passwords scrubbed, whatever a file or a flag put into it.
 */
function line(text: string): string {
  return printableLine(redactText(text), 300);
}

/**
 * The one place errors become exit codes: 0 success, 1 failure, 2 bad input.
 * A user error prints one line; only an unexpected error (a bug) shows its stack,
 * and only with BELLOWS_DEBUG set.
 */
export async function main(argv: string[]): Promise<number> {
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      return 2; // commander already printed the one-line reason
    }
    if (isBellowsError(err)) {
      warn(line(`bellows: ${err.message}`));
      return err.exitCode;
    }
    reportUnexpected(err);
    return 1;
  }
}

/** The session went away under us: a failover, a restart, an administrator. Not a bug. */
const CONNECTION_LOST = /Connection terminated|terminating connection|ECONNRESET|ECONNREFUSED|server closed the connection/i;

function reportUnexpected(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (CONNECTION_LOST.test(message)) {
    warn(line(`bellows: lost the database connection (${message}); runs stay at their last checkpoint: see bellows status, continue with bellows resume`));
    return;
  }
  warn(line(`bellows: unexpected error: ${message}`));
  if (process.env.BELLOWS_DEBUG && err instanceof Error) warn(redactText(err.stack ?? ''));
}

/**
 * An error outside any command's promise chain, e.g. the server ending the session
 * that holds a run's lock (pg emits 'error' on a checked-out client): the same one
 * line and exit 1 as any unexpected error. The process ends as if killed, which the
 * run survives: its lock went with the session, and `bellows resume` continues it.
 */
function crash(err: unknown): void {
  reportUnexpected(err);
  process.exit(1);
}
