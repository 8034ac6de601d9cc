import { ident, qualified } from '../db/sql.ts';
import type { Action } from '../engine/action.ts';
import type { Operation, OpContext } from './operation.ts';
import type { AddColumnSpec } from '../playbook/schema.ts';
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

export const addColumn = {
  kind: 'add_column',
  table: (spec) => spec.table,

  async validate(spec, ctx, probe) {
    requireNoColumn(ctx, 'add_column', 'name', spec.name);
    await requireType(ctx, 'add_column', probe, spec.type);
    if (spec.default) await requireExpression(ctx, 'add_column', 'default', probe, spec.default, [], spec.type);
    if (spec.up) await requireExpression(ctx, 'add_column', 'up', probe, spec.up, oldColumns(ctx), spec.type);
    ctx.table.columns.push({ name: spec.name, physical: spec.name, type: spec.type, notNull: !spec.nullable, default: spec.default ?? null });
  },

  expand(spec, ctx) {
    const table = qualified(ctx.table.ref);
    // Added without a default: with a volatile default PostgreSQL would rewrite the
    // table under ACCESS EXCLUSIVE. Existing rows get their value from the backfill.
    const actions: Action[] = [
      {
        id: `expand:${ctx.index}:add_column`,
        // No IF NOT EXISTS: the action is recorded in the same transaction, so it never
        // runs twice, and a column someone else added meanwhile must stop the run, not be adopted.
        sql: `ALTER TABLE ${table} ADD COLUMN ${ident(spec.name)} ${spec.type}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `new column ${spec.name}, nullable until contract; no table rewrite`,
      },
    ];
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
    const fromOldApp = spec.up
      ? `NEW.${column} := ${valueExpression(spec)};`
      : `IF NEW.${column} IS NULL THEN NEW.${column} := ${spec.default}; END IF;`;
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

  rollback(spec, ctx: OpContext) {
    return [
      ...dropDualWrite(ctx, 'rollback'),
      {
        id: `rollback:${ctx.index}:drop_column`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP COLUMN IF EXISTS ${ident(spec.name)}`,
        undoes: `expand:${ctx.index}:add_column`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove the added column ${spec.name}`,
      },
    ];
  },
} satisfies Operation<'add_column'>;
