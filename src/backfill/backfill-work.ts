import type pg from 'pg';
import { ident } from '../db/sql.ts';
import type { CompiledTable } from '../engine/compile.ts';
import type { BatchWork } from './walker.ts';
import { keyset } from './keyset.ts';

/** The statement of one backfill batch: every new column of the table, set from the old ones, over one key range. */
export function backfillStatement(table: CompiledTable, where: string): string {
  const sets = table.backfill.map((t) => `${ident(t.column)} = (${t.expression})`).join(', ');
  return `UPDATE ${keyset(table.ref, table.key!).table} SET ${sets} WHERE ${where}`;
}

export function backfillWork(table: CompiledTable): BatchWork {
  return async (client: pg.ClientBase, where: string, params: unknown[]) => {
    const result = await client.query(backfillStatement(table, where), params);
    return result.rowCount ?? 0;
  };
}
