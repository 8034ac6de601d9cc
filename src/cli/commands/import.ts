import type { Command } from 'commander';
import { importPgroll, type ImportOptions, type ImportResult } from '../../import/pgroll/import.ts';
import { withDatabase } from '../context.ts';
import { print } from '../output.ts';

function report(result: ImportResult, pgrollSchema: string): void {
  for (const w of result.written) print(`wrote ${w.file} (from ${w.from})`);
  if (result.recorded.length) print(`recorded ${result.recorded.length} migration(s) from ${pgrollSchema}.migrations as applied: ${result.recorded.join(', ')}`);
}

export function importCommand(program: Command): void {
  const imports = program.command('import').description('convert another tool’s migrations into bellows playbooks');
  imports
    .command('pgroll')
    .description('convert pgroll migrations (JSON or YAML) into playbooks, one per migration; all or nothing')
    .argument('<path>', 'a pgroll migration file, or a directory of them')
    .option('--out <dir>', 'where the playbooks are written', '.')
    .option('--history', 'also record the migrations pgroll applied to the database (pgroll.migrations) as applied')
    .option('--pgroll-schema <name>', 'the schema of pgroll’s own state', 'pgroll')
    .option('--schema <name>', 'the schema the migrations change, as pgroll’s --schema: their table names are qualified with it', 'public')
    .action(async (path: string, options: { out: string; history?: boolean; pgrollSchema: string; schema: string }, cmd: Command) => {
      const base: ImportOptions = { path, outDir: options.out, schema: options.schema };
      if (!options.history) return report(await importPgroll(base), options.pgrollSchema);
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const result = await importPgroll({ ...base, history: { pool: ctx.pool, store: ctx.store, pgrollSchema: options.pgrollSchema } });
        report(result, options.pgrollSchema);
      });
    });
}
