import { z } from 'zod';
import { identifier, tableName, sqlExpression } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { physicalColumn, physicalCondition, physicalExpression, resolveCondition, resolveExpression } from './physical-names.ts';
import { newColumns, requireColumn, requireExpression, where } from './validation.ts';

const SUMMARY = 'always concurrently; on `columns` or `expressions`; `unique`, `method`, `where`';

const spec = z
  .strictObject({
    table: tableName,
    name: identifier,
    columns: z.array(identifier).min(1).optional(),
    expressions: z
      .array(sqlExpression)
      .min(1)
      .optional()
      .describe("Index keys computed from each row, e.g. lower(email), written over the new version's columns as the earlier operations leave them (immutable functions only)"),
    unique: z.boolean().default(false),
    method: z.enum(['btree', 'hash', 'gin', 'gist', 'brin']).default('btree'),
    where: sqlExpression.optional().describe('Predicate of a partial index'),
  })
  .refine((s) => (s.columns === undefined) !== (s.expressions === undefined), { message: 'give columns or expressions, one of the two', path: ['columns'] });

/**
 * Always CONCURRENTLY: writes continue while the index builds. A build that
 * fails leaves an INVALID index, which the engine drops before trying again.
 */
export const createIndex = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    spec.columns?.forEach((c, i) => requireColumn(ctx, 'create_index', `columns[${i}]`, c));
    // Over the new version's columns, like `columns`: an index on a column an earlier
    // operation replaces is built on its replacement, not on the column contract drops.
    for (const [i, expression] of (spec.expressions ?? []).entries()) {
      const at = where(ctx, 'create_index', `expressions[${i}]`);
      await requireExpression(ctx, 'create_index', `expressions[${i}]`, probe, expression, newColumns(ctx));
      await resolveExpression(ctx, probe, at, expression);
    }
    if (ctx.table.indexes.has(spec.name)) {
      throw new InputError(`${where(ctx, 'create_index', 'name')}: index "${spec.name}" already exists on ${ctx.table.ref.schema}.${ctx.table.ref.name}`);
    }
    // Index names share one namespace with every relation of the schema. Without
    // this, IF NOT EXISTS would skip the build silently and rollback would drop
    // the other relation's index.
    if (await probe.relationExists(ctx.table.ref.schema, spec.name)) {
      throw new InputError(`${where(ctx, 'create_index', 'name')}: "${spec.name}" already exists in schema ${ctx.table.ref.schema} (indexes share one namespace with tables, views and other indexes)`);
    }
    if (spec.where) {
      await requireExpression(ctx, 'create_index', 'where', probe, spec.where, newColumns(ctx), 'boolean');
      await resolveCondition(ctx, probe, where(ctx, 'create_index', 'where'), spec.where);
    }
    ctx.table.indexes.add(spec.name);
  },

  expand(spec, ctx) {
    const columns = spec.columns
      ? spec.columns.map((c) => ident(physicalColumn(ctx, c))).join(', ')
      : spec.expressions!.map((e) => `(${physicalExpression(ctx, e)})`).join(', ');
    return [
      {
        id: `expand:${ctx.index}:create_index`,
        sql:
          `CREATE ${spec.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${ident(spec.name)} ` +
          `ON ${qualified(ctx.table.ref)} USING ${spec.method} (${columns})${spec.where ? ` WHERE ${physicalCondition(ctx, spec.where)}` : ''}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `build ${spec.name} without blocking writes`,
        concurrent: true,
        replacesInvalidIndex: { schema: ctx.table.ref.schema, name: spec.name },
      },
    ];
  },


  rollback(spec, ctx) {
    return [
      {
        id: `rollback:${ctx.index}:drop_index`,
        sql: `DROP INDEX CONCURRENTLY IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(spec.name)}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `remove ${spec.name}`,
        concurrent: true,
      },
    ];
  },
});
