import type { Command } from 'commander';
import { awaitRollback, rollbackRun, rolledBack } from '../../operator/index.ts';
import { withDatabase } from '../context.ts';
import { driveWithProgress } from '../drive.ts';
import { print } from '../output.ts';

export function rollbackCommand(program: Command): void {
  program
    .command('rollback')
    .description('abort a run and restore the original schema and data (any time before contract completes)')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .action(async (ref: string, _options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const requested = await rollbackRun(ctx, ref);
        print(requested.message);
        if (requested.driveHere) {
          await driveWithProgress(ctx, requested.run, { ...requested.driveHere, progress: false });
          return;
        }
        // Its own driver rolls it back; the command ends when it has, as if it had done it.
        await awaitRollback(ctx, requested.run.id);
        print(rolledBack(requested.run.id));
      });
    });
}
