import type { Command } from 'commander';
import { checkTuning } from '../../engine/tuning.ts';
import { redactText } from '../../db/redact.ts';
import { InputError } from '../../errors.ts';
import { withDatabase } from '../context.ts';
import { requireUnfinished } from '../drive.ts';
import { sendIntent } from '../intent.ts';
import { print } from '../output.ts';
import { addSettingsFlags, tuningFrom } from '../settings-flags.ts';

export function tuneCommand(program: Command): void {
  const command = program
    .command('tune')
    .description('change a running backfill’s settings; takes effect within one batch')
    .argument('<run>', 'run id, or playbook name for its latest run');
  addSettingsFlags(command).action(async (ref: string, options, cmd: Command) => {
    const tuning = tuningFrom(options);
    if (Object.keys(tuning).length === 0) throw new InputError('tune: give at least one setting, e.g. --max-rows-per-sec 5000');
    await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
      const run = await ctx.store.findRun(ref);
      requireUnfinished(run, 'tune');
      await checkTuning(ctx.pool, run, tuning);
      await sendIntent(ctx, run, 'tune', { tuning });
      print(`run ${run.id} tuned: ${redactText(Object.entries(tuning).map(([k, v]) => `${k}=${v}`).join(', '))}`);
    });
  });
}
