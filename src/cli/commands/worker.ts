import { Option, type Command } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { InputError } from '../../errors.ts';
import { temporalSettings } from '../../executors/temporal/config.ts';
import { createBellowsWorker } from '../../executors/temporal/worker.ts';
import { withDatabase } from '../context.ts';
import { print } from '../output.ts';

const TEMPORAL_LOG_LEVELS = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR' } as const;

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run steps for a remote executor until SIGTERM (then finish the current batches and exit)')
    .addOption(new Option('--executor <name>', 'which executor’s work to take').choices(['temporal']).makeOptionMandatory())
    .addOption(new Option('--concurrency <n>', 'activities (ranges) run at once').default(8).argParser(positiveInt))
    .addOption(new Option('--shutdown-grace <ms>', 'time for in-flight ranges to stop at a batch boundary on shutdown').default(5000).argParser(positiveInt))
    .action(async (options, cmd: Command) => {
      const settings = temporalSettings();
      const level = (process.env.BELLOWS_LOG_LEVEL ?? 'warn') as keyof typeof TEMPORAL_LOG_LEVELS;
      // Shutdown signals are handled below, where the worker is known.
      Runtime.install({ logger: new DefaultLogger(TEMPORAL_LOG_LEVELS[level] ?? 'WARN'), shutdownSignals: [] });
      const bundlePath = process.env.BELLOWS_WORKFLOW_BUNDLE;
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const { worker, taskQueue, connection } = await createBellowsWorker({
          db: ctx.pool,
          store: ctx.store,
          log: ctx.log,
          settings,
          concurrency: options.concurrency,
          shutdownGraceMs: options.shutdownGrace,
          workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
        });
        // SIGTERM (a deploy, a scale-down) and SIGINT start a graceful shutdown: no new tasks; in-flight ranges
        // are cancelled after the grace, stop at a batch boundary, and are retried by another worker from their
        // checkpoints. A second signal is left to its default action, for an operator who will not wait.
        const stop = (signal: NodeJS.Signals) => {
          print(`${signal}: draining; in-flight ranges stop at their next batch`);
          worker.shutdown();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        print(`worker polling task queue ${taskQueue} on ${settings.address} (namespace ${settings.namespace})`);
        try {
          await worker.run();
        } finally {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          await connection.close().catch(() => {});
        }
        print('worker stopped');
      }, { poolSize: options.concurrency + 4, daemon: true });
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`expected a whole number of at least 1, got "${value}"`);
  return n;
}
