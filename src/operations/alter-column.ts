import { z } from 'zod';
import { identifier, sqlExpression, sqlType, tableName } from '../playbook/spec-parts.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineOperation, type BackfillTarget, type OpContext, type Probe, type VerifyCheck } from './operation.ts';
import { shadowPath } from './alter-column-shadow.ts';
import { inPlacePath } from './alter-column-in-place.ts';
import { onDeleteField, type PlacedConstraint } from './new-constraint.ts';

const SUMMARY =
  'a new `type`, a value transform (`up` old→new, `down` new→old), NOT NULL made safe by `up`, and alone or together: `nullable`, `default`, `comment`, ' +
  'a `check`, `unique` or foreign key (`references`), refused over violating rows unless `up` repairs them';

const spec = z
  .strictObject({
    table: tableName,
    column: identifier,
    type: sqlType.optional().describe('New type; omitted keeps the type'),
    up: sqlExpression.optional().describe('Old value to new value, written over the old columns, e.g. lower(email)'),
    down: sqlExpression.optional().describe('New value to old value, written over the new column, e.g. email::text'),
    nullable: z.boolean().optional().describe('false: NOT NULL (needs up, which gives NULLs a value); true: NULLs allowed from contract on'),
    default: sqlExpression.nullable().optional().describe('The new default; null drops it'),
    comment: z.string().nullable().optional().describe('The column comment; null removes it'),
    check: z
      .strictObject({
        name: identifier.describe('Name of the new CHECK constraint'),
        expression: sqlExpression.describe('What every row must satisfy, over this column only (NULL passes, as in PostgreSQL)'),
      })
      .optional()
      .describe('A CHECK on the column: NOT VALID at once, validated at verify'),
    unique: z
      .strictObject({ name: identifier.describe('Name of the new unique constraint, and of its index') })
      .optional()
      .describe('A UNIQUE constraint on the column: its index built concurrently, attached at contract'),
    references: z
      .strictObject({
        name: identifier.describe('Name of the new foreign key'),
        table: tableName.describe('The table referenced'),
        column: identifier.describe('Its primary key or unique column'),
        on_delete: onDeleteField,
      })
      .optional()
      .describe('A foreign key from the column: NOT VALID at once, validated at verify'),
  })
  // One problem at a time: the first one found is the one to fix.
  .superRefine((s, ctx) => {
    if ((s.up === undefined) !== (s.down === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give up and down together: each translates one way', path: [s.up === undefined ? 'up' : 'down'] });
    } else if (s.type !== undefined && s.up === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a new type needs up and down, to translate every value both ways', path: ['up'] });
    } else if (![s.type, s.up, s.nullable, s.default, s.comment, s.check, s.unique, s.references].some((v) => v !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'nothing to change: give type, up/down, nullable, default, comment, check, unique or references', path: ['column'] });
    }
  });

export type AlterColumnSpec = z.infer<typeof spec>;

/** What a path's validate found: the new constraints, as they go on the physical columns. */
export interface AlterColumnFound {
  constraints: PlacedConstraint[];
}

/** One way of carrying an alter_column out: through a shadow column, or on the column itself. */
export interface ColumnPath {
  validate(spec: AlterColumnSpec, ctx: OpContext, probe: Probe): Promise<AlterColumnFound>;
  expand?(spec: AlterColumnSpec, ctx: OpContext, found: AlterColumnFound): PlannedAction[];
  dualWrite?(spec: AlterColumnSpec, ctx: OpContext, found: AlterColumnFound): PlannedAction[];
  backfill?(spec: AlterColumnSpec, ctx: OpContext, found: AlterColumnFound): BackfillTarget[];
  verify?(spec: AlterColumnSpec, ctx: OpContext, found: AlterColumnFound): { checks: VerifyCheck[]; actions: PlannedAction[] };
  contract?(spec: AlterColumnSpec, ctx: OpContext, found: AlterColumnFound): PlannedAction[];
  rollback?(spec: AlterColumnSpec, ctx: OpContext, found: AlterColumnFound): PlannedAction[];
}

/** Values that change (a type, `up`) need the shadow column; the column's attributes and constraints alone change in place. */
function pathOf(spec: AlterColumnSpec): ColumnPath {
  return spec.up !== undefined ? shadowPath : inPlacePath;
}

export const alterColumn = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),
  validate: (spec, ctx, probe) => pathOf(spec).validate(spec, ctx, probe),
  expand: (spec, ctx, found) => pathOf(spec).expand?.(spec, ctx, found) ?? [],
  dualWrite: (spec, ctx, found) => pathOf(spec).dualWrite?.(spec, ctx, found) ?? [],
  backfill: (spec, ctx, found) => pathOf(spec).backfill?.(spec, ctx, found) ?? [],
  verify: (spec, ctx, found) => pathOf(spec).verify?.(spec, ctx, found) ?? { checks: [], actions: [] },
  contract: (spec, ctx, found) => pathOf(spec).contract?.(spec, ctx, found) ?? [],
  rollback: (spec, ctx, found) => pathOf(spec).rollback?.(spec, ctx, found) ?? [],
});
