import pg from 'pg';
import { inject } from 'vitest';
import { catalogSnapshot } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/db.ts';

/** The scratch database a dry run named in its `copy:` line (not with --json); undefined for an embedded copy. */
export function scratchDatabaseOf(stdout: string): string | undefined {
  return /^copy: scratch database (bellows_dryrun_\w+)/m.exec(stdout)?.[1];
}

/**
 * Whether a scratch database is on the server. A test asks about the copy its
 * own dry run named, never whether the server has none: other test files dry-run
 * on the same server at the same time.
 */
export async function databaseExists(name: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  try {
    return (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

/** Everything a write could change: the catalog, every table's rows (bellows' own too) as a digest. */
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
  return { catalog, rows };
}
