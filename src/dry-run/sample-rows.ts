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
 * end), cut with LIMIT: never OFFSET. Pages hold uneven numbers of live rows,
 * so the first draw is twice as large as needed, and a short one is drawn
 * again twice as large, up to the whole table.
 */
function sampleQueries(table: TargetTable, columns: string[], limit: number): string[] {
  const list = columns.map(ident).join(', ');
  const from = qualified({ schema: table.schema, name: table.name });
  const whole = `SELECT ${list} FROM ${from} LIMIT ${limit}`;
  if (table.estimatedRows >= 0 && table.estimatedRows <= limit) return [whole];
  const queries: string[] = [];
  for (let percent = table.estimatedRows < 0 ? 100 : (200 * limit) / table.estimatedRows; percent < 100; percent *= 2) {
    queries.push(`SELECT ${list} FROM ${from} TABLESAMPLE SYSTEM (${percent.toFixed(6)}) LIMIT ${limit}`);
  }
  return [...queries, whole];
}

async function sampleJson(target: pg.Pool, table: TargetTable, columns: string[], limit: number): Promise<string | null> {
  let rows: string | null = null;
  for (const query of sampleQueries(table, columns, limit)) {
    const { rows: found } = await target.query<{ rows: string | null; n: number }>(`SELECT json_agg(s)::text AS rows, count(*)::int AS n FROM (${query}) s`);
    rows = found[0].rows;
    if (found[0].n >= limit) break;
  }
  return rows;
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
    const rows = await sampleJson(target, table, columns, limit);
    if (!rows) continue;
    const into = qualified({ schema: table.schema, name: table.name });
    const list = columns.map(ident).join(', ');
    await copy.query(`INSERT INTO ${into} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM json_populate_recordset(NULL::${into}, $1::json)`, [rows]);
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
