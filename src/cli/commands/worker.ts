import { Option, type Command } from 'commander';
import { InputError } from '../../errors.ts';
import { WORKERS } from '../../executors/index.ts';
import { withDatabase } from '../context.ts';
import { print } from '../output.ts';

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run steps for a remote executor until SIGTERM (then finish the current batches and exit)')
    .addOption(new Option('--executor <name>', 'which executor’s work to take').choices(Object.keys(WORKERS)).makeOptionMandatory())
    .addOption(new Option('--concurrency <n>', 'ranges walked at once in this process').default(4).argParser(positiveInt))
    .addOption(new Option('--shutdown-grace <ms>', 'Temporal: time for in-flight ranges to stop at a batch boundary on shutdown').default(5000).argParser(positiveInt))
    .addOption(new Option('--max-ranges-per-database <n>', 'BullMQ: range jobs running at once on one target database, across the whole fleet').default(8).argParser(positiveInt))
    .addOption(new Option('--serve-database <url>', 'BullMQ: also serve the runs of this database (repeat for more)').argParser(collect).default([]))
    .action(async (options, cmd: Command) => {
      const globals = cmd.optsWithGlobals();
      await withDatabase(globals, async (ctx) => {
        // SIGTERM (a deploy, a scale-down) and SIGINT start a graceful stop: batches in flight finish and their
        // work goes back to the queue for another worker. A second signal is left to its default action.
        const stop = new AbortController();
        const onSignal = (signal: NodeJS.Signals) => {
          print(`${signal}: draining; in-flight ranges stop at their next batch`);
          stop.abort();
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
        try {
          await WORKERS[options.executor]({
            ...ctx,
            db: ctx.pool,
            stop: stop.signal,
            concurrency: options.concurrency,
            shutdownGraceMs: options.shutdownGrace,
            maxRangesPerDatabase: options.maxRangesPerDatabase,
            serveDatabases: options.serveDatabase,
            stateSchema: globals.stateSchema,
            say: print,
          });
        } finally {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
        }
        print('worker stopped');
      }, { poolSize: options.concurrency * 3 + 8, daemon: true });
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`expected a whole number of at least 1, got "${value}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
