import { z } from 'zod';
import { tableName } from '../playbook/spec-parts.ts';
import { qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { where } from './validation.ts';

const SUMMARY = 'gone from the new version schema at once, dropped at contract; the old application keeps it until then';

const spec = z.strictObject({ table: tableName });

/**
 * The old application still reads and writes the table until contract, so it
 * stays in place; the new version's schema has no view of it. Anything built on
 * it elsewhere (a view, another table's foreign key) would make DROP TABLE fail
 * at the very end, so it is refused now.
 */
export const dropTable = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    if (ctx.table.created) throw new InputError(`${where(ctx, 'drop_table', 'table')}: the table is created by this same playbook; leave out both operations`);
    const dependents = await probe.tableDependents(ctx.table.ref);
    if (dependents.length) {
      throw new InputError(`${where(ctx, 'drop_table', 'table')}: ${ctx.table.ref.schema}.${ctx.table.ref.name} is used by ${dependents.join(', ')}; drop ${dependents.length > 1 ? 'them' : 'it'} first`);
    }
    ctx.table.droppedBy = ctx.index;
  },

  contract(_spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:drop_table`,
        sql: `DROP TABLE ${qualified(ctx.table.ref)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop ${ctx.table.ref.name} and its rows`,
      },
    ];
  },
});
