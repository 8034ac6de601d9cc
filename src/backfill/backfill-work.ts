import type pg from 'pg';
import { ident } from '../db/sql.ts';
import type { CompiledTable } from '../engine/compile.ts';
import { isColumnFill, isRowCopy, isSeedRows, type BackfillTarget, type ColumnFill, type RowCopy } from '../operations/operation.ts';
import type { BatchWork } from './walker.ts';
import { keyset } from './keyset.ts';
import { seedBatchStatements } from './seed-rows.ts';

/** The targets that set a column of the walked table itself. */
export function columnFills(targets: BackfillTarget[]): ColumnFill[] {
  return targets.filter(isColumnFill);
}

/**
 * The statements of one backfill batch over one key range: one UPDATE that sets
 * every new column of the table from the old ones, then one INSERT per table the
 * rows are copied into; or, walking a seed's staged lines, the seed's batch.
 */
export function backfillStatements(table: CompiledTable, where: string): string[] {
  const seed = table.backfill.find(isSeedRows);
  if (seed) return seedBatchStatements(seed.seed, where);
  const from = keyset(table.ref, table.key!).table;
  const fills = columnFills(table.backfill);
  const copies = table.backfill.filter(isRowCopy);
  const update = fills.length ? [`UPDATE ${from} SET ${fills.map((t) => `${ident(t.column)} = (${t.expression})`).join(', ')} WHERE ${where}`] : [];
  return [...update, ...copies.map((c) => copyStatement(c, from, where))];
}

function copyStatement({ copy }: RowCopy, from: string, where: string): string {
  return `INSERT INTO ${copy.into} (${copy.columns.join(', ')}) SELECT ${copy.select.join(', ')} FROM ${from} WHERE ${where} FOR SHARE ON CONFLICT ${copy.onConflict} DO NOTHING`;
}

/** The batch's row count is its largest statement's: a copy skips the rows already there, an upsert rows already equal. */
export function backfillWork(table: CompiledTable): BatchWork {
  return async (client: pg.ClientBase, where: string, params: unknown[]) => {
    let rows = 0;
    for (const statement of backfillStatements(table, where)) {
      const result = await client.query(statement, params);
      rows = Math.max(rows, result.rowCount ?? 0);
    }
    return rows;
  };
}
