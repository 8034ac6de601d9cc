import type { Command } from 'commander';
import { resumeRun } from '../../operator/index.ts';
import { withDatabase } from '../context.ts';
import { driveWithProgress } from '../drive.ts';
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
        const resumed = await resumeRun(ctx, ref, { executor: options.executor, repair: options.repair, stopAtGate: !options.waitForApproval });
        print(resumed.message);
        if (resumed.driveHere) await driveWithProgress(ctx, resumed.run, { ...resumed.driveHere, progress: options.progress });
      }, { poolSize: 16 });
    });
}
