import type { Command } from 'commander';
import { requireSomeTuning, tuneRun } from '../../operator/index.ts';
import { withDatabase } from '../context.ts';
import { print } from '../output.ts';
import { addSettingsFlags, tuningFrom } from '../settings-flags.ts';

export function tuneCommand(program: Command): void {
  const command = program
    .command('tune')
    .description('change a running backfill’s settings; takes effect within one batch')
    .argument('<run>', 'run id, or playbook name for its latest run');
  addSettingsFlags(command).action(async (ref: string, options, cmd: Command) => {
    const tuning = tuningFrom(options);
    // Before the database is even opened: bad input touches nothing.
    requireSomeTuning(tuning);
    await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
      print((await tuneRun(ctx, ref, tuning)).message);
    });
  });
}
