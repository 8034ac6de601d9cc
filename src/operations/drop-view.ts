import { z } from 'zod';
import { tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineSchemaOperation } from './operation.ts';
import { where } from './validation.ts';
import { claim, dropViewSql, requireView, viewFields } from './views.ts';

const SUMMARY = 'kept for the old application until contract, dropped there; refused while other views are built on it';

const spec = z.strictObject({
  ...viewFields,
  materialized: z.boolean().default(false).describe('true for a materialized view: the playbook says which it drops'),
});

/**
 * The old application may read the view until contract, so it stays until
 * then, and there is nothing to undo before. A view built on it would make
 * DROP VIEW fail at the very end, so that is refused now, by name.
 */
export const dropView = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe) {
    claim(ctx, 'drop_view', 'name', spec);
    const view = await requireView(ctx, 'drop_view', probe, spec);
    if (view.materialized !== spec.materialized) {
      throw new InputError(`${where(ctx, 'drop_view', 'materialized')}: ${tableKey(view)} is ${view.materialized ? 'a materialized view: say materialized: true' : 'a plain view, not a materialized one'}`);
    }
    const dependents = await probe.tableDependents(spec);
    if (dependents.length) {
      throw new InputError(`${where(ctx, 'drop_view', 'name')}: ${tableKey(view)} is used by ${dependents.join(', ')}; drop ${dependents.length > 1 ? 'them' : 'it'} first`);
    }
  },

  contract(spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:drop_view`,
        sql: dropViewSql(spec, spec.materialized, false),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop ${tableKey(spec)}`,
      },
    ];
  },
});
