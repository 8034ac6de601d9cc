import { z } from 'zod';
import { identifier } from '../playbook/spec-parts.ts';
import { ident, literal, qualified, shortName, tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { where } from './validation.ts';
import { claim, dropViewSql, emptyMaterializedViewSql, requireQuery, viewFields, viewKeyword, viewQuery, viewSql } from './views.ts';

const SUMMARY =
  'a view (`security_invoker` by default) or `materialized: true` view in expand, its query planned, never run, before; a materialized one is populated in expand and may get a `unique_index` (built concurrently) for concurrent refreshes';

const spec = z.strictObject({
  ...viewFields,
  query: viewQuery,
  materialized: z.boolean().default(false),
  security_invoker: z.boolean().optional().describe('Plain views: read the tables with the privileges of the role that queries the view (default true)'),
  with_data: z.boolean().optional().describe('Materialized views: populate it in expand (default true); the first population reads the whole query'),
  unique_index: z.array(identifier).min(1).optional().describe('Materialized views: columns of a unique index, built concurrently, so that later refreshes can be concurrent'),
  comment: z.string().optional(),
});

type CreateViewSpec = z.infer<typeof spec>;

const ref = (spec: CreateViewSpec) => ({ schema: spec.schema, name: spec.name });

const indexName = (spec: CreateViewSpec) => shortName(spec.name, ...spec.unique_index!, 'key');

function create(spec: CreateViewSpec, ctx: SchemaContext): PlannedAction {
  const sql = spec.materialized
    ? emptyMaterializedViewSql(ref(spec), spec.query)
    : viewSql('CREATE', ref(spec), [`security_invoker=${spec.security_invoker ?? true}`], spec.query);
  return {
    id: `expand:${ctx.index}:create_view`,
    sql,
    lock: 'ACCESS SHARE (reads only)',
    // Created empty: the statement takes its brief locks only, and the population that reads the tables is an action of its own.
    note: `create ${spec.materialized ? 'materialized view' : 'view'} ${tableKey(ref(spec))}${spec.materialized ? ', empty' : ''}`,
  };
}

/** Refuses fields that mean nothing for this kind of view, rather than ignore them. */
function refuseOtherKindsFields(spec: CreateViewSpec, ctx: SchemaContext): void {
  const fields = spec.materialized ? (['security_invoker'] as const) : (['with_data', 'unique_index'] as const);
  for (const field of fields) {
    if (spec[field] !== undefined) {
      throw new InputError(`${where(ctx, 'create_view', field)}: only for ${spec.materialized ? 'plain' : 'materialized'} views (materialized: ${spec.materialized})`);
    }
  }
}

/**
 * A new view takes only brief locks, so it is made in expand, where rollback
 * can drop it again. A materialized view is created empty and populated by a
 * separate action, the only one that reads its tables in full.
 */
export const createView = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe) {
    refuseOtherKindsFields(spec, ctx);
    claim(ctx, 'create_view', 'name', ref(spec));
    if (!(await probe.schemaExists(spec.schema))) throw new InputError(`${where(ctx, 'create_view', 'schema')}: schema ${spec.schema} does not exist`);
    if (await probe.relationExists(spec.schema, spec.name)) {
      throw new InputError(`${where(ctx, 'create_view', 'name')}: "${spec.name}" already exists in schema ${spec.schema} (views share one namespace with tables, indexes and sequences)`);
    }
    const columns = await requireQuery(ctx, 'create_view', probe, spec.query);
    if (spec.unique_index) {
      spec.unique_index.forEach((column, i) => {
        if (!columns.some((c) => c.name === column)) throw new InputError(`${where(ctx, 'create_view', `unique_index[${i}]`)}: the query has no column "${column}"`);
        if (spec.unique_index!.indexOf(column) !== i) throw new InputError(`${where(ctx, 'create_view', `unique_index[${i}]`)}: column "${column}" is listed twice`);
      });
      if (await probe.relationExists(spec.schema, indexName(spec))) {
        throw new InputError(`${where(ctx, 'create_view', 'unique_index')}: its index would be named "${indexName(spec)}", which already exists in schema ${spec.schema}`);
      }
    }
  },

  expand(spec, ctx) {
    const view = qualified(ref(spec));
    const actions = [create(spec, ctx)];
    if (spec.comment !== undefined) {
      actions.push({
        id: `expand:${ctx.index}:create_view:comment`,
        sql: `COMMENT ON ${viewKeyword(spec.materialized)} ${view} IS ${literal(spec.comment)}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: 'its comment',
      });
    }
    if (spec.materialized && spec.with_data !== false) {
      actions.push({
        id: `expand:${ctx.index}:create_view:populate`,
        sql: `REFRESH MATERIALIZED VIEW ${view}`,
        lock: 'ACCESS EXCLUSIVE (an unpopulated materialized view only: nobody can read it yet)',
        note: 'the first population reads the whole query once; its tables stay readable and writable meanwhile',
      });
    }
    if (spec.unique_index) {
      const columns = spec.unique_index.map(ident).join(', ');
      actions.push({
        id: `expand:${ctx.index}:create_view:unique_index`,
        sql: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${ident(indexName(spec))} ON ${view} (${columns})`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `${indexName(spec)}: lets REFRESH MATERIALIZED VIEW CONCURRENTLY keep the view readable while it refreshes`,
        concurrent: true,
        replacesInvalidIndex: { schema: spec.schema, name: indexName(spec) },
      });
    }
    return actions;
  },

  rollback(spec, ctx) {
    // Its comment and index go with it.
    return [
      {
        id: `rollback:${ctx.index}:drop_view`,
        sql: dropViewSql(ref(spec), spec.materialized, true),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove ${tableKey(ref(spec))}`,
        undoes: create(spec, ctx),
      },
    ];
  },
});
