import { z } from 'zod';
import { identifier, tableName, sqlExpression } from '../playbook/spec-parts.ts';
import { defineOperation, type OpContext } from './operation.ts';
import type { ModelColumn } from './model.ts';
import { constraintPhases, onDeleteField, validateInPlace, type GivenConstraint, type PlacedConstraint } from './new-constraint.ts';
import { shadowPhases, validateShadow, type ShadowChange } from './shadow-columns.ts';
import { requireColumn } from './validation.ts';

const SUMMARY =
  '`check` or `foreign_key` NOT VALID at once and validated at verify; `unique` built concurrently, attached at contract; ' +
  'over one or more columns; violating rows refused, or repaired by `up`/`down` through shadow columns';

const perColumn = z.record(z.string(), sqlExpression);

const spec = z
  .strictObject({
    table: tableName,
    name: identifier.describe('Name of the new constraint (and of its index, for unique)'),
    type: z.enum(['check', 'unique', 'foreign_key']),
    columns: z.array(identifier).min(1).describe('The columns constrained; a check may use only these'),
    check: sqlExpression.optional().describe('For a check: what every row must satisfy (NULL passes, as in PostgreSQL)'),
    references: z
      .strictObject({ table: tableName, columns: z.array(identifier).min(1) })
      .optional()
      .describe('For a foreign key: the table referenced and its primary key or unique columns'),
    on_delete: onDeleteField,
    up: perColumn
      .optional()
      .describe('For each column, its new value over the old columns, repairing the rows that would violate the constraint, e.g. { qty: greatest(qty, 0) }'),
    down: perColumn.optional().describe('For each column, its old value over the new columns, e.g. { qty: qty }'),
  })
  .superRefine((s, issues) => {
    const only = (field: 'check' | 'references' | 'on_delete', type: string) =>
      issues.addIssue({ code: 'custom', path: [field], message: `only for type ${type}` });
    if (s.type === 'check' && s.check === undefined) issues.addIssue({ code: 'custom', path: ['check'], message: 'Required for type check' });
    if (s.type !== 'check' && s.check !== undefined) only('check', 'check');
    if (s.type === 'foreign_key' && s.references === undefined) issues.addIssue({ code: 'custom', path: ['references'], message: 'Required for type foreign_key' });
    if (s.type !== 'foreign_key' && s.references !== undefined) only('references', 'foreign_key');
    if (s.type !== 'foreign_key' && s.on_delete !== undefined) only('on_delete', 'foreign_key');
    if (s.references && s.references.columns.length !== s.columns.length) {
      issues.addIssue({ code: 'custom', path: ['references', 'columns'], message: `must name as many columns as columns (${s.columns.length})` });
    }
    const twice = s.columns.findIndex((c, i) => s.columns.indexOf(c) !== i);
    if (twice >= 0) issues.addIssue({ code: 'custom', path: ['columns', twice], message: `"${s.columns[twice]}" is given twice` });
    if ((s.up === undefined) !== (s.down === undefined)) {
      issues.addIssue({ code: 'custom', path: [s.up === undefined ? 'up' : 'down'], message: 'give up and down together: each translates one way' });
    }
    // Every constrained column gets a shadow, so each needs its way there and back; nothing else does.
    for (const direction of ['up', 'down'] as const) {
      const map = s[direction];
      if (!map) continue;
      for (const column of s.columns) if (!(column in map)) issues.addIssue({ code: 'custom', path: [direction, column], message: 'Required: each of columns needs one' });
      for (const key of Object.keys(map)) if (!s.columns.includes(key)) issues.addIssue({ code: 'custom', path: [direction, key], message: 'not one of columns' });
    }
  });

export type CreateConstraintSpec = z.infer<typeof spec>;

/**
 * The constraint goes on the physical column that holds the new version's
 * column from expand on (placeConstraint): the old one under its old name until
 * contract renames it, a column an earlier operation adds, the shadow column an
 * alter_column fills. Verify proves it once the backfill is done.
 */
function requireConstrainableColumn(ctx: OpContext, index: number, name: string): ModelColumn {
  return requireColumn(ctx, 'create_constraint', `columns[${index}]`, name);
}

function given(spec: CreateConstraintSpec): GivenConstraint {
  return {
    constraint: { name: spec.name, type: spec.type, columns: spec.columns, check: spec.check, references: spec.references, onDelete: spec.on_delete },
    fields: {
      kind: 'create_constraint',
      name: 'name',
      check: 'check',
      referencedTable: 'references.table',
      referencedColumn: (i) => `references.columns[${i}]`,
      referencedColumns: 'references.columns',
      violated: ({ check: 'check', unique: 'columns', foreign_key: 'references' } as const)[spec.type],
    },
  };
}

/** With `up`: each constrained column through a shadow column that `up` repairs and the constraint guards, as alter_column's. */
function asShadowChange(spec: CreateConstraintSpec): ShadowChange {
  return {
    kind: 'create_constraint',
    columns: spec.columns.map((column, i) => ({
      column,
      up: spec.up![column],
      down: spec.down![column],
      fields: { column: `columns[${i}]`, up: `up.${column}`, down: `down.${column}` },
    })),
    constraints: [given(spec)],
  };
}

const repairs = (spec: CreateConstraintSpec) => spec.up !== undefined;

/**
 * Without `up`, on the columns as they are (see new-constraint.ts for how each
 * type is added without a long lock); existing rows that would violate it are
 * refused at validate, before any DDL. With `up`/`down`, the columns are
 * replaced by shadow columns that carry the constraint, as alter_column's do
 * (shadow-columns.ts): the old application's violating writes are repaired by
 * `up` on their way across, the new application's are refused.
 */
export const createConstraint = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe): Promise<{ constraints: PlacedConstraint[] }> {
    if (repairs(spec)) return validateShadow(asShadowChange(spec), ctx, probe);
    spec.columns.forEach((name, i) => requireConstrainableColumn(ctx, i, name));
    return { constraints: [await validateInPlace(given(spec), ctx, probe)] };
  },

  expand: (spec, ctx, found) => (repairs(spec) ? shadowPhases.expand(asShadowChange(spec), ctx, found) : constraintPhases.expand(found.constraints[0], ctx)),
  dualWrite: (spec, ctx, found) => (repairs(spec) ? shadowPhases.dualWrite(asShadowChange(spec), ctx, found) : []),
  backfill: (spec) => (repairs(spec) ? shadowPhases.backfill(asShadowChange(spec)) : []),
  verify: (spec, ctx, found) =>
    repairs(spec) ? shadowPhases.verify(asShadowChange(spec), ctx, found) : { checks: [], actions: constraintPhases.verify(found.constraints[0], ctx) },
  contract: (spec, ctx, found) => (repairs(spec) ? shadowPhases.contract(asShadowChange(spec), ctx, found) : constraintPhases.contract(found.constraints[0], ctx)),
  rollback: (spec, ctx, found) => (repairs(spec) ? shadowPhases.rollback(asShadowChange(spec), ctx) : constraintPhases.rollback(found.constraints[0], ctx)),
});
