import type { Command } from 'commander';
import { FindingsError } from '../../errors.ts';
import { measureDrift } from '../../snapshot/drift.ts';
import { describeDifference, severityCounts } from '../../snapshot/describe.ts';
import { countFailing, type FailOn } from '../../util/severity.ts';
import { withDatabase } from '../context.ts';
import { FAIL_ON_FLAG, failOnHelp, failOnLevel } from '../fail-on-flag.ts';
import { print, printJson } from '../output.ts';

export function driftCommand(program: Command): void {
  program
    .command('drift')
    .description('compare the live schema with the snapshot its last applied playbook left; exit 1 when a difference is at or above --fail-on')
    .option('--json', 'machine-readable output')
    // info by default: any difference fails, as drift did before it had severities.
    .option(FAIL_ON_FLAG, failOnHelp('a difference'), failOnLevel('drift'), 'info' as FailOn)
    .action(async (options: { json?: boolean; failOn: FailOn }, cmd: Command) => {
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
          print(count === 0 ? 'no drift' : `${count} difference(s) made outside bellows (${severityCounts(report.differences)}):`);
          for (const d of report.differences) print(`  ${describeDifference(d)}`);
        }
        const failing = countFailing(report.differences, options.failOn);
        if (failing > 0) throw new FindingsError(`drift: ${failing} difference(s) at or above ${options.failOn} since playbook ${report.since.playbook}`);
      }, { migrate: false });
    });
}
