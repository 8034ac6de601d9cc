import { ident, literal, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { OpContext } from './operation.ts';
import type { AlterColumnSpec, ColumnPath } from './alter-column.ts';
import { columnConstraints } from './alter-column-constraints.ts';
import { constraintPhases, validateInPlace, type PlacedConstraint } from './new-constraint.ts';
import { originalColumn } from './model.ts';
import { physicalColumn } from './physical-names.ts';
import { requireExpression, requireUnchangedColumn, where } from './validation.ts';

function original(spec: AlterColumnSpec, ctx: OpContext) {
  return originalColumn(ctx.table, physicalColumn(ctx, spec.column));
}

function setComment(ctx: OpContext, spec: AlterColumnSpec, id: string, comment: string | null, note: string): PlannedAction {
  return {
    id,
    // At expand, or at rollback: the column has its physical name.
    sql: `COMMENT ON COLUMN ${qualified(ctx.table.ref)}.${ident(physicalColumn(ctx, spec.column))} IS ${comment === null ? 'NULL' : literal(comment)}`,
    lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
    note,
  };
}

/**
 * The column's attributes, changed on the column itself: nothing to translate,
 * so no shadow column and no backfill. What the old application could notice
 * (NULLs allowed, another default) waits for contract; a comment changes at once.
 * NOT NULL is not among them: the old application's NULL writes would start to
 * fail, so it takes `up` (and the shadow column) to give those rows a value.
 * A new constraint is checked on writes from expand on, as create_constraint's
 * is; rows that already violate it are refused before any DDL.
 */
export const inPlacePath: ColumnPath = {
  async validate(spec, ctx, probe) {
    const column = requireUnchangedColumn(ctx, 'alter_column', 'column', spec.column);
    if (spec.nullable === false && !column.notNull) {
      throw new InputError(
        `${where(ctx, 'alter_column', 'nullable')}: NOT NULL needs up and down: up gives the NULLs (and the old application's NULL writes) a value, where NOT NULL alone would fail those writes`,
      );
    }
    if (spec.default) await requireExpression(ctx, 'alter_column', 'default', probe, spec.default, [], column.type);
    if (spec.nullable === true) column.notNull = false;
    if (spec.default !== undefined) column.default = spec.default;
    const constraints: PlacedConstraint[] = [];
    for (const given of columnConstraints(spec)) constraints.push(await validateInPlace(given, ctx, probe));
    return { constraints };
  },

  expand(spec, ctx, found) {
    const comment = spec.comment === undefined ? [] : [setComment(ctx, spec, `expand:${ctx.index}:comment`, spec.comment, `describe ${spec.column}`)];
    return [...comment, ...found.constraints.flatMap((c) => constraintPhases.expand(c, ctx))];
  },

  verify(_spec, ctx, found) {
    return { checks: [], actions: found.constraints.flatMap((c) => constraintPhases.verify(c, ctx)) };
  },

  contract(spec, ctx, found) {
    const table = qualified(ctx.table.ref);
    const column = ident(spec.column);
    const actions: PlannedAction[] = [];
    if (spec.nullable === true && original(spec, ctx).notNull) {
      actions.push({
        id: `contract:${ctx.index}:drop_not_null`,
        sql: `ALTER TABLE ${table} ALTER COLUMN ${column} DROP NOT NULL`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `${spec.column} may be NULL from now on`,
      });
    }
    if (spec.default !== undefined) {
      actions.push({
        id: `contract:${ctx.index}:default`,
        sql: `ALTER TABLE ${table} ALTER COLUMN ${column} ${spec.default === null ? 'DROP DEFAULT' : `SET DEFAULT ${spec.default}`}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: spec.default === null ? `no default for ${spec.column}` : `the new default of ${spec.column}; existing rows keep their values`,
      });
    }
    return [...actions, ...found.constraints.flatMap((c) => constraintPhases.contract(c, ctx))];
  },

  rollback(spec, ctx, found) {
    const actions = found.constraints.flatMap((c) => constraintPhases.rollback(c, ctx));
    if (spec.comment === undefined) return actions;
    const changed = setComment(ctx, spec, `expand:${ctx.index}:comment`, spec.comment, '');
    return [...actions, { ...setComment(ctx, spec, `rollback:${ctx.index}:comment`, original(spec, ctx).comment, `put back the comment of ${spec.column}`), undoes: changed }];
  },
};
