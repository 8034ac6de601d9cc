import pg from 'pg';
import { inject } from 'vitest';
import { catalogSnapshot } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/db.ts';

/** The server's scratch databases: a dry run must leave none. */
export async function scratchDatabases(): Promise<string[]> {
  const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  try {
    return (await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'bellows\\_dryrun\\_%' ORDER BY 1`)).rows.map((r) => r.datname);
  } finally {
    await admin.end();
  }
}

/** Everything a write could change: the catalog, every table's rows (bellows' own too) as a digest, the server's databases. */
export async function targetSnapshot(db: TestDatabase) {
  const catalog = await catalogSnapshot(db.pool);
  const { rows: tables } = await db.query<{ t: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const rows: Record<string, unknown> = {};
  for (const { t } of tables) {
    rows[t] = (await db.query(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS md5 FROM ${t} x`)).rows[0];
  }
  return { catalog, rows, databases: await scratchDatabases() };
}
