import type { Command } from 'commander';
import { withDatabase } from '../context.ts';
import { wakeExecutor, whoDrives } from '../intent.ts';
import { driveWithProgress, requireUnfinished } from '../drive.ts';
import { moveRun } from '../move-run.ts';
import { print } from '../output.ts';

export function resumeCommand(program: Command): void {
  program
    .command('resume')
    .description('lift a pause, or continue a run whose process stopped, from its last checkpoint; --executor moves it')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .option('--executor <name>', 'move the run to this executor (local, temporal or bullmq) and continue it there')
    .option('--repair', 'verify re-applies up to wrong rows instead of only reporting them')
    .option('--wait-for-approval', 'stay at the contract gate until `bellows approve`, then contract')
    .option('--no-progress', 'do not draw the progress display')
    .action(async (ref: string, options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        let run = await ctx.store.findRun(ref);
        requireUnfinished(run, 'resume');
        if (options.executor && options.executor !== run.executor) run = await moveRun(ctx, run, options.executor);
        if (run.desired.paused) run = await ctx.store.setDesired(run.id, { paused: false }, 'resume');
        if (options.repair) run = await ctx.store.setDesired(run.id, { tuning: { repair: true } }, 'tune');
        switch (await whoDrives(ctx, run)) {
          case 'here':
            print(`resuming run ${run.id} from its last checkpoint (phase ${run.phase})`);
            await driveWithProgress(ctx, run, { stopAtGate: !options.waitForApproval, progress: options.progress });
            return;
          case 'its process':
            print(`run ${run.id} resumed; its driving process continues within one batch`);
            return;
          case 'its executor':
            await wakeExecutor(ctx, run, 'resume');
            print(`run ${run.id} resumed on ${run.executor}`);
        }
      }, { poolSize: 16 });
    });
}
