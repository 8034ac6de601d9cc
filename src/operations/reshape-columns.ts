import { ident, qualified } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import { z } from 'zod';
import { sqlExpression } from '../playbook/spec-parts.ts';
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
import { notNullViaCheck } from './not-null.ts';
import { rebuiltIndexPhases, type RebuiltIndex } from './rebuilt-indexes.ts';

/**
 * Old columns replaced by new ones, each side computed from the other:
 * split_column (one into several) and merge_columns (several into one) are
 * this with their own fields. `field`s are the spec paths an error names.
 */
export interface Reshape {
  kind: string;
  /** The columns contract drops, each with `down` over the new columns. */
  olds: ReadonlyArray<{ column: string; field: string; down: string; downField: string }>;
  /** The columns expand adds, each with `up` over the old columns; NOT NULL (`nullable: false`) and their default from contract on. */
  news: ReadonlyArray<{ name: string; type: string; up: string; field: string; nullable: boolean; default?: string }>;
}

type NewColumn = Reshape['news'][number];

/** What existing rows and old-application writes get: `up`, the default where `up` is NULL (as add_column). */
function valueOf(column: NewColumn): string {
  return column.default === undefined ? column.up : `COALESCE((${column.up}), (${column.default}))`;
}

/**
 * The plain indexes on old columns, built again on the new column: only where
 * that is unambiguous. A split column has several successors, and a unique
 * index would mean something else on a merged column (two rows may differ in
 * their old columns and agree in the merged one); those are refused by name.
 */
function rebuiltIndexes(reshape: Reshape, ctx: OpContext): RebuiltIndex[] {
  const olds = new Map(reshape.olds.map((o) => [physicalColumn(ctx, o.column), o]));
  const rebuilt: RebuiltIndex[] = [];
  for (const index of ctx.table.original.indexes) {
    const on = index.columns.filter((c) => olds.has(c));
    if (!on.length || !index.valid || !index.plain || index.primary) continue;
    const old = olds.get(on[0])!;
    const refusal = (why: string) =>
      new InputError(`${where(ctx, reshape.kind, old.field)}: index ${index.name} is on "${old.column}", ${why}; drop it first (drop_index) and create_index on the new columns after contract`);
    if (reshape.news.length > 1) throw refusal(`which splits into ${reshape.news.map((n) => `"${n.name}"`).join(', ')}: which of them it should cover is ambiguous`);
    if (index.unique) throw refusal(`and a unique index would mean something else on "${reshape.news[0].name}"`);
    const columns = [...new Set(index.columns.map((c) => (olds.has(c) ? reshape.news[0].name : c)))];
    rebuilt.push({ index, columns, note: `${index.name} again, on ${columns.join(', ')}` });
  }
  return rebuilt;
}

/** A new column's NOT NULL and default, as split_column and merge_columns write them. */
export const newColumnFields = {
  nullable: z.boolean().default(true).describe('false: NOT NULL from contract on (a CHECK added NOT VALID and validated at verify, then SET NOT NULL without a scan)'),
  default: sqlExpression.optional().describe('Default for rows inserted from dual-write on, and the value where `up` gives NULL'),
};

/** Checks it against the model and the live catalog, then makes the model show the new columns instead of the old. */
export async function validateReshape(reshape: Reshape, ctx: OpContext, probe: Probe): Promise<void> {
  const { kind } = reshape;
  const oldTypes = new Map<string, string>();
  for (const old of reshape.olds) {
    const column = requireUnchangedColumn(ctx, kind, old.field, old.column);
    refuseKeyColumn(ctx, kind, old.column, old.field);
    oldTypes.set(old.column, column.type);
  }
  // Refuses, by name, a plain index that cannot be rebuilt on the new columns; the others are.
  rebuiltIndexes(reshape, ctx);
  for (const old of reshape.olds) {
    // Anything else on the old column (a CHECK, a foreign key, an expression index …) would vanish.
    await refuseLostDependents(ctx, kind, old.field, probe, old.column, (d) => d.rebuilt);
  }
  const seen = new Set<string>();
  for (const column of reshape.news) {
    if (seen.has(column.name)) throw new InputError(`${where(ctx, kind, `${column.field}.name`)}: "${column.name}" is given twice`);
    seen.add(column.name);
    requireNoColumn(ctx, kind, `${column.field}.name`, column.name);
    await requireType(ctx, kind, probe, column.type, `${column.field}.type`);
    if (column.default !== undefined) await requireExpression(ctx, kind, `${column.field}.default`, probe, column.default, [], column.type);
    await requireExpression(ctx, kind, `${column.field}.up`, probe, column.up, oldColumns(ctx), column.type);
  }
  // From here on the new version has the new columns, not the old ones.
  ctx.table.columns = ctx.table.columns.filter((c) => !oldTypes.has(c.name));
  for (const column of reshape.news) {
    ctx.table.columns.push({ name: column.name, physical: column.name, type: column.type, notNull: !column.nullable, default: column.default ?? null });
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
    note: `new column ${column.name}, nullable${column.nullable ? '' : ' until contract'}; no table rewrite`,
  }));
}

