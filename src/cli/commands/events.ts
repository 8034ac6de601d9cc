import type { Command } from 'commander';
import { runEvents } from '../../operator/index.ts';
import { printableLine } from '../../util/printable.ts';
import { withDatabase } from '../context.ts';
import { print, printJson } from '../output.ts';

export function eventsCommand(program: Command): void {
  program
    .command('events')
    .description('a run’s event log, oldest first: phases, operator actions with who took them, throttles, errors')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const events = await runEvents(ctx, ref);
        if (options.json) return printJson(events);
        for (const e of events) {
          const detail = Object.keys(e.detail).length ? `  ${JSON.stringify(e.detail)}` : '';
          // The detail holds what runs and operators wrote (error messages, SQL): one line each, whatever it says.
          print(printableLine(`${e.at.toISOString()}  ${e.kind.padEnd(18)} ${e.actor}${detail}`, 1000));
        }
      });
    });
}
