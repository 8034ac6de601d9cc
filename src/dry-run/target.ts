import type pg from 'pg';
import { connect } from '../db/pool.ts';
import { EnvironmentError } from '../errors.ts';

/**
 * The database a dry run copies from. It is only ever read: every session is
 * opened with default_transaction_read_only, so even a bug in the dry run
 * (a statement meant for the copy sent here) fails instead of writing, and
 * the session proves the setting took before anything is read.
 */
export async function openReadOnlyTarget(url: string): Promise<pg.Pool> {
  const pool = await connect(url, 2, '-c default_transaction_read_only=on');
  const { rows } = await pool.query<{ ro: string }>(`SELECT current_setting('transaction_read_only') AS ro`);
  if (rows[0].ro !== 'on') {
    await pool.end().catch(() => {});
    throw new EnvironmentError('the target database did not open a read-only session; the dry run reads it only that way');
  }
  return pool;
}

export interface TargetTable {
  schema: string;
  name: string;
  /** The planner's estimate of the table's rows (pg_class.reltuples); -1 for a table never analyzed. */
  estimatedRows: number;
}

/** Ordinary and partitioned tables outside PostgreSQL's schemas and bellows' state schema: what the copy gets rows for. */
export async function userTables(target: pg.Pool, stateSchema: string): Promise<TargetTable[]> {
  const { rows } = await target.query<{ schema: string; name: string; estimated: number }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS estimated
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1) AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
    [stateSchema],
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name, estimatedRows: Number(r.estimated) }));
}

/** Each sequence's last value, so rows inserted on the copy do not collide with the sampled ones. */
export async function sequenceValues(target: pg.Pool, stateSchema: string): Promise<Array<{ schema: string; name: string; lastValue: string }>> {
  const { rows } = await target.query<{ schema: string; name: string; last: string }>(
    `SELECT schemaname AS schema, sequencename AS name, last_value::text AS last FROM pg_sequences
      WHERE last_value IS NOT NULL AND schemaname <> $1 AND schemaname NOT IN ('pg_catalog', 'information_schema')`,
    [stateSchema],
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name, lastValue: r.last }));
}