/**
 * Defaults only once the trigger is there: a row inserted before it must keep
 * its new columns NULL for the backfill to translate, and from then on the
 * trigger gives an old application's row `up` whatever the default.
 */
function setDefaults(reshape: Reshape, ctx: OpContext): PlannedAction[] {
  return reshape.news
    .filter((c) => c.default !== undefined)
    .map((column) => ({
      id: `dual_write:${ctx.index}:set_default:${column.name}`,
      sql: `ALTER TABLE ${qualified(ctx.table.ref)} ALTER COLUMN ${ident(column.name)} SET DEFAULT ${column.default}`,
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: `rows the new application inserts without ${column.name} get the default`,
    }));
}

/** Expand, dual-write, backfill, verify, contract and rollback of a reshape. */
const reshapePhases = {
  expand: (reshape: Reshape, ctx: OpContext): PlannedAction[] => [...addColumns(reshape, ctx), ...rebuiltIndexPhases.expand(ctx, rebuiltIndexes(reshape, ctx))],

  dualWrite(reshape: Reshape, ctx: OpContext): PlannedAction[] {
    const trigger = translationTrigger(ctx, {
      forward: reshape.news.map((c) => ({ column: c.name, up: valueOf(c) })),
      backward: reshape.olds.map((c) => ({ column: physicalColumn(ctx, c.column), down: c.down })),
    });
    return [...trigger, ...setDefaults(reshape, ctx)];
  },

  /**
   * Only rows no write has translated yet (every new column still NULL): a row
   * the new application wrote keeps its new columns as written.
   */
  backfill(reshape: Reshape): BackfillTarget[] {
    const untranslated = reshape.news.map((c) => `${ident(c.name)} IS NULL`).join(' AND ');
    return reshape.news.map((c) => ({ column: c.name, expression: `CASE WHEN ${untranslated} THEN (${valueOf(c)}) ELSE ${ident(c.name)} END` }));
  },

  /** NOT NULL is checked only now: a row whose translation failed has no value until verify's repair. */
  verify(reshape: Reshape, ctx: OpContext): { checks: VerifyCheck[]; actions: PlannedAction[] } {
    const actions = reshape.news.filter((c) => !c.nullable).flatMap((c) => {
      const notNull = notNullViaCheck(ctx, c.name);
      return [notNull.add('verify'), notNull.validate];
    });
    return { checks: reshape.news.map((c) => ({ column: c.name, expression: valueOf(c) })), actions };
  },

  contract(reshape: Reshape, ctx: OpContext): PlannedAction[] {
    return [
      ...dropDualWrite(ctx, 'contract'),
      {
        id: `contract:${ctx.index}:drop_old`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} ${reshape.olds.map((c) => `DROP COLUMN ${ident(c.column)}`).join(', ')}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop ${reshape.olds.map((c) => c.column).join(', ')} (and their indexes); no rewrite`,
      },
      ...rebuiltIndexPhases.contract(ctx, rebuiltIndexes(reshape, ctx)),
      ...reshape.news.filter((c) => !c.nullable).flatMap((c) => notNullViaCheck(ctx, c.name).enforce(c.name)),
    ];
  },

  rollback(reshape: Reshape, ctx: OpContext): PlannedAction[] {
    const added = addColumns(reshape, ctx);
    // A NOT NULL CHECK goes with its column (an INVALID index a failed build left, too).
    return [
      ...dropDualWrite(ctx, 'rollback'),
      ...rebuiltIndexPhases.rollback(ctx, rebuiltIndexes(reshape, ctx)),
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
    verify: (s, ctx) => reshapePhases.verify(asReshape(s), ctx),
    contract: (s, ctx) => reshapePhases.contract(asReshape(s), ctx),
    rollback: (s, ctx) => reshapePhases.rollback(asReshape(s), ctx),
  });
}
