import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { OpContext, Probe } from './operation.ts';

/**
 * What the names an operation is written with mean in the physical table.
 *
 * A playbook's operations see the new version as the earlier ones left it: a
 * column rename_column renamed is known by its new name at once. The table
 * itself changes only at contract: until then the column keeps its old name
 * (and one alter_column changes lives in a shadow column). So every statement an
 * operation runs before contract (expand, dual-write, verify, rollback) names
 * the physical columns, found here from `ctx.columnsBefore`; its contract runs
 * after the earlier operations' contracts, when the table has the names the
 * operation was written with. PostgreSQL keeps a constraint or an index on its
 * column (by number, not name) through a rename, so what expand made on
 * `score` is on `points` once contract renamed it.
 */

/** The physical column a name of the new version stands for until contract; an unknown name is left as it is (validate refuses it). */
export function physicalColumn(ctx: Pick<OpContext, 'columnsBefore'>, name: string): string {
  return ctx.columnsBefore.find((c) => c.name === name)?.physical ?? name;
}

/** Whether an earlier operation gives a column a name or a place the table will only have at contract. */
function anyMoved(ctx: Pick<OpContext, 'columnsBefore'>): boolean {
  return ctx.columnsBefore.some((c) => c.name !== c.physical);
}

/**
 * Resolves a condition (a CHECK's, an index's WHERE) written over the new
 * version's names to the same condition over the physical columns, for the
 * operation's phases to take with `physicalCondition`. PostgreSQL resolves the
 * names, so a name inside a string, a function's or a type's is never touched.
 * Refused with one line starting `at` (the field) if PostgreSQL would not take it as a
 * table's condition (a subquery, say).
 */
export async function resolveCondition(ctx: OpContext, probe: Probe, at: string, condition: string): Promise<void> {
  if (!anyMoved(ctx) || ctx.physicalConditions.has(condition)) return;
  const resolved = await probe.physicalCondition(condition, ctx.columnsBefore);
  if ('error' in resolved) throw new InputError(printableLine(`${at}: ${resolved.error}`));
  ctx.physicalConditions.set(condition, resolved.condition);
}

/** A condition as `resolveCondition` resolved it in validate: as written when no earlier operation moved a column. */
export function physicalCondition(ctx: Pick<OpContext, 'columnsBefore' | 'physicalConditions' | 'index'>, condition: string): string {
  if (!anyMoved(ctx)) return condition;
  const resolved = ctx.physicalConditions.get(condition);
  // A phase asking for a condition its validate did not resolve is a bug in the operation, found when the plan is made.
  if (resolved === undefined) throw new Error(`plan: operations[${ctx.index}] did not resolve the condition ${condition} in validate`);
  return resolved;
}

/**
 * An expression (an index key) is resolved as the condition `(<expression>) IS
 * NULL`, which PostgreSQL prints back as `(<expression over the physical
 * columns> IS NULL)`: the same renaming, for a value of any type.
 */
const asNullTest = (expression: string) => `(${expression}) IS NULL`;
const NULL_TEST_END = ' IS NULL)';

export async function resolveExpression(ctx: OpContext, probe: Probe, at: string, expression: string): Promise<void> {
  await resolveCondition(ctx, probe, at, asNullTest(expression));
}

/** An expression as `resolveExpression` resolved it in validate: as written when no earlier operation moved a column. */
export function physicalExpression(ctx: Pick<OpContext, 'columnsBefore' | 'physicalConditions' | 'index'>, expression: string): string {
  if (!anyMoved(ctx)) return expression;
  const test = physicalCondition(ctx, asNullTest(expression));
  if (!test.startsWith('(') || !test.endsWith(NULL_TEST_END)) throw new Error(`plan: PostgreSQL printed the test of ${expression} as ${test}`);
  return test.slice(1, -NULL_TEST_END.length);
}
