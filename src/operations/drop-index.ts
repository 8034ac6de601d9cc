import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { ident } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { where } from './validation.ts';

const SUMMARY = 'at contract, concurrently: reads and writes go on while it goes';

const spec = z.strictObject({
  table: tableName,
  name: identifier.describe('The index to drop'),
});

/**
 * The index serves the old application until contract, so it stays until then.
 * DROP INDEX CONCURRENTLY cannot run in a transaction block: contract runs it
 * after its transaction, and repeats it harmlessly if resumed.
 */
export const dropIndex = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx) {
    const index = ctx.table.original.indexes.find((i) => i.name === spec.name);
    if (!index || !ctx.table.indexes.has(spec.name)) {
      throw new InputError(`${where(ctx, 'drop_index', 'name')}: no index "${spec.name}" on ${ctx.table.ref.schema}.${ctx.table.ref.name}`);
    }
    if (index.neededBy) {
      throw new InputError(`${where(ctx, 'drop_index', 'name')}: "${spec.name}" is needed by ${index.neededBy}; drop the constraint instead, or first`);
    }
    ctx.table.indexes.delete(spec.name);
  },

  contract(spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:drop_index`,
        sql: `DROP INDEX CONCURRENTLY IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(spec.name)}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `drop ${spec.name} without blocking writes, after contract's transaction`,
        concurrent: true,
      },
    ];
  },
});
