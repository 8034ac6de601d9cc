import type { Command } from 'commander';
import type pg from 'pg';
import { connect } from '../../db/pool.ts';
import { redactUrl } from '../../db/redact.ts';
import { FindingsError } from '../../errors.ts';
import { diffEnvironments, environmentFindings, type EnvironmentDiff } from '../../snapshot/environments.ts';
import { describeDifference, severityColumn, severityCounts } from '../../snapshot/describe.ts';
import { countFailing, type FailOn } from '../../util/severity.ts';
import type { GlobalOptions } from '../context.ts';
import { FAIL_ON_FLAG, failOnHelp, failOnLevel } from '../fail-on-flag.ts';
import { print, printJson } from '../output.ts';

function printDiff(d: EnvironmentDiff, a: string, b: string): void {
  print(`a: ${a}`);
  print(`b: ${b}`);
  const { playbooks } = d;
  const list = (names: string[]) => (names.length ? names.join(', ') : '(none)');
  print(`playbooks applied, in order: a: ${list(playbooks.a)}`);
  print(`                             b: ${list(playbooks.b)}`);
  // The same severity column as the schema differences below.
  const flagged = (line: string) => print(`  ${severityColumn(playbooks.severity ?? 'warning')}  ${line}`);
  if (playbooks.onlyInA.length) flagged(`only in a: ${playbooks.onlyInA.join(', ')}`);
  if (playbooks.onlyInB.length) flagged(`only in b: ${playbooks.onlyInB.join(', ')}`);
  if (playbooks.order) flagged(`applied in another order: a ${playbooks.order.a.join(' → ')}; b ${playbooks.order.b.join(' → ')}`);
  for (const [side, runs] of [['a', d.inFlight.a], ['b', d.inFlight.b]] as const) {
    if (runs.length) print(`note: runs in flight in ${side}: ${runs.map((r) => `${r.runId} (${r.playbookName})`).join(', ')}`);
  }
  print(d.differences.length === 0 ? 'schemas: the same' : `schemas: ${d.differences.length} difference(s) from a to b (${severityCounts(d.differences)}):`);
  for (const x of d.differences) print(`  ${describeDifference(x)}`);
}

export function diffCommand(program: Command): void {
  program
    .command('diff')
    .description('compare two databases (e.g. staging and production): the playbooks each applied, in order, and their schemas; exit 1 when a difference is at or above --fail-on')
    .argument('<url-a>', 'connection string of the first database')
    .argument('<url-b>', 'connection string of the second database')
    .option('--json', 'machine-readable output')
    // info by default: any difference fails, as diff did before it had severities.
    .option(FAIL_ON_FLAG, failOnHelp('a difference'), failOnLevel('diff'), 'info' as FailOn)
    .action(async (urlA: string, urlB: string, options: { json?: boolean; failOn: FailOn }, cmd: Command) => {
      const { stateSchema } = cmd.optsWithGlobals() as GlobalOptions;
      const pools: pg.Pool[] = [];
      try {
        pools.push(await connect(urlA, 2));
        pools.push(await connect(urlB, 2));
        const d = await diffEnvironments(pools[0], pools[1], stateSchema);
        const [a, b] = [redactUrl(urlA), redactUrl(urlB)];
        if (options.json) printJson({ a, b, ...d });
        else printDiff(d, a, b);
        const failing = countFailing(environmentFindings(d), options.failOn);
        if (failing > 0) throw new FindingsError(`diff: the two databases differ: ${failing} difference(s) at or above ${options.failOn}`);
      } finally {
        await Promise.all(pools.map((p) => p.end().catch(() => {})));
      }
    });
}
