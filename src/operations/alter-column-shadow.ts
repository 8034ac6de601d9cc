import { ident, literal, qualified } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { OpContext } from './operation.ts';
import type { AlterColumnSpec, ColumnPath } from './alter-column.ts';
import { originalColumn } from './model.ts';
import { physicalColumn } from './physical-names.ts';
import type { IndexInfo } from '../catalog/introspect.ts';
import { dropDualWrite, translationTrigger } from './trigger.ts';
import { notNullViaCheck } from './not-null.ts';
import { names } from './names.ts';
import {
  newColumns,
  oldColumns,
  refuseKeyColumn,
  refuseLostDependents,
  requireUnchangedColumn,
  requireExpression,
  requireType,
} from './validation.ts';

function original(spec: AlterColumnSpec, ctx: OpContext) {
  return originalColumn(ctx.table, physicalColumn(ctx, spec.column));
}

/** Indexes on the old column are rebuilt on the shadow column, so contract keeps them. */
function copiedIndexes(spec: AlterColumnSpec, ctx: OpContext): IndexInfo[] {
  return ctx.table.original.indexes.filter(
    (i) => i.valid && i.plain && !i.primary && i.columns.includes(physicalColumn(ctx, spec.column)),
  );
}

function newType(spec: AlterColumnSpec, ctx: OpContext): string {
  return spec.type ?? original(spec, ctx).type;
}

/** NOT NULL after the change: as the playbook says, else as before. */
function targetNotNull(spec: AlterColumnSpec, ctx: OpContext): boolean {
  return spec.nullable === undefined ? original(spec, ctx).notNull : !spec.nullable;
}

/** The new column's default: the playbook's (null: none), else the old one's, cast to the new type. */
function targetDefault(spec: AlterColumnSpec, ctx: OpContext): string | null {
  if (spec.default !== undefined) return spec.default;
  const old = original(spec, ctx).default;
  return old ? `(${old})::${newType(spec, ctx)}` : null;
}

