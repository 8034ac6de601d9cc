import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import { defineOperation } from './operation.ts';
import { refuseKeyColumn, requireColumn, requireNoColumn } from './validation.ts';

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

  async validate(spec, ctx) {
    const column = requireColumn(ctx, 'rename_column', 'from', spec.from);
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
