import { ident, qualified } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { z } from 'zod';
import { defineOperation, type BackfillTarget, type OpContext, type Probe, type VerifyCheck } from './operation.ts';
import { dropDualWrite, translationTrigger } from './trigger.ts';
import { physicalColumn } from './physical-names.ts';
import {
  newColumns,
  oldColumns,
  refuseKeyColumn,
  refuseLostDependents,
  requireExpression,
  requireNoColumn,
  requireType,
  requireUnchangedColumn,
  where,
} from './validation.ts';
import { InputError } from '../errors.ts';

/**
 * Old columns replaced by new ones, each side computed from the other:
 * split_column (one into several) and merge_columns (several into one) are
 * this with their own fields. `field`s are the spec paths an error names.
 */
export interface Reshape {
  kind: string;
  /** The columns contract drops, each with `down` over the new columns. */
  olds: ReadonlyArray<{ column: string; field: string; down: string; downField: string }>;
  /** The columns expand adds (nullable), each with `up` over the old columns. */
  news: ReadonlyArray<{ name: string; type: string; up: string; field: string }>;
}

/** Checks it against the model and the live catalog, then makes the model show the new columns instead of the old. */
export async function validateReshape(reshape: Reshape, ctx: OpContext, probe: Probe): Promise<void> {
  const { kind } = reshape;
  const oldTypes = new Map<string, string>();
  for (const old of reshape.olds) {
    const column = requireUnchangedColumn(ctx, kind, old.field, old.column);
    refuseKeyColumn(ctx, kind, old.column, old.field);
    // Nothing is rebuilt on the new columns: an index or constraint of the old one would vanish.
    await refuseLostDependents(ctx, kind, old.field, probe, old.column);
    oldTypes.set(old.column, column.type);
  }
  const seen = new Set<string>();
  for (const column of reshape.news) {
    if (seen.has(column.name)) throw new InputError(`${where(ctx, kind, `${column.field}.name`)}: "${column.name}" is given twice`);
    seen.add(column.name);
    requireNoColumn(ctx, kind, `${column.field}.name`, column.name);
    await requireType(ctx, kind, probe, column.type, `${column.field}.type`);
    await requireExpression(ctx, kind, `${column.field}.up`, probe, column.up, oldColumns(ctx), column.type);
  }
  // From here on the new version has the new columns, not the old ones.
  ctx.table.columns = ctx.table.columns.filter((c) => !oldTypes.has(c.name));
  for (const column of reshape.news) {
    ctx.table.columns.push({ name: column.name, physical: column.name, type: column.type, notNull: false, default: null });
  }
  for (const old of reshape.olds) {
    await requireExpression(ctx, kind, old.downField, probe, old.down, newColumns(ctx), oldTypes.get(old.column));
  }
}

function addColumns(reshape: Reshape, ctx: OpContext): PlannedAction[] {
  return reshape.news.map((column) => ({
    id: `expand:${ctx.index}:add_column:${column.name}`,
    // No IF NOT EXISTS: a column someone else added meanwhile must stop the run, not be adopted.
    sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD COLUMN ${ident(column.name)} ${column.type}`,
    lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
    note: `new column ${column.name}, nullable; no table rewrite`,
  }));
}

/** Expand, dual-write, backfill, verify, contract and rollback of a reshape. */
const reshapePhases = {
  expand: addColumns,

  dualWrite(reshape: Reshape, ctx: OpContext): PlannedAction[] {
    return translationTrigger(ctx, {
      forward: reshape.news.map((c) => ({ column: c.name, up: c.up })),
      backward: reshape.olds.map((c) => ({ column: physicalColumn(ctx, c.column), down: c.down })),
    });
  },

  /**
   * Only rows no write has translated yet (every new column still NULL): a row
   * the new application wrote keeps its new columns as written.
   */
  backfill(reshape: Reshape): BackfillTarget[] {
    const untranslated = reshape.news.map((c) => `${ident(c.name)} IS NULL`).join(' AND ');
    return reshape.news.map((c) => ({ column: c.name, expression: `CASE WHEN ${untranslated} THEN (${c.up}) ELSE ${ident(c.name)} END` }));
  },

  verify(reshape: Reshape): { checks: VerifyCheck[]; actions: PlannedAction[] } {
    return { checks: reshape.news.map((c) => ({ column: c.name, expression: c.up })), actions: [] };
  },

  contract(reshape: Reshape, ctx: OpContext): PlannedAction[] {
    return [
      ...dropDualWrite(ctx, 'contract'),
      {
        id: `contract:${ctx.index}:drop_old`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} ${reshape.olds.map((c) => `DROP COLUMN ${ident(c.column)}`).join(', ')}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop ${reshape.olds.map((c) => c.column).join(', ')}; no rewrite`,
      },
    ];
  },

  rollback(reshape: Reshape, ctx: OpContext): PlannedAction[] {
    const added = addColumns(reshape, ctx);
    return [
      ...dropDualWrite(ctx, 'rollback'),
      ...reshape.news.map((column, i): PlannedAction => ({
        id: `rollback:${ctx.index}:drop_column:${column.name}`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP COLUMN IF EXISTS ${ident(column.name)}`,
        undoes: added[i],
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove the added column ${column.name}`,
      })),
    ];
  },
};

/** An operation whose spec reads as a reshape: its phases are the reshape's. */
export function reshapeOperation<S extends z.ZodType<{ table: string }>>(spec: S, summary: string, asReshape: (spec: z.infer<S>) => Reshape) {
  return defineOperation({
    spec,
    summary,
    touches: (s) => ({ table: s.table }),
    validate: (s, ctx, probe) => validateReshape(asReshape(s), ctx, probe),
    expand: (s, ctx) => reshapePhases.expand(asReshape(s), ctx),
    dualWrite: (s, ctx) => reshapePhases.dualWrite(asReshape(s), ctx),
    backfill: (s) => reshapePhases.backfill(asReshape(s)),
    verify: (s) => reshapePhases.verify(asReshape(s)),
    contract: (s, ctx) => reshapePhases.contract(asReshape(s), ctx),
    rollback: (s, ctx) => reshapePhases.rollback(asReshape(s), ctx),
  });
}
