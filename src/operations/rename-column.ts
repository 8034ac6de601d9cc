import { ident, qualified } from '../db/sql.ts';
import type { Operation } from './operation.ts';
import { refuseKeyColumn, requireColumn, requireNoColumn } from './validation.ts';

/**
 * A rename is only a new name in the new version's views until contract; the
 * physical column keeps its name, so the old application never notices.
 */
export const renameColumn = {
  kind: 'rename_column',
  table: (spec) => spec.table,

  async validate(spec, ctx) {
    const column = requireColumn(ctx, 'rename_column', 'from', spec.from);
    requireNoColumn(ctx, 'rename_column', 'to', spec.to);
    refuseKeyColumn(ctx, 'rename_column', spec.from, 'from');
    column.name = spec.to;
  },

  expand: () => [],
  dualWrite: () => [],
  backfill: () => [],
  verify: () => ({ checks: [], actions: [] }),

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

  rollback: () => [],
} satisfies Operation<'rename_column'>;
