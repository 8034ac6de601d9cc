import { ident } from '../db/sql.ts';
import type { CompiledTable } from '../engine/compile.ts';
import type { VerifyCheck } from '../operations/operation.ts';

/** The condition under which a row is wrong for one check. */
export function mismatchCondition(check: VerifyCheck): string {
  const column = ident(check.column);
  if (check.expression) return `${column} IS DISTINCT FROM (${check.expression})`;
  return `${column} IS NULL`;
}

export function anyMismatch(table: CompiledTable): string {
  return table.verify.map((c) => `(${mismatchCondition(c)})`).join(' OR ') || 'false';
}

/** One JSON object per wrong row: the key, and for each check the value found and the value expected. */
export function mismatchReport(table: CompiledTable): string {
  const key = table.key!.map((k) => `${ident(k.name)}::text`).join(` || ', ' || `);
  const fields = table.verify.map(
    (c) =>
      `${JSON.stringify(c.column).replace(/"/g, "'")}, jsonb_build_object('actual', ${ident(c.column)}::text, 'expected', ${c.expression ? `(${c.expression})::text` : `'NOT NULL'`}, 'wrong', ${mismatchCondition(c)})`,
  );
  return `jsonb_build_object('key', ${key}, 'columns', jsonb_build_object(${fields.join(', ')}))`;
}
