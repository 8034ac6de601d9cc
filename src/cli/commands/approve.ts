import type { Command } from 'commander';
import { ConflictError } from '../../errors.ts';
import { withDatabase } from '../context.ts';
import { driveWithProgress, requireUnfinished } from '../drive.ts';
import { sendIntent, whoDrives } from '../intent.ts';
import { print } from '../output.ts';

export function approveCommand(program: Command): void {
  program
    .command('approve')
    .description('allow a verified run to contract (drop the old, rename the new into place)')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .action(async (ref: string, _options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const run = await ctx.store.findRun(ref);
        requireUnfinished(run, 'approve');
        if (run.phase !== 'gate') {
          throw new ConflictError(`run ${run.id} is in phase ${run.phase}; approve is accepted once verify has passed and the run waits at the gate`);
        }
        const approved = await sendIntent(ctx, run, 'approve', { approved: true });
        if ((await whoDrives(ctx, run)) === 'here') {
          await driveWithProgress(ctx, approved, { stopAtGate: true, progress: false });
          return;
        }
        print(`run ${run.id} approved; its driver contracts it now`);
      });
    });
}
