import { ident, literal, qualified } from '../db/sql.ts';
import type { Keyset } from '../backfill/keyset.ts';
import type { CompiledTable } from '../engine/compile.ts';
import type { VerifyCheck } from '../operations/operation.ts';

/** The condition under which a row is wrong for one check. */
export function mismatchCondition(check: VerifyCheck): string {
  if (check.wrongWhen) return `(${check.wrongWhen})`;
  const column = ident(check.column);
  if (check.expression) return `${column} IS DISTINCT FROM (${check.expression})`;
  return `${column} IS NULL`;
}

export function anyMismatch(table: CompiledTable): string {
  return table.verify.map((c) => `(${mismatchCondition(c)})`).join(' OR ') || 'false';
}

/** One chunk's rows, from the table's keyset (`from` aliases the row `t`, as `wrongWhen` needs it), and how many of them are wrong. */
export function verifyCount(table: CompiledTable, ks: Pick<Keyset, 'from'>, where: string): string {
  return `SELECT count(*)::int AS n, count(*) FILTER (WHERE ${anyMismatch(table)})::int AS bad FROM ${ks.from} WHERE ${where}`;
}

/**
 * One JSON object per wrong row: the key, and for each check the value found and the
 * value expected; a `wrongWhen` check, that it holds (`problem`: the check says what).
 */
export function mismatchReport(table: CompiledTable): string {
  const key = table.key!.map((k) => `${ident(k.name)}::text`).join(` || ', ' || `);
  const fields = table.verify.map((c) =>
    c.wrongWhen
      ? `${literal(c.column)}, jsonb_build_object('problem', true, 'wrong', ${mismatchCondition(c)})`
      : `${literal(c.column)}, jsonb_build_object('actual', ${ident(c.column)}::text, 'expected', ${c.expression ? `(${c.expression})::text` : `'NOT NULL'`}, 'wrong', ${mismatchCondition(c)})`,
  );
  return `jsonb_build_object('key', ${key}, 'columns', jsonb_build_object(${fields.join(', ')}))`;
}

/** `--repair`: re-applies each check's expression to the rows of the chunk it finds wrong; null if no check has one. */
export function repairStatement(table: CompiledTable, where: string): string | null {
  const repairable = table.verify.filter((c) => c.repairWith ?? c.expression);
  if (!repairable.length) return null;
  const sets = repairable
    .map((c) => `${ident(c.column)} = CASE WHEN ${mismatchCondition(c)} THEN (${c.repairWith ?? c.expression}) ELSE ${ident(c.column)} END`)
    .join(', ');
  const wrong = repairable.map((c) => `(${mismatchCondition(c)})`).join(' OR ');
  return `UPDATE ${qualified(table.ref)} SET ${sets} WHERE (${where}) AND (${wrong})`;
}
