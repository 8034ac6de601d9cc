import type { Command } from 'commander';
import { FINISHED_STATUSES } from '../../state/types.ts';
import { InputError, RunFailedError } from '../../errors.ts';
import { withDatabase } from '../context.ts';
import { watchRun } from '../watch-loop.ts';

export function watchCommand(program: Command): void {
  program
    .command('watch')
    .description('live progress: rows done/total, rows/s, ETA, batch size, phase, pause and throttle state')
    .argument('[run]', 'run id, or playbook name (default: the latest unfinished run)')
    .option('--interval <ms>', 'redraw interval', (v) => Number(v))
    .action(async (ref: string | undefined, options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const run = ref ? await ctx.store.findRun(ref) : (await ctx.store.listRuns()).find((r) => !FINISHED_STATUSES.includes(r.status));
        if (!run) throw new InputError('no unfinished run to watch; name one: bellows watch <run>');
        const final = await watchRun(ctx, run.id, { detail: true, intervalMs: options.interval });
        if (final.status === 'failed') throw new RunFailedError(`run ${run.id} failed: ${final.error}`, run.id);
      });
    });
}
