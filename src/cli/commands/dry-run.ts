import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { dryRun } from '../../dry-run/index.ts';
import { phaseReport, reportJson } from '../../dry-run/report.ts';
import type { DryRunResult } from '../../dry-run/index.ts';
import { RunFailedError } from '../../errors.ts';
import { commandLogger } from '../../log.ts';
import { loadPlaybook } from '../../playbook/load.ts';
import { databaseUrl } from '../context.ts';
import { formatDuration, formatNumber, print, printJson } from '../output.ts';
import { stopOnSignals } from '../stop-on-signals.ts';
import { wholeNumber } from '../whole-number-flag.ts';

export function dryRunCommand(program: Command): void {
  program
    .command('dry-run')
    .description('run a playbook to the gate and back, then through contract, on a throw-away copy of the target (schema and sample rows); the target is only read')
    .argument('<playbook>', 'playbook file (.yaml, .yml or .json)')
    .option('--scratch-database', "copy into a scratch database on the target's server (bellows_dryrun_<random>, dropped afterwards) instead of an embedded PostgreSQL")
    .option('--sample-rows <n>', 'rows sampled from each table', wholeNumber('--sample-rows', 1), 10_000)
    .option('--json', 'machine-readable output')
    .action(async (path: string, options, cmd: Command) => {
      const playbook = await loadPlaybook(path);
      const globals = cmd.optsWithGlobals();
      const say = options.json ? () => {} : print;
      const interrupted = stopOnSignals('dry-run');
      let result: DryRunResult;
      try {
        result = await dryRun({
          targetUrl: databaseUrl(globals),
          stateSchema: globals.stateSchema,
          playbook,
          directory: dirname(resolve(path)),
          sampleRows: options.sampleRows,
          copy: options.scratchDatabase ? 'scratch-database' : 'embedded',
          log: commandLogger(),
          signal: interrupted.signal,
          progress: say,
        });
      } catch (err) {
        if (interrupted.aborted) throw new RunFailedError('dry-run interrupted; its copy is removed, the target was only read');
        throw err;
      } finally {
        interrupted.release();
      }
      const report = reportJson(result);
      if (options.json) printJson(report);
      else printReport(report);
      const failed = report.passes.find((p) => !p.ok);
      if (failed) throw new RunFailedError(`dry run of ${playbook.name} failed in ${PASS_TITLES[failed.name]}, phase ${failed.failure!.phase}: ${failed.failure!.message}`);
      if (!options.json) print(`dry run of ${playbook.name} passed: to the gate and rolled back, then contracted; the target was only read`);
    });
}

const PASS_TITLES = { rollback: 'start → gate → rollback', contract: 'start → gate → approve → contract' } as const;

function printReport(report: ReturnType<typeof reportJson>): void {
  if (report.orphansRemoved > 0) print(`${formatNumber(report.orphansRemoved)} sampled rows whose foreign-key parent was not sampled were left out`);
  for (const pass of report.passes) {
    print(`${PASS_TITLES[pass.name]}: ${pass.ok ? 'ok' : `FAILED in ${pass.failure!.phase}: ${pass.failure!.message}`}`);
    for (const p of pass.phases) print(`  ${phaseLine(p)}`);
  }
}

function phaseLine(p: ReturnType<typeof phaseReport>): string {
  const took = `${p.phase.padEnd(10)} ${seconds(p.seconds).padStart(8)}`;
  if (p.estimatedSeconds === null) return took;
  return `${took}  ${formatNumber(p.rows).padStart(9)} rows   on the target's table sizes: ~${formatDuration(p.estimatedSeconds)}`;
}

function seconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)}s` : formatDuration(s);
}
