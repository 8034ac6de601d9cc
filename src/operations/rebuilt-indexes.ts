import { ident, qualified } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { IndexInfo } from '../catalog/introspect.ts';
import type { OpContext } from './operation.ts';
import { names } from './names.ts';

/**
 * An index on columns that contract drops, built again in expand on the
 * columns that replace them, concurrently and under a name of the run's; at
 * contract the old one goes with its column and the copy takes its name.
 * Only plain indexes are copied (no expressions, no predicate).
 */
export interface RebuiltIndex {
  index: IndexInfo;
  /** The copy's columns, physical, in order. */
  columns: string[];
  /** What plan says of the copy. */
  note: string;
}

export const rebuiltIndexPhases = {
  expand: (ctx: OpContext, rebuilt: RebuiltIndex[]): PlannedAction[] =>
    rebuilt.map(({ index, columns, note }) => {
      const copy = names.shadowIndex(ctx, index.name);
      return {
        id: `expand:${ctx.index}:index:${index.name}`,
        sql: `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${ident(copy)} ON ${qualified(ctx.table.ref)} USING ${index.method} (${columns.map(ident).join(', ')})`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note,
        concurrent: true,
        replacesInvalidIndex: { schema: ctx.table.ref.schema, name: copy },
      };
    }),

  /** After the old columns are dropped, and their indexes with them. */
  contract: (ctx: OpContext, rebuilt: RebuiltIndex[]): PlannedAction[] =>
    rebuilt.map(({ index }) => ({
      id: `contract:${ctx.index}:rename_index:${index.name}`,
      sql: `ALTER INDEX ${ident(ctx.table.ref.schema)}.${ident(names.shadowIndex(ctx, index.name))} RENAME TO ${ident(index.name)}`,
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: `the copied index takes the name ${index.name}`,
    })),

  rollback: (ctx: OpContext, rebuilt: RebuiltIndex[]): PlannedAction[] =>
    rebuilt.map(({ index }) => ({
      id: `rollback:${ctx.index}:drop_index:${index.name}`,
      sql: `DROP INDEX CONCURRENTLY IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(names.shadowIndex(ctx, index.name))}`,
      lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
      note: `remove the copy of ${index.name}`,
      concurrent: true,
    })),
};
