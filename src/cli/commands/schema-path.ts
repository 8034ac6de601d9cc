import type { Command } from 'commander';
import { ident } from '../../db/sql.ts';
import { schemaExists } from '../../catalog/introspect.ts';
import type { RunRecord } from '../../state/types.ts';
import type pg from 'pg';
import { withDatabase } from '../context.ts';
import { print } from '../output.ts';

/**
 * The search_path an application of the new version sets while a run is between
 * dual-write and contract: the run's version schema first (its views show the
 * new shape), then the schemas of the run's tables. Before dual-write and after
 * contract or rollback there is no version schema, and the tables' schemas are
 * the whole answer: the new shape is then the tables themselves (or never was).
 */
export async function searchPath(db: pg.Pool, run: RunRecord): Promise<string> {
  // Tables are named `schema.table`; other objects a run claims carry their kind first and are not tables.
  const schemas = [...new Set(run.tables.filter((t) => !t.includes(' ')).map((t) => t.split('.')[0]))];
  if (schemas.length === 0) schemas.push('public');
  const version = run.plan.versionSchema;
  const live = await schemaExists(db, version);
  return [...(live ? [version] : []), ...schemas].map(ident).join(', ');
}

export function schemaPathCommand(program: Command): void {
  program
    .command('schema-path')
    .description('the search_path an application sets to see the new version of a run (e.g. PGOPTIONS="-c search_path=…")')
    .argument('<run>', 'run id, or playbook name for its latest run')
    .action(async (ref: string, _options, cmd: Command) => {
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        print(await searchPath(ctx.pool, await ctx.store.findRun(ref)));
      }, { migrate: false });
    });
}
