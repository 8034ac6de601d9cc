import type { Command } from 'commander';
import { withDatabase } from '../context.ts';
import { requireUnfinished } from '../drive.ts';
import { sendIntent } from '../intent.ts';
import { print } from '../output.ts';

export function pauseCommand(program: Command): void {
  program
    .command('pause')
    .description('pause a run’s backfill or verify; takes effect within one batch')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .action(async (ref: string, _options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const run = await ctx.store.findRun(ref);
        requireUnfinished(run, 'pause');
        await sendIntent(ctx, run, 'pause', { paused: true });
        print(`pause requested for run ${run.id}; it stops within one batch (bellows resume ${run.id} to continue)`);
      });
    });
}
