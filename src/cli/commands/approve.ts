import type { Command } from 'commander';
import { approveRun } from '../../operator/index.ts';
import { withDatabase } from '../context.ts';
import { driveWithProgress } from '../drive.ts';
import { print } from '../output.ts';

export function approveCommand(program: Command): void {
  program
    .command('approve')
    .description('allow a verified run to contract (drop the old, rename the new into place)')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .action(async (ref: string, _options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const approved = await approveRun(ctx, ref);
        print(approved.message);
        if (approved.driveHere) await driveWithProgress(ctx, approved.run, { ...approved.driveHere, progress: false });
      });
    });
}
