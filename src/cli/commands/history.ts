import type { Command } from 'commander';
import { withDatabase } from '../context.ts';
import { print, printJson } from '../output.ts';

export function historyCommand(program: Command): void {
  program
    .command('history')
    .description('playbooks applied to this database, in name order, with their checksums')
    .option('--json', 'machine-readable output')
    .action(async (options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const rows = await ctx.store.history();
        if (options.json) return printJson(rows);
        if (rows.length === 0) return print('no playbook applied yet');
        print('PLAYBOOK                          RUN   APPLIED                   CHECKSUM');
        for (const h of rows) {
          print(`${h.playbookName.padEnd(33)} ${(h.runId ?? 'import').padEnd(5)} ${h.appliedAt.toISOString()}  ${h.checksum.slice(0, 12)}`);
        }
      });
    });
}
