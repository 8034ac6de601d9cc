import { ident, literal, qualified } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { BackfillTarget, OpContext, Probe, VerifyCheck } from './operation.ts';
import { findColumn, originalColumn } from './model.ts';
import { physicalColumn } from './physical-names.ts';
import { dropDualWrite, translationTrigger } from './trigger.ts';
import { constraintGuard } from './constraint-guard.ts';
import { notNullViaCheck } from './not-null.ts';
import { names } from './names.ts';
import { rebuiltIndexPhases, type RebuiltIndex } from './rebuilt-indexes.ts';
import { constraintPhases, placeConstraint, validateNewConstraint, type GivenConstraint, type PlacedConstraint } from './new-constraint.ts';
import { refuseViolatingRows } from './constraint-violations.ts';
import {
  newColumns,
  oldColumns,
  refuseKeyColumn,
  refuseLostDependents,
  requireExpression,
  requireType,
  requireUnchangedColumn,
} from './validation.ts';

/**
 * Columns whose values change, each through a shadow column: added in expand,
 * kept equal to the old column by triggers both ways (`up` old → new, `down`
 * new → old), backfilled with `up` and verified, it takes the old column's
 * place at contract. The new version sees each shadow under its column's name.
 * alter_column does this for one column (a new type, values transformed, NOT
 * NULL made safe); create_constraint for the columns of a constraint whose
 * violating values `up` repairs. New constraints go on the shadows from expand
 * on, so the new application can never write a value that violates them, while
 * the old application's writes are repaired by `up` on their way across (and
 * where `up` leaves one violating, the trigger's guard lets it through with the
 * shadows NULL, noted for verify). A unique key on the shadows knows only the
 * values written so far: a duplicate of a row the backfill has not reached stops
 * the backfill at that row, which is why the new application, which should read
 * the shadows only once they are backfilled, should start writing then too.
 */
export interface ShadowColumn {
  /** The column as it is before the run. */
  column: string;
  /** Its type after the change; omitted keeps it. */
  type?: string;
  up: string;
  down: string;
  /** false: NOT NULL from contract on; true: NULLs allowed; omitted keeps it. */
  nullable?: boolean;
  /** The new default (null drops it); omitted keeps the old one. */
  default?: string | null;
  /** The comment after contract (null: none); omitted keeps the old one. */
  comment?: string | null;
  /** The playbook paths of its fields, for messages (`type` and `default` where the spec has them). */
  fields: { column: string; up: string; down: string; type?: string; default?: string };
}

export interface ShadowChange {
  kind: string;
  columns: ShadowColumn[];
  /** Constraints put on the shadows; each names the columns it constrains by their names. */
  constraints: GivenConstraint[];
}

/** What validate found: the new constraints as they go on the shadow columns. */
export interface ShadowFound {
  constraints: PlacedConstraint[];
}

/** The column before the run: under its old name if an earlier operation renamed it. */
function original(ctx: OpContext, column: ShadowColumn) {
  return originalColumn(ctx.table, physicalColumn(ctx, column.column));
}

function newType(ctx: OpContext, column: ShadowColumn): string {
  return column.type ?? original(ctx, column).type;
}

/** NOT NULL after the change: as the playbook says, else as before. */
function targetNotNull(ctx: OpContext, column: ShadowColumn): boolean {
  return column.nullable === undefined ? original(ctx, column).notNull : !column.nullable;
}

/** The new column's default: the playbook's (null: none), else the old one's, cast to the new type if it changes. */
function targetDefault(ctx: OpContext, column: ShadowColumn): string | null {
  if (column.default !== undefined) return column.default;
  const old = original(ctx, column).default;
  if (!old) return null;
  return column.type === undefined ? old : `(${old})::${column.type}`;
}

/** Each column's shadow, by the physical column it replaces (the old name of one renamed earlier in the playbook). */
function shadows(change: ShadowChange, ctx: OpContext): Map<string, string> {
  return new Map(change.columns.map((c) => [physicalColumn(ctx, c.column), names.shadow(c.column)]));
}

