import type { Command } from 'commander';
import { FindingsError } from '../../errors.ts';
import { measureDrift } from '../../snapshot/drift.ts';
import { describeDifference } from '../../snapshot/describe.ts';
import { withDatabase } from '../context.ts';
import { print, printJson } from '../output.ts';

export function driftCommand(program: Command): void {
  program
    .command('drift')
    .description('compare the live schema with the snapshot its last applied playbook left; exit 1 when they differ')
    .option('--json', 'machine-readable output')
    .action(async (options, cmd: Command) => {
      // Not migrated up front: a database bellows never touched gets no state from a check.
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const report = await measureDrift(ctx.store);
        const count = report.differences.length;
        if (options.json) printJson(report);
        else {
          const { since } = report;
          print(`compared with the snapshot of playbook ${since.playbook} (run ${since.runId}, applied ${since.appliedAt.toISOString()})`);
          if (report.inFlightAtSnapshot.length) {
            print(`note: runs in flight when it was taken: ${report.inFlightAtSnapshot.map((r) => `${r.runId} (${r.playbookName})`).join(', ')}`);
          }
          print(count === 0 ? 'no drift' : `${count} difference(s) made outside bellows:`);
          for (const d of report.differences) print(`  ${describeDifference(d)}`);
        }
        if (count > 0) throw new FindingsError(`drift: ${count} difference(s) since playbook ${report.since.playbook}`);
      }, { migrate: false });
    });
}
