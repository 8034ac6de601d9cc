import type { Command } from 'commander';
import { EnvironmentError, RunFailedError } from '../../errors.ts';
import { sleep } from '../../util/sleep.ts';
import { withDatabase } from '../context.ts';
import { requireUnfinished, rollBackHere, rolledBack } from '../drive.ts';
import { isDriven, wakeExecutor } from '../intent.ts';
import { print } from '../output.ts';
import { printableLine } from '../../util/printable.ts';

const WAIT_MS = 10 * 60_000;

export function rollbackCommand(program: Command): void {
  program
    .command('rollback')
    .description('abort a run and restore the original schema and data (any time before contract completes)')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .action(async (ref: string, _options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const run = await ctx.store.findRun(ref);
        requireUnfinished(run, 'roll back');
        const aborted = await ctx.store.setDesired(run.id, { abort: true, paused: false }, 'abort');
        if (!(await isDriven(ctx, run))) {
          // Nothing would see the request (a stopped process, a workflow without worker or server).
          print(`run ${run.id}: nothing drives it now; rolling it back from here`);
          return rollBackHere(ctx, aborted);
        }
        try {
          await wakeExecutor(ctx, aborted, 'abort');
        } catch (err) {
          // The state store is the truth and every rollback step is idempotent: an executor that
          // cannot be reached must not keep a run (and its tables) from being rolled back.
          if (!(err instanceof EnvironmentError)) throw err;
          print(printableLine(`run ${run.id}: its executor ${run.executor} cannot be reached (${err.message}); rolling it back from here`));
          return rollBackHere(ctx, aborted);
        }
        print(`rollback requested for run ${run.id}; waiting for its driver to roll it back`);
        const deadline = Date.now() + WAIT_MS;
        while (Date.now() < deadline) {
          const current = await ctx.store.getRun(run.id);
          if (current.status === 'rolled_back') return print(rolledBack(run.id));
          // A run that failed before the request stays `failed` until its driver starts the rollback;
          // only a failure in the rollback itself is the rollback failing.
          if (current.status === 'failed' && current.phase === 'rollback') throw new RunFailedError(`run ${run.id}: rollback failed: ${current.error}`, run.id);
          await sleep(250);
        }
        throw new RunFailedError(`run ${run.id}: rollback requested but not done after ${WAIT_MS / 60000} minutes; see bellows status ${run.id}`, run.id);
      });
    });
}
