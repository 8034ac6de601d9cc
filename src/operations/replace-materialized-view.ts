import { ident, literal, qualified, shortName, tableKey, type TableRef } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { OutputColumn, ViewInfo } from '../catalog/views.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { Probe, SchemaContext } from './operation.ts';
import { names } from './names.ts';
import { where } from './validation.ts';
import { dropViewSql, emptyMaterializedViewSql, viewSql } from './views.ts';

/**
 * A materialized view replaced without keeping its readers waiting: the new
 * one is built beside it in expand, under a name of the run's (populated, its
 * indexes built concurrently, its comment and grants copied), and contract
 * swaps the names in its one short transaction. Until then the old
 * application reads the old one, the new application the new one through its
 * version schema; rollback drops the new one and the old was never touched.
 */

/** An index the new view gets, under a name of the run's until contract gives it its own. */
export interface NewIndex {
  name: string;
  temporary: string;
  unique: boolean;
  /** After `ON <view> `: `USING btree (…) …`. */
  body: string;
  /** Why the plan builds it. */
  from: string;
}

export interface MaterializedReplacement {
  view: ViewInfo;
  indexes: NewIndex[];
  /** The old indexes that read a column the new query no longer has: they go with the old view. */
  lost: string[];
}

export interface DeclaredIndex {
  columns: string[];
  unique: boolean;
}

export interface MaterializedSpec {
  schema: string;
  name: string;
  query: string;
  indexes?: DeclaredIndex[];
}

const declaredName = (spec: MaterializedSpec, index: DeclaredIndex) => shortName(spec.name, ...index.columns, index.unique ? 'key' : 'idx');

const newRef = (spec: MaterializedSpec, ctx: SchemaContext): TableRef => ({ schema: spec.schema, name: names.newMaterializedView(ctx, spec.name) });

/** The old view's indexes whose columns the new query still has, then the playbook's own. */
export async function planReplacement(
  spec: MaterializedSpec,
  view: ViewInfo,
  columns: OutputColumn[],
  ctx: SchemaContext,
  probe: Probe,
): Promise<MaterializedReplacement> {
  const has = new Set(columns.map((c) => c.name));
  const dependents = await probe.tableDependents(spec);
  if (dependents.length) {
    throw new InputError(`${where(ctx, 'replace_view', 'name')}: ${tableKey(view)} is used by ${dependents.join(', ')}, which would keep reading the old materialized view; drop ${dependents.length > 1 ? 'them' : 'it'} first`);
  }
  if (await probe.relationExists(spec.schema, newRef(spec, ctx).name)) {
    throw new InputError(`${where(ctx, 'replace_view', 'name')}: the new materialized view would be built as "${newRef(spec, ctx).name}", which already exists in schema ${spec.schema}`);
  }
  const indexes: NewIndex[] = [];
  const lost: string[] = [];
  for (const index of view.indexes) {
    if (index.columns.every((c) => has.has(c))) indexes.push({ name: index.name, temporary: names.shadowIndex(ctx, index.name), unique: index.unique, body: index.body, from: `as ${index.name} of the old view` });
    else lost.push(index.name);
  }
  for (const [i, index] of (spec.indexes ?? []).entries()) {
    const field = `indexes[${i}]`;
    index.columns.forEach((column, j) => {
      if (!has.has(column)) throw new InputError(`${where(ctx, 'replace_view', `${field}.columns[${j}]`)}: the query has no column "${column}"`);
      if (index.columns.indexOf(column) !== j) throw new InputError(`${where(ctx, 'replace_view', `${field}.columns[${j}]`)}: column "${column}" is listed twice`);
    });
    const name = declaredName(spec, index);
    // An old index of the view goes with it at contract, so its name is free then, unless it is built again.
    const taken = indexes.some((n) => n.name === name) || (!view.indexes.some((o) => o.name === name) && (await probe.relationExists(spec.schema, name)));
    if (taken) throw new InputError(`${where(ctx, 'replace_view', field)}: its index would be named "${name}", which ${indexes.some((n) => n.name === name) ? 'the new view already gets' : `already exists in schema ${spec.schema}`}`);
    indexes.push({
      name,
      temporary: names.shadowIndex(ctx, name),
      unique: index.unique,
      body: `USING btree (${index.columns.map(ident).join(', ')})`,
      from: 'as the playbook declares',
    });
  }
  return { view, indexes, lost };
}

function createNew(spec: MaterializedSpec, ctx: SchemaContext): PlannedAction {
  return {
    id: `expand:${ctx.index}:replace_view:create`,
    sql: emptyMaterializedViewSql(newRef(spec, ctx), spec.query),
    lock: 'ACCESS SHARE (reads only)',
    note: `the new ${tableKey(spec)}, empty, under a name of the run's until contract`,
  };
}

