import type { Command } from 'commander';
import { FindingsError, InputError } from '../../errors.ts';
import { liveFacts } from '../../lint/live.ts';
import { lintPlaybook, type LiveTarget } from '../../lint/lint-playbook.ts';
import { playbookFiles } from '../../lint/playbook-files.ts';
import { humanLine, sarif } from '../../lint/report.ts';
import type { Finding } from '../../lint/rule.ts';
import { loadPlaybook } from '../../playbook/load.ts';
import { countFailing, type FailOn } from '../../util/severity.ts';
import { FAIL_ON_FLAG, failOnHelp, failOnLevel } from '../fail-on-flag.ts';
import { withDatabase, type GlobalOptions } from '../context.ts';
import { print, printJson } from '../output.ts';

const FORMATS = ['human', 'json', 'sarif'] as const;

interface LintOptions {
  json?: boolean;
  format: string;
  failOn: FailOn;
}

async function lintFiles(files: string[], live?: LiveTarget): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const file of files) findings.push(...(await lintPlaybook(await loadPlaybook(file), file, live)));
  return findings;
}

export function lintCommand(program: Command): void {
  program
    .command('lint')
    .description('check every statement a playbook would run with PostgreSQL’s own parser; with a database, also live sizes, volatility and sample rows (read-only)')
    .argument('<path>', 'a playbook file, or a directory of them')
    .option('--json', 'machine-readable output (same as --format json)')
    .option('--format <format>', `output: ${FORMATS.join(', ')}`, 'human')
    .option(FAIL_ON_FLAG, failOnHelp('a finding'), failOnLevel('lint'), 'error' as FailOn)
    .action(async (path: string, options: LintOptions, cmd: Command) => {
      const format = options.json ? 'json' : options.format;
      if (!(FORMATS as readonly string[]).includes(format)) throw new InputError(`lint: --format must be one of ${FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
      const { failOn } = options;
      const files = await playbookFiles(path);
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      const findings =
        globals.databaseUrl === undefined
          ? await lintFiles(files)
          : await withDatabase(globals, (ctx) => lintFiles(files, { pool: ctx.pool, stateSchema: ctx.store.schemaName, facts: liveFacts(ctx.pool) }), { migrate: false, poolSize: 2 });
      if (format === 'json') printJson({ findings });
      else if (format === 'sarif') printJson(sarif(findings, program.version() ?? ''));
      else {
        for (const finding of findings) print(humanLine(finding));
        print(`${files.length} playbook(s), ${findings.length} finding(s)`);
      }
      const failing = countFailing(findings, failOn);
      if (failing) throw new FindingsError(`lint: ${failing} finding(s) at or above ${failOn}`);
    });
}
