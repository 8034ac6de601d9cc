import type { Command } from 'commander';
import { runLockName } from '../../executors/local/local-executor.ts';
import { runProgress } from '../../state/progress.ts';
import { withDatabase } from '../context.ts';
import { print, printJson } from '../output.ts';
import { renderProgress } from '../render/progress-view.ts';

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('show one run in detail, or the recent runs')
    .argument('[run]', 'run id, or playbook name for its latest run')
    .option('--json', 'machine-readable output')
    .action(async (ref: string | undefined, options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        if (ref) {
          const run = await ctx.store.findRun(ref);
          const progress = await runProgress(ctx.pool, ctx.store, run, runLockName(run.id));
          if (options.json) return printJson(progress);
          for (const line of renderProgress(progress, true)) print(line);
          return;
        }
        const runs = await ctx.store.listRuns();
        if (options.json) {
          return printJson(
            await Promise.all(runs.map((r) => runProgress(ctx.pool, ctx.store, r, runLockName(r.id)))),
          );
        }
        if (runs.length === 0) return print('no runs yet');
        print('RUN  PLAYBOOK                          PHASE       STATUS             UPDATED');
        for (const r of runs) {
          print(`${r.id.padEnd(4)} ${r.playbookName.padEnd(33)} ${r.phase.padEnd(11)} ${r.status.padEnd(18)} ${r.updatedAt.toISOString()}`);
        }
      });
    });
}