function versionView(spec: MaterializedSpec, ctx: SchemaContext): PlannedAction {
  return {
    id: `dual_write:${ctx.index}:replace_view`,
    sql: viewSql('CREATE', { schema: ctx.versionSchema, name: spec.name }, ['security_invoker=true'], `SELECT * FROM ${qualified(newRef(spec, ctx))}`),
    lock: 'ACCESS SHARE (reads only)',
    note: `${spec.name} as the new application sees it until contract: the new materialized view`,
  };
}

export const materializedPhases = {
  expand(spec: MaterializedSpec, ctx: SchemaContext, found: MaterializedReplacement): PlannedAction[] {
    const fresh = qualified(newRef(spec, ctx));
    const actions: PlannedAction[] = [
      createNew(spec, ctx),
      {
        id: `expand:${ctx.index}:replace_view:populate`,
        sql: `REFRESH MATERIALIZED VIEW ${fresh}`,
        lock: 'ACCESS EXCLUSIVE (an unpopulated materialized view only: nobody can read it yet)',
        note: 'the new view reads the whole query once; the old one and its tables stay readable meanwhile',
      },
    ];
    if (found.view.comment !== null) {
      actions.push({
        id: `expand:${ctx.index}:replace_view:comment`,
        sql: `COMMENT ON MATERIALIZED VIEW ${fresh} IS ${literal(found.view.comment)}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: "the old view's comment",
      });
    }
    for (const grant of found.view.grants) {
      actions.push({
        id: `expand:${ctx.index}:replace_view:grant:${grant.grantee}`,
        sql: `GRANT ${grant.privileges.join(', ')} ON ${fresh} TO ${grant.grantee === 'PUBLIC' ? 'PUBLIC' : ident(grant.grantee)}`,
        lock: 'none',
        note: `what ${grant.grantee} may do on the old view`,
      });
    }
    for (const index of found.indexes) {
      actions.push({
        id: `expand:${ctx.index}:replace_view:index:${index.name}`,
        sql: `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${ident(index.temporary)} ON ${fresh} ${index.body}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `${index.name} ${index.from}`,
        concurrent: true,
        replacesInvalidIndex: { schema: spec.schema, name: index.temporary },
      });
    }
    return actions;
  },

  dualWrite: (spec: MaterializedSpec, ctx: SchemaContext): PlannedAction[] => [versionView(spec, ctx)],

  contract(spec: MaterializedSpec, ctx: SchemaContext, found: MaterializedReplacement): PlannedAction[] {
    const lost = found.lost.length ? `; ${found.lost.join(', ')} read${found.lost.length > 1 ? '' : 's'} a column the new query lacks and go${found.lost.length > 1 ? '' : 'es'} with it` : '';
    return [
      {
        id: `contract:${ctx.index}:replace_view:version`,
        sql: dropViewSql({ schema: ctx.versionSchema, name: spec.name }, false, true),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'the new application reads the view in place from now on',
      },
      {
        id: `contract:${ctx.index}:replace_view:drop_old`,
        sql: dropViewSql(spec, true, false),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `the old materialized view and its indexes${lost}`,
      },
      {
        id: `contract:${ctx.index}:replace_view:rename`,
        sql: `ALTER MATERIALIZED VIEW ${qualified(newRef(spec, ctx))} RENAME TO ${ident(spec.name)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `the new one takes the name ${spec.name}`,
      },
      ...found.indexes.map(
        (index): PlannedAction => ({
          id: `contract:${ctx.index}:replace_view:rename_index:${index.name}`,
          sql: `ALTER INDEX ${ident(spec.schema)}.${ident(index.temporary)} RENAME TO ${ident(index.name)}`,
          lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
          note: `its index takes the name ${index.name}`,
        }),
      ),
    ];
  },

  rollback(spec: MaterializedSpec, ctx: SchemaContext): PlannedAction[] {
    // Its indexes (an INVALID one a failed build left, too), comment and grants go with it; the old view was never touched.
    return [
      {
        id: `rollback:${ctx.index}:replace_view`,
        sql: dropViewSql({ schema: ctx.versionSchema, name: spec.name }, false, true),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove the new version's ${spec.name}`,
        undoes: versionView(spec, ctx),
      },
      {
        id: `rollback:${ctx.index}:replace_view:drop_new`,
        sql: dropViewSql(newRef(spec, ctx), true, true),
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'remove the new materialized view',
        undoes: createNew(spec, ctx),
      },
    ];
  },
};
