import { z } from 'zod';
import { qualified, tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineSchemaOperation } from './operation.ts';
import { where } from './validation.ts';
import { claim, requireView, viewFields } from './views.ts';

const SUMMARY = 'after contract, concurrently (it needs a unique index): the view stays readable while its query runs again';

const spec = z.strictObject({
  ...viewFields,
  concurrently: z.boolean().default(true).describe('false only for the first population of a view created WITH NO DATA, which nobody can read yet'),
});

/**
 * Refreshes at contract, so the view shows the data as the playbook leaves
 * it; run after contract's transaction, alone, because the query may take
 * long, and it is safe to repeat. A plain REFRESH would keep every reader of
 * a populated view waiting for the whole query, so it is refused there.
 */
export const refreshMaterializedView = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe) {
    claim(ctx, 'refresh_materialized_view', 'name', spec);
    const view = await requireView(ctx, 'refresh_materialized_view', probe, spec);
    const field = where(ctx, 'refresh_materialized_view', 'concurrently');
    if (!view.materialized) throw new InputError(`${where(ctx, 'refresh_materialized_view', 'name')}: ${tableKey(view)} is a plain view; only a materialized view is refreshed`);
    if (spec.concurrently && !view.populated) {
      throw new InputError(`${field}: ${tableKey(view)} was never populated, and CONCURRENTLY needs a populated view; say concurrently: false for its first population`);
    }
    if (spec.concurrently && !view.hasRefreshKey) {
      throw new InputError(`${field}: ${tableKey(view)} has no unique index over plain columns without WHERE, which CONCURRENTLY needs; create one first (create_index)`);
    }
    if (!spec.concurrently && view.populated) {
      throw new InputError(`${field}: ${tableKey(view)} is populated, and a plain REFRESH keeps its readers waiting for the whole query; refresh it concurrently`);
    }
  },

  contract(spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:refresh_materialized_view`,
        sql: `REFRESH MATERIALIZED VIEW ${spec.concurrently ? 'CONCURRENTLY ' : ''}${qualified(spec)}`,
        lock: spec.concurrently ? 'EXCLUSIVE (the materialized view only: it stays readable)' : 'ACCESS EXCLUSIVE (an unpopulated materialized view only: nobody can read it yet)',
        note: 'runs its query again, in full',
        concurrent: true,
      },
    ];
  },
});
