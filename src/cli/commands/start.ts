import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { openRun } from '../../engine/start.ts';
import { loadPlaybook } from '../../playbook/load.ts';
import type { Settings } from '../../playbook/schema.ts';
import { withDatabase } from '../context.ts';
import { EnvironmentError } from '../../errors.ts';
import { driveWithProgress, followToEnd, requireExecutorReady, rollBackHere } from '../drive.ts';
import { print } from '../output.ts';
import { addSettingsFlags, tuningFrom } from '../settings-flags.ts';

export function startCommand(program: Command): void {
  const command = program
    .command('start')
    .description('start a playbook, or continue its unfinished run')
    .argument('<playbook>', 'playbook file (.yaml, .yml or .json)')
    .option('--executor <name>', 'where the steps run: local (this process, the default), temporal (workers; see --temporal-* flags) or bullmq (workers; see --redis-url); an unfinished run keeps its own unless moved with resume --executor')
    .option('--wait', 'with a remote executor (temporal, bullmq): follow the run to its end (or the gate) with the progress display')
    .option('--wait-for-approval', 'stay at the contract gate until `bellows approve`, then contract')
    .option('--no-progress', 'do not draw the progress display');
  addSettingsFlags(command).action(async (path: string, options, cmd: Command) => {
    const playbook = await loadPlaybook(path);
    const overrides = tuningFrom(options) as Partial<Settings>;
    const poolSize = 6 + (overrides.parallelism ?? playbook.settings.parallelism);
    await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
      const { run, attached } = await openRun(ctx.pool, ctx.store, {
        playbook,
        executor: options.executor,
        overrides,
        ready: (executor) => requireExecutorReady(ctx, executor),
        directory: dirname(resolve(path)),
      });
      print(attached ? `attached to unfinished run ${run.id} of ${run.playbookName} (phase ${run.phase})` : `run ${run.id} started: ${run.playbookName}`);
      try {
        const outcome = await driveWithProgress(ctx, run, { stopAtGate: !options.waitForApproval, progress: options.progress });
        if (outcome === 'submitted' && options.wait) await followToEnd(ctx, run.id, options.progress);
      } catch (err) {
        // The executor was ready a moment ago and is not now: a run it never took must not hold its tables.
        if (attached || !(err instanceof EnvironmentError)) throw err;
        await rollBackHere(ctx, run);
        throw new EnvironmentError(`run ${run.id} was not started (${err.message}); it is rolled back and its tables are free`);
      }
    }, { poolSize });
  });
}
