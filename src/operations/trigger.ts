import { ident, literal, qualified } from '../db/sql.ts';
import type { Action } from '../engine/action.ts';
import type { OpContext } from './operation.ts';
import { names } from './names.ts';

export interface RowShape {
  /** The name an expression uses for the column. */
  name: string;
  /** The physical column holding it. */
  physical: string;
}

/**
 * PL/pgSQL variables named after the columns, so that a playbook's expression
 * (`lower(email)`) means the same in the trigger as in the backfill's UPDATE.
 * Only columns whose name occurs in the statements get one: the trigger runs
 * for every application write, and on a wide table copying every column of
 * every row would be most of its cost. Matching the name as a word anywhere
 * (even inside a string) can only declare too many, never too few.
 */
function declareRow(ctx: OpContext, shape: RowShape[], statements: string): string {
  const table = qualified(ctx.table.ref);
  const used = shape.filter((c) => new RegExp(`(^|[^\\w$])${escapeRegExp(c.name)}($|[^\\w$])`, 'i').test(statements));
  const declarations = used.map((c) => `      ${ident(c.name)} ${table}.${ident(c.physical)}%TYPE := NEW.${ident(c.physical)};`);
  return declarations.join('\n') || '      -- no column of the row is used';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A PL/pgSQL block in which the column names mean the row in the given shape. */
function declareBlock(ctx: OpContext, shape: RowShape[], statements: string): string {
  return `DECLARE\n${declareRow(ctx, shape, statements)}\n    BEGIN\n      ${statements}\n    END;`;
}

/**
 * A nested block in which the column names mean the row as the old application
 * sees it, for statements of the new application's branch that need `up`.
 */
export function inOldShape(ctx: OpContext, statements: string): string {
  return declareBlock(ctx, oldShape(ctx), statements);
}

function oldShape(ctx: OpContext): RowShape[] {
  return ctx.table.original.columns.map((c) => ({ name: c.name, physical: c.name }));
}

function newShape(ctx: OpContext): RowShape[] {
  return (ctx.columnsAfter ?? ctx.table.columns).map((c) => ({ name: c.name, physical: c.physical }));
}

/**
 * The dual-write trigger of one operation. Which application wrote the row is
 * told by its search_path: the new application puts the version schema first.
 * The backfill marks its own transactions, because it writes both sides itself;
 * the trigger's WHEN clause tests that mark, so the backfill's UPDATE never calls
 * the PL/pgSQL function at all (a call per row that returned at once cost 14%).
 */
/** True outside the backfill's own transactions, which set `bellows.backfill` to on. */
const NOT_BACKFILL = `current_setting('bellows.backfill', true) IS DISTINCT FROM 'on'`;

export function dualWriteTrigger(
  ctx: OpContext,
  body: { fromOldApp?: string; fromNewApp?: string },
): Action[] {
  const fn = `${ident(ctx.table.ref.schema)}.${ident(names.triggerFunction(ctx))}`;
  const block = (shape: RowShape[], statements: string | undefined) => `    ${statements ? declareBlock(ctx, shape, statements) : 'NULL;'}`;
  const sql = `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $bellows$
BEGIN
  IF coalesce((current_schemas(false))[1] = ${literal(ctx.versionSchema)}, false) THEN
${block(newShape(ctx), body.fromNewApp)}
  ELSE
${block(oldShape(ctx), body.fromOldApp)}
  END IF;
  RETURN NEW;
END $bellows$`;
  return [
    {
      id: `dual_write:${ctx.index}:function`,
      sql,
      lock: 'none',
      note: 'trigger function translating writes between the old and new columns',
    },
    {
      id: `dual_write:${ctx.index}:trigger`,
      sql: `CREATE OR REPLACE TRIGGER ${ident(names.trigger(ctx))} BEFORE INSERT OR UPDATE ON ${qualified(ctx.table.ref)} FOR EACH ROW WHEN (${NOT_BACKFILL}) EXECUTE FUNCTION ${fn}()`,
      lock: 'SHARE ROW EXCLUSIVE (brief: catalog only)',
      note: 'from here on, every write keeps both representations in step',
    },
  ];
}

export function dropDualWrite(ctx: OpContext, phase: 'contract' | 'rollback'): Action[] {
  return [
    {
      id: `${phase}:${ctx.index}:drop_trigger`,
      sql: `DROP TRIGGER IF EXISTS ${ident(names.trigger(ctx))} ON ${qualified(ctx.table.ref)}`,
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: 'stop dual writes',
    },
    {
      id: `${phase}:${ctx.index}:drop_function`,
      sql: `DROP FUNCTION IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(names.triggerFunction(ctx))}()`,
      lock: 'none',
      note: 'remove the trigger function',
    },
  ];
}
