import type pg from 'pg';
import { ident, qualified } from '../db/sql.ts';
import type { TargetTable } from './target.ts';

/**
 * A table that other tables reference and that holds at most this many rows is
 * copied whole, so that the sampled rows of its children keep their parents.
 */
export const WHOLE_PARENT_LIMIT = 100_000;

/**
 * How many of a table's rows to take, and how. A table no bigger than the
 * sample is read whole; a bigger one through TABLESAMPLE SYSTEM, which reads
 * only the sampled pages (a dry run must not scan a production table end to
 * end). The page sample is drawn twice as large as needed, because pages hold
 * uneven numbers of live rows, and cut with LIMIT: never OFFSET.
 */
export function sampleQuery(table: TargetTable, columns: string[], limit: number): string {
  const list = columns.map(ident).join(', ');
  const from = qualified({ schema: table.schema, name: table.name });
  if (table.estimatedRows >= 0 && table.estimatedRows <= limit) return `SELECT ${list} FROM ${from} LIMIT ${limit}`;
  const percent = table.estimatedRows < 0 ? 100 : Math.min(100, (200 * limit) / table.estimatedRows);
  return `SELECT ${list} FROM ${from} TABLESAMPLE SYSTEM (${percent.toFixed(6)}) LIMIT ${limit}`;
}

/**
 * Copies a sample of each table's rows from the target (read-only) to the copy.
 * Rows travel as one JSON text per table, decoded by PostgreSQL on both ends:
 * numeric, bigint and timestamps never pass through JavaScript numbers.
 * Generated columns are left for the copy to compute; identity columns keep
 * their values (OVERRIDING SYSTEM VALUE).
 */
export async function copySampleRows(target: pg.Pool, copy: pg.Pool, tables: TargetTable[], sampleRows: number, parents: Set<string>): Promise<void> {
  for (const table of tables) {
    const columns = await copyableColumns(target, table);
    if (columns.length === 0) continue;
    const limit = parents.has(tableName(table)) ? Math.max(sampleRows, WHOLE_PARENT_LIMIT) : sampleRows;
    const { rows } = await target.query<{ rows: string | null }>(`SELECT json_agg(s)::text AS rows FROM (${sampleQuery(table, columns, limit)}) s`);
    if (!rows[0].rows) continue;
    const into = qualified({ schema: table.schema, name: table.name });
    const list = columns.map(ident).join(', ');
    await copy.query(`INSERT INTO ${into} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM json_populate_recordset(NULL::${into}, $1::json)`, [rows[0].rows]);
  }
}

export function tableName(table: { schema: string; name: string }): string {
  return `${table.schema}.${table.name}`;
}

async function copyableColumns(target: pg.Pool, table: TargetTable): Promise<string[]> {
  const { rows } = await target.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_attribute a
      WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
    [table.schema, table.name],
  );
  return rows.map((r) => r.name);
}
