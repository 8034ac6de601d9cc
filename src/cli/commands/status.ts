import type { Command } from 'commander';
import type { RunProgress } from '../../state/progress.ts';
import { allRunsStatus, runStatus } from '../../operator/index.ts';
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
          const progress = await runStatus(ctx, ref);
          if (options.json) return printJson(progress);
          for (const line of renderProgress(progress, true)) print(line);
          return;
        }
        const all = await allRunsStatus(ctx);
        if (options.json) return printJson(all);
        if (all.length === 0) return print('no runs yet');
        print('RUN  PLAYBOOK                          PHASE       STATUS             UPDATED');
        for (const p of all) print(listLine(p));
      });
    });
}

/** One run per line; a stalled run says so, and what to do, on its own line. */
function listLine(p: RunProgress): string {
  const line = `${p.id.padEnd(4)} ${p.playbook.padEnd(33)} ${p.phase.padEnd(11)} ${p.state.padEnd(18)} ${p.updatedAt.toISOString()}`;
  return p.stalled ? `${line}  ${p.stalled.message}` : line;
}