function addShadow(spec: AlterColumnSpec, ctx: OpContext): PlannedAction {
  return {
    id: `expand:${ctx.index}:add_shadow`,
    sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD COLUMN ${ident(names.shadow(spec.column))} ${newType(spec, ctx)}`,
    lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
    note: `shadow column holding ${spec.column} in its new form`,
  };
}

/**
 * The change through a shadow column (a new type, or values transformed by
 * `up`/`down`, or NOT NULL made safe by `up`): the shadow is added in expand,
 * kept equal to the old column by triggers both ways, backfilled and verified,
 * and takes the old column's place at contract.
 */
export const shadowPath: ColumnPath = {
  async validate(spec, ctx, probe) {
    const column = requireUnchangedColumn(ctx, 'alter_column', 'column', spec.column);
    refuseKeyColumn(ctx, 'alter_column', spec.column);
    // Only plain indexes are rebuilt on the new column.
    await refuseLostDependents(ctx, 'alter_column', 'column', probe, spec.column, (d) => d.rebuilt);
    if (spec.type) await requireType(ctx, 'alter_column', probe, spec.type);
    const type = newType(spec, ctx);
    if (spec.default) await requireExpression(ctx, 'alter_column', 'default', probe, spec.default, [], type);
    await requireExpression(ctx, 'alter_column', 'up', probe, spec.up!, oldColumns(ctx), type);
    column.physical = names.shadow(spec.column);
    column.type = type;
    await requireExpression(ctx, 'alter_column', 'down', probe, spec.down!, newColumns(ctx), original(spec, ctx).type);
    column.notNull = targetNotNull(spec, ctx);
    column.default = targetDefault(spec, ctx);
  },

  expand(spec, ctx) {
    const table = qualified(ctx.table.ref);
    const shadow = names.shadow(spec.column);
        const actions: PlannedAction[] = [addShadow(spec, ctx)];
    const def = targetDefault(spec, ctx);
    if (def) {
      actions.push({
        id: `expand:${ctx.index}:shadow_default`,
        sql: `ALTER TABLE ${table} ALTER COLUMN ${ident(shadow)} SET DEFAULT ${def}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: spec.default === undefined ? `keep ${spec.column}'s default` : `the new default of ${spec.column}`,
      });
    }
    for (const index of copiedIndexes(spec, ctx)) {
      const copy = names.shadowIndex(ctx, index.name);
      const columns = index.columns.map((c) => ident(c === physicalColumn(ctx, spec.column) ? shadow : c)).join(', ');
      actions.push({
        id: `expand:${ctx.index}:index:${index.name}`,
        sql: `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${ident(copy)} ON ${table} USING ${index.method} (${columns})`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `copy of ${index.name} on the shadow column`,
        concurrent: true,
        replacesInvalidIndex: { schema: ctx.table.ref.schema, name: copy },
      });
    }
    return actions;
  },

  dualWrite(spec, ctx) {
    return translationTrigger(ctx, {
      forward: [{ column: names.shadow(spec.column), up: spec.up! }],
      backward: [{ column: physicalColumn(ctx, spec.column), down: spec.down! }],
    });
  },

  backfill(spec) {
    return [{ column: names.shadow(spec.column), expression: spec.up! }];
  },

  verify(spec, ctx) {
    const notNull = notNullViaCheck(ctx, names.shadow(spec.column));
    const actions = targetNotNull(spec, ctx) ? [notNull.add('verify'), notNull.validate] : [];
    return { checks: [{ column: names.shadow(spec.column), expression: spec.up! }], actions };
  },

  contract(spec, ctx) {
    const table = qualified(ctx.table.ref);
    const actions: PlannedAction[] = [
      ...dropDualWrite(ctx, 'contract'),
      {
        id: `contract:${ctx.index}:drop_old`,
        sql: `ALTER TABLE ${table} DROP COLUMN ${ident(spec.column)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop the old ${spec.column} (and its indexes); no rewrite`,
      },
      {
        id: `contract:${ctx.index}:rename_shadow`,
        sql: `ALTER TABLE ${table} RENAME COLUMN ${ident(names.shadow(spec.column))} TO ${ident(spec.column)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'the new column takes the old name',
      },
    ];
    for (const index of copiedIndexes(spec, ctx)) {
      actions.push({
        id: `contract:${ctx.index}:rename_index:${index.name}`,
        sql: `ALTER INDEX ${ident(ctx.table.ref.schema)}.${ident(names.shadowIndex(ctx, index.name))} RENAME TO ${ident(index.name)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `the copied index takes the name ${index.name}`,
      });
    }
    if (targetNotNull(spec, ctx)) actions.push(...notNullViaCheck(ctx, names.shadow(spec.column)).enforce(spec.column));
    // The old column's comment goes with it; the new one keeps it, or takes the playbook's.
    const comment = spec.comment === undefined ? original(spec, ctx).comment : spec.comment;
    if (comment !== null) {
      actions.push({
        id: `contract:${ctx.index}:comment`,
        sql: `COMMENT ON COLUMN ${table}.${ident(spec.column)} IS ${literal(comment)}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `describe ${spec.column}`,
      });
    }
    return actions;
  },

  rollback(spec, ctx) {
    const actions: PlannedAction[] = dropDualWrite(ctx, 'rollback');
    for (const index of copiedIndexes(spec, ctx)) {
      actions.push({
        id: `rollback:${ctx.index}:drop_index:${index.name}`,
        sql: `DROP INDEX CONCURRENTLY IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(names.shadowIndex(ctx, index.name))}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `remove the copy of ${index.name}`,
        concurrent: true,
      });
    }
    actions.push({
      id: `rollback:${ctx.index}:drop_shadow`,
      sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP COLUMN IF EXISTS ${ident(names.shadow(spec.column))}`,
      undoes: addShadow(spec, ctx),
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: 'remove the shadow column',
    });
    return actions;
  },
};