/** Indexes on an old column are rebuilt over the shadow columns, so contract keeps them. */
function copiedIndexes(change: ShadowChange, ctx: OpContext): RebuiltIndex[] {
  const shadowed = shadows(change, ctx);
  return ctx.table.original.indexes
    .filter((i) => i.valid && i.plain && !i.primary && i.columns.some((c) => shadowed.has(c)))
    .map((index) => ({ index, columns: index.columns.map((c) => shadowed.get(c) ?? c), note: `copy of ${index.name} on the shadow column` }));
}

function addShadow(ctx: OpContext, column: ShadowColumn): PlannedAction {
  return {
    id: `expand:${ctx.index}:add_shadow:${column.column}`,
    sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD COLUMN ${ident(names.shadow(column.column))} ${newType(ctx, column)}`,
    lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
    note: `shadow column holding ${column.column} in its new form`,
  };
}

/** Checks the change against the model and the live catalog, then makes the model show each shadow under its column's name. */
export async function validateShadow(change: ShadowChange, ctx: OpContext, probe: Probe): Promise<ShadowFound> {
  const { kind } = change;
  for (const column of change.columns) {
    requireUnchangedColumn(ctx, kind, column.fields.column, column.column);
    refuseKeyColumn(ctx, kind, column.column, column.fields.column);
    // Only plain indexes are rebuilt on the new column.
    await refuseLostDependents(ctx, kind, column.fields.column, probe, column.column, (d) => d.rebuilt);
    if (column.type) await requireType(ctx, kind, probe, column.type, column.fields.type ?? 'type');
    if (column.default) await requireExpression(ctx, kind, column.fields.default ?? 'default', probe, column.default, [], newType(ctx, column));
    await requireExpression(ctx, kind, column.fields.up, probe, column.up, oldColumns(ctx), newType(ctx, column));
  }
  // From here on the new version reads each column from its shadow; `down` is written over that shape.
  for (const column of change.columns) {
    const model = findColumn(ctx.table, column.column)!;
    model.physical = names.shadow(column.column);
    model.type = newType(ctx, column);
  }
  for (const column of change.columns) {
    await requireExpression(ctx, kind, column.fields.down, probe, column.down, newColumns(ctx), original(ctx, column).type);
  }
  for (const column of change.columns) {
    const model = findColumn(ctx.table, column.column)!;
    model.notNull = targetNotNull(ctx, column);
    model.default = targetDefault(ctx, column);
  }
  const constraints: PlacedConstraint[] = [];
  for (const { constraint, fields } of change.constraints) {
    await validateNewConstraint(constraint, fields, ctx, probe);
    // The rows as `up` leaves them must satisfy it: else the backfill would fail half-way.
    const ups = constraint.columns.map((name) => {
      const column = change.columns.find((c) => c.column === name)!;
      return `(${column.up})::${newType(ctx, column)}`;
    });
    await refuseViolatingRows(constraint, ctx, probe, kind, 'up', ups);
    constraints.push(await placeConstraint(constraint, fields, ctx, probe));
  }
  return { constraints };
}

/** Expand, dual-write, backfill, verify, contract and rollback of a shadow change. */
export const shadowPhases = {
  expand(change: ShadowChange, ctx: OpContext, found: ShadowFound): PlannedAction[] {
    const table = qualified(ctx.table.ref);
    const actions: PlannedAction[] = [];
    for (const column of change.columns) {
      actions.push(addShadow(ctx, column));
      const def = targetDefault(ctx, column);
      if (def) {
        actions.push({
          id: `expand:${ctx.index}:shadow_default:${column.column}`,
          sql: `ALTER TABLE ${table} ALTER COLUMN ${ident(names.shadow(column.column))} SET DEFAULT ${def}`,
          lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
          note: column.default === undefined ? `keep ${column.column}'s default` : `the new default of ${column.column}`,
        });
      }
    }
    actions.push(...rebuiltIndexPhases.expand(ctx, copiedIndexes(change, ctx)));
    // On the shadows while they are still empty (NULL passes every constraint), before any application can write them.
    for (const constraint of found.constraints) actions.push(...constraintPhases.expand(constraint, ctx));
    return actions;
  },

  dualWrite(change: ShadowChange, ctx: OpContext, found: ShadowFound): PlannedAction[] {
    return translationTrigger(ctx, {
      forward: change.columns.map((c) => ({ column: names.shadow(c.column), up: c.up })),
      backward: change.columns.map((c) => ({ column: physicalColumn(ctx, c.column), down: c.down })),
      guards: found.constraints.map((c) => constraintGuard(c, ctx)),
    });
  },

  backfill(change: ShadowChange): BackfillTarget[] {
    return change.columns.map((c) => ({ column: names.shadow(c.column), expression: c.up }));
  },

  verify(change: ShadowChange, ctx: OpContext, found: ShadowFound): { checks: VerifyCheck[]; actions: PlannedAction[] } {
    const actions: PlannedAction[] = [];
    for (const column of change.columns.filter((c) => targetNotNull(ctx, c))) {
      const notNull = notNullViaCheck(ctx, names.shadow(column.column));
      actions.push(notNull.add('verify'), notNull.validate);
    }
    for (const constraint of found.constraints) actions.push(...constraintPhases.verify(constraint, ctx));
    return { checks: change.columns.map((c) => ({ column: names.shadow(c.column), expression: c.up })), actions };
  },

  contract(change: ShadowChange, ctx: OpContext, found: ShadowFound): PlannedAction[] {
    const table = qualified(ctx.table.ref);
    const olds = change.columns.map((c) => c.column);
    const actions: PlannedAction[] = [
      ...dropDualWrite(ctx, 'contract'),
      {
        id: `contract:${ctx.index}:drop_old`,
        sql: `ALTER TABLE ${table} ${olds.map((c) => `DROP COLUMN ${ident(c)}`).join(', ')}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop the old ${olds.join(', ')} (and ${olds.length > 1 ? 'their' : 'its'} indexes); no rewrite`,
      },
    ];
    for (const column of change.columns) {
      actions.push({
        id: `contract:${ctx.index}:rename_shadow:${column.column}`,
        sql: `ALTER TABLE ${table} RENAME COLUMN ${ident(names.shadow(column.column))} TO ${ident(column.column)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `the new column takes the name ${column.column}`,
      });
    }
    actions.push(...rebuiltIndexPhases.contract(ctx, copiedIndexes(change, ctx)));
    for (const constraint of found.constraints) actions.push(...constraintPhases.contract(constraint, ctx));
    for (const column of change.columns) {
      if (targetNotNull(ctx, column)) actions.push(...notNullViaCheck(ctx, names.shadow(column.column)).enforce(column.column));
      // The old column's comment goes with it; the new one keeps it, or takes the playbook's.
      const comment = column.comment === undefined ? original(ctx, column).comment : column.comment;
      if (comment !== null) {
        actions.push({
          id: `contract:${ctx.index}:comment:${column.column}`,
          sql: `COMMENT ON COLUMN ${table}.${ident(column.column)} IS ${literal(comment)}`,
          lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
          note: `describe ${column.column}`,
        });
      }
    }
    return actions;
  },

  rollback(change: ShadowChange, ctx: OpContext): PlannedAction[] {
    // The new constraints go with the shadow columns they are on (an INVALID index a failed build left, too).
    const actions: PlannedAction[] = dropDualWrite(ctx, 'rollback');
    actions.push(...rebuiltIndexPhases.rollback(ctx, copiedIndexes(change, ctx)));
    for (const column of change.columns) {
      actions.push({
        id: `rollback:${ctx.index}:drop_shadow:${column.column}`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP COLUMN IF EXISTS ${ident(names.shadow(column.column))}`,
        undoes: addShadow(ctx, column),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'remove the shadow column',
      });
    }
    return actions;
  },
};
