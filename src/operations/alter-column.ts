import { z } from 'zod';
import { identifier, sqlExpression, sqlType, tableName } from '../playbook/spec-parts.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineOperation, type BackfillTarget, type OpContext, type Probe, type VerifyCheck } from './operation.ts';
import { shadowPath } from './alter-column-shadow.ts';
import { inPlacePath } from './alter-column-in-place.ts';

const SUMMARY =
  'a new `type`, a value transform (`up` old→new, `down` new→old), NOT NULL made safe by `up`, and alone or together: `nullable`, `default`, `comment`';

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
  })
  // One problem at a time: the first one found is the one to fix.
  .superRefine((s, ctx) => {
    if ((s.up === undefined) !== (s.down === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give up and down together: each translates one way', path: [s.up === undefined ? 'up' : 'down'] });
    } else if (s.type !== undefined && s.up === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a new type needs up and down, to translate every value both ways', path: ['up'] });
    } else if (![s.type, s.up, s.nullable, s.default, s.comment].some((v) => v !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'nothing to change: give type, up/down, nullable, default or comment', path: ['column'] });
    }
  });

export type AlterColumnSpec = z.infer<typeof spec>;

/** One way of carrying an alter_column out: through a shadow column, or on the column itself. */
export interface ColumnPath {
  validate(spec: AlterColumnSpec, ctx: OpContext, probe: Probe): Promise<void>;
  expand?(spec: AlterColumnSpec, ctx: OpContext): PlannedAction[];
  dualWrite?(spec: AlterColumnSpec, ctx: OpContext): PlannedAction[];
  backfill?(spec: AlterColumnSpec, ctx: OpContext): BackfillTarget[];
  verify?(spec: AlterColumnSpec, ctx: OpContext): { checks: VerifyCheck[]; actions: PlannedAction[] };
  contract?(spec: AlterColumnSpec, ctx: OpContext): PlannedAction[];
  rollback?(spec: AlterColumnSpec, ctx: OpContext): PlannedAction[];
}

/** Values that change (a type, `up`) need the shadow column; the column's attributes alone change in place. */
function pathOf(spec: AlterColumnSpec): ColumnPath {
  return spec.up !== undefined ? shadowPath : inPlacePath;
}

export const alterColumn = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),
  validate: (spec, ctx, probe) => pathOf(spec).validate(spec, ctx, probe),
  expand: (spec, ctx) => pathOf(spec).expand?.(spec, ctx) ?? [],
  dualWrite: (spec, ctx) => pathOf(spec).dualWrite?.(spec, ctx) ?? [],
  backfill: (spec, ctx) => pathOf(spec).backfill?.(spec, ctx) ?? [],
  verify: (spec, ctx) => pathOf(spec).verify?.(spec, ctx) ?? { checks: [], actions: [] },
  contract: (spec, ctx) => pathOf(spec).contract?.(spec, ctx) ?? [],
  rollback: (spec, ctx) => pathOf(spec).rollback?.(spec, ctx) ?? [],
});
