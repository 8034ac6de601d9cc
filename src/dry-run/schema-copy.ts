import { runClientTool } from './client-tools.ts';

/**
 * The target's whole user schema, not only the playbook's tables: a table's
 * defaults call functions, its columns have domain and enum types, views and
 * triggers depend on it, and a contract that drops a column must meet those
 * dependants as it would in production. Following all of that with `pg_dump
 * -t` misses some (functions are not dumped with -t); the whole schema is
 * small and cannot miss any. bellows' state schema stays out: the copy gets
 * its own, empty one.
 *
 * Two halves, so the sample rows go in between: pre-data (types, tables,
 * sequences, functions) before them, post-data (primary keys, indexes,
 * constraints, triggers) after, as pg_restore does, so user triggers do not
 * fire on the copied rows and foreign keys are checked once, over them all.
 */
export type DumpSection = 'pre-data' | 'post-data';

export interface SchemaDumpOptions {
  stateSchema: string;
  /** Grants name roles; only a copy on the same server has them. */
  withPrivileges: boolean;
}

export async function dumpSchema(targetUrl: string, section: DumpSection, options: SchemaDumpOptions): Promise<string> {
  const args = [
    '--schema-only',
    `--section=${section}`,
    `--exclude-schema=${options.stateSchema}`,
    '--no-owner',
    // A subscription restored would connect to its publisher and start replicating: never.
    '--no-subscriptions',
    '--no-publications',
    '--no-tablespaces',
    '--no-security-labels',
    // COMMENT ON EXTENSION needs the extension's owner; comments change nothing a playbook does.
    '--no-comments',
  ];
  if (!options.withPrivileges) args.push('--no-privileges');
  return runClientTool('pg_dump', args, targetUrl, { readOnly: true });
}

/** Runs a dump on the copy in one transaction: a schema half there is no use to anyone. */
export async function restoreSchema(copyUrl: string, dump: string): Promise<void> {
  await runClientTool('psql', ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--single-transaction', '--file=-'], copyUrl, { input: dump });
}
