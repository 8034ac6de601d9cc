import type { Command } from 'commander';
import { pauseRun } from '../../operator/index.ts';
import { withDatabase } from '../context.ts';
import { print } from '../output.ts';

export function pauseCommand(program: Command): void {
  program
    .command('pause')
    .description('pause a run’s backfill or verify; takes effect within one batch')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .action(async (ref: string, _options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        print((await pauseRun(ctx, ref)).message);
      });
    });
}
