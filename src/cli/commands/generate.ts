import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { redactUrl } from '../../db/redact.ts';
import { InputError } from '../../errors.ts';
import { generateChanges } from '../../generate/index.ts';
import { renderPlaybook } from '../../generate/render.ts';
import { databaseUrl, withDatabase } from '../context.ts';
import { print, warn } from '../output.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `generated_20261130_081500`: unique enough, and a valid playbook name (it becomes the version schema). */
function defaultName(at: Date): string {
  return `generated_${at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '_')}`;
}

export function generateCommand(program: Command): void {
  program
    .command('generate')
    .description('write a playbook that takes the live database to a desired schema (a SQL file of CREATE statements, or a snapshot file); review it before running it')
    .requiredOption('--from <file>', 'the desired schema: a .sql file (loaded into a throw-away database) or a .json snapshot (bellows snapshot)')
    .option('--rename <from=to>', 'a rename, which generate cannot tell from a drop and an add: table=new_name or table.column=new_name (repeatable)', collect, [])
    .option('--name <name>', 'the playbook name (default generated_<UTC time>)')
    .option('--output <file>', 'write the playbook here instead of stdout')
    .option('--scratch-database', "load the SQL file into a scratch database on the target's server (bellows_dryrun_<random>, dropped afterwards) instead of an embedded PostgreSQL")
    .action(async (options, cmd: Command) => {
      const globals = cmd.optsWithGlobals();
      const at = new Date();
      const url = databaseUrl(globals);
      const changes = await withDatabase(
        globals,
        (ctx) => generateChanges(ctx.store, { path: options.from, copy: options.scratchDatabase ? 'scratch-database' : 'embedded', targetUrl: url, stateSchema: ctx.store.schemaName }, options.rename),
        { migrate: false, poolSize: 2 },
      );
      if (!changes) {
        warn(`generate: the live database already has the schema of ${options.from}; no playbook written`);
        return;
      }
      const name = options.name ?? defaultName(at);
      if (!/^[a-z0-9][a-z0-9_]{0,49}$/.test(name)) throw new InputError(`generate: --name ${JSON.stringify(name)}: lowercase letters, digits and _, at most 50`);
      const text = renderPlaybook({ name, source: options.from, target: redactUrl(url), at, changes });
      if (options.output) {
        await writeFile(options.output, text);
        warn(`generate: wrote ${options.output}: ${changes.operations.length} operation(s), ${changes.flagged.length} flagged; review it, then bellows lint and bellows start it`);
      } else print(text.trimEnd());
    });
}
