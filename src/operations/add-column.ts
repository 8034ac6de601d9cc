import { z } from 'zod';
import { identifier, tableName, sqlExpression, sqlType } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineOperation, type OpContext } from './operation.ts';
import { dropDualWrite, dualWriteTrigger } from './trigger.ts';
import { notNullViaCheck } from './not-null.ts';
import { oldColumns, requireExpression, requireNoColumn, requireType } from './validation.ts';

/** What existing rows and old-application writes get: `up` first, the default where `up` is NULL. */
function valueExpression(spec: AddColumnSpec): string | undefined {
  if (spec.up && spec.default) return `COALESCE((${spec.up}), (${spec.default}))`;
  return spec.up ?? spec.default;
}

/** The column needs a trigger when old-application writes must compute or guarantee its value. */
function needsTrigger(spec: AddColumnSpec): boolean {
  return spec.up !== undefined || !spec.nullable;
}

type AddColumnSpec = z.infer<typeof spec>;

const SUMMARY = 'nullable, or NOT NULL with a `default` or an `up` expression';

const spec = z
  .strictObject({
    table: tableName,
    name: identifier.describe('Name of the new column'),
    type: sqlType,
    nullable: z.boolean().default(true),
    default: sqlExpression.optional().describe('Default for new rows and value for existing ones'),
    up: sqlExpression.optional().describe('Value computed from the existing columns, for existing and old-app rows'),
  })
  .refine((s) => s.nullable || s.default !== undefined || s.up !== undefined, {
    message: 'a NOT NULL column needs a default or an up expression',
    path: ['nullable'],
  });

/**
 * Added without a default: with a volatile default PostgreSQL would rewrite the
 * table under ACCESS EXCLUSIVE. Existing rows get their value from the backfill.
 */
function addTheColumn(spec: AddColumnSpec, ctx: OpContext): PlannedAction {
  return {
    id: `expand:${ctx.index}:add_column`,
    // No IF NOT EXISTS: the action is recorded in the same transaction, so it never
    // runs twice, and a column someone else added meanwhile must stop the run, not be adopted.
    sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD COLUMN ${ident(spec.name)} ${spec.type}`,
    lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
    note: `new column ${spec.name}, nullable until contract; no table rewrite`,
  };
}

export const addColumn = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    requireNoColumn(ctx, 'add_column', 'name', spec.name);
    await requireType(ctx, 'add_column', probe, spec.type);
    if (spec.default) await requireExpression(ctx, 'add_column', 'default', probe, spec.default, [], spec.type);
    if (spec.up) await requireExpression(ctx, 'add_column', 'up', probe, spec.up, oldColumns(ctx), spec.type);
    ctx.table.columns.push({ name: spec.name, physical: spec.name, type: spec.type, notNull: !spec.nullable, default: spec.default ?? null });
  },

  expand(spec, ctx) {
    const table = qualified(ctx.table.ref);
    const actions: PlannedAction[] = [addTheColumn(spec, ctx)];
    if (spec.default) {
      actions.push({
        id: `expand:${ctx.index}:set_default`,
        sql: `ALTER TABLE ${table} ALTER COLUMN ${ident(spec.name)} SET DEFAULT ${spec.default}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'rows inserted from now on get the default',
      });
    }
    return actions;
  },

  dualWrite(spec, ctx) {
    if (!needsTrigger(spec)) return [];
    const column = ident(spec.name);
    // An UPDATE that changed the new column came through the version's view (only the new
    // shape can see it), whatever the session's search_path: its value stands.
    const fromOldApp = spec.up
      ? { statements: `IF TG_OP = 'INSERT' OR NEW.${column} IS NOT DISTINCT FROM OLD.${column} THEN NEW.${column} := ${valueExpression(spec)}; END IF;`, reads: [valueExpression(spec)!] }
      : { statements: `IF NEW.${column} IS NULL THEN NEW.${column} := ${spec.default}; END IF;`, reads: [spec.default!] };
    const actions = dualWriteTrigger(ctx, { fromOldApp });
    // Without `up` no translation can fail, and the CHECK refuses the new application's NULLs at once.
    if (!spec.nullable && !spec.up) actions.push(notNullViaCheck(ctx, spec.name).add('dual_write'));
    return actions;
  },

  backfill(spec) {
    const expression = valueExpression(spec);
    // Only rows still without a value: the new application may already have
    // written this column on existing rows, and the backfill must not undo that.
    return expression ? [{ column: spec.name, expression: `COALESCE(${ident(spec.name)}, ${expression})` }] : [];
  },

  verify(spec, ctx) {
    if (spec.nullable) return { checks: [], actions: [] };
    const notNull = notNullViaCheck(ctx, spec.name);
    return {
      checks: [{ column: spec.name, notNull: true, repairWith: valueExpression(spec) }],
      actions: spec.up ? [notNull.add('verify'), notNull.validate] : [notNull.validate],
    };
  },

  contract(spec, ctx) {
    const actions = needsTrigger(spec) ? dropDualWrite(ctx, 'contract') : [];
    if (!spec.nullable) actions.push(...notNullViaCheck(ctx, spec.name).enforce(spec.name));
    return actions;
  },

  rollback(spec, ctx) {
    return [
      ...dropDualWrite(ctx, 'rollback'),
      {
        id: `rollback:${ctx.index}:drop_column`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP COLUMN IF EXISTS ${ident(spec.name)}`,
        undoes: addTheColumn(spec, ctx),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove the added column ${spec.name}`,
      },
    ];
  },
});
