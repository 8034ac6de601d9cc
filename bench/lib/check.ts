import type pg from 'pg';
import { ident } from '../../src/db/sql.ts';

/** A column a backfill fills, and the value each row must end up with there. */
export interface FillTarget {
  /** The table, as SQL (already quoted). */
  table: string;
  column: string;
  /** SQL over the row's own columns. */
  expression: string;
}

/**
 * Rows of the table, and rows whose column is not yet the expression: `missing`
 * is 0 once a backfill has reached every row. A figure is only worth reporting
 * for a backfill that did all of its work, so every timed backfill is checked.
 */
export async function fillState(db: pg.Pool, target: FillTarget): Promise<{ rows: number; missing: number }> {
  const { rows } = await db.query<{ rows: number; missing: number }>(
    `SELECT count(*)::float8 AS rows, (count(*) FILTER (WHERE ${ident(target.column)} IS DISTINCT FROM (${target.expression})))::float8 AS missing
       FROM ${target.table}`,
  );
  return rows[0];
}

/** Throws unless the backfill reached every row of a non-empty table; returns the table's rows. */
export async function requireFilled(db: pg.Pool, target: FillTarget, who: string): Promise<number> {
  const { rows, missing } = await fillState(db, target);
  if (rows === 0) throw new Error(`${target.table} is empty: nothing was measured`);
  if (missing > 0) throw new Error(`${who} left ${missing} of ${rows} rows of ${target.table} without ${target.column} = ${target.expression}`);
  return rows;
}
