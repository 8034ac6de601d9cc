import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { columnDependents, refuseKeyColumn, requireColumn, requireNoColumn, where } from './validation.ts';

const SUMMARY = 'a new name in the new version at once, the physical rename at contract';

const spec = z.strictObject({
  table: tableName,
  from: identifier,
  to: identifier,
});

/**
 * A rename is only a new name in the new version's views until contract; the
 * physical column keeps its name, so the old application never notices.
 */
export const renameColumn = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    const column = requireColumn(ctx, 'rename_column', 'from', spec.from);
    // Everything else that uses the column follows it through a rename; a history writer does not.
    const history = (await columnDependents(ctx, probe, spec.from)).filter((d) => d.history);
    if (history.length) throw new InputError(`${where(ctx, 'rename_column', 'from')}: "${spec.from}" is used by ${history.map((d) => d.what).join(', ')}`);
    requireNoColumn(ctx, 'rename_column', 'to', spec.to);
    refuseKeyColumn(ctx, 'rename_column', spec.from, 'from');
    column.name = spec.to;
  },


  contract(spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:rename`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} RENAME COLUMN ${ident(spec.from)} TO ${ident(spec.to)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `${spec.from} becomes ${spec.to}`,
      },
    ];
  },

});
