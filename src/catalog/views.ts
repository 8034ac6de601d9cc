import type pg from 'pg';
import type { TableRef } from '../db/sql.ts';
import type { TableGrant } from './introspect.ts';

/** A column of a view or of a query's result: its name and format_type(). */
export interface OutputColumn {
  name: string;
  type: string;
}

export interface ViewInfo extends TableRef {
  materialized: boolean;
  /** A materialized view created WITH NO DATA and never refreshed cannot be read, nor refreshed concurrently. */
  populated: boolean;
  /** pg_get_viewdef with every name schema-qualified, so it means the same whatever the search_path. */
  definition: string;
  columns: OutputColumn[];
  /** pg_class.reloptions (`security_invoker=true`, `check_option=local`): CREATE OR REPLACE VIEW drops those it is not given. */
  options: string[];
  /** A materialized view with a valid unique index over plain columns, without predicate: REFRESH … CONCURRENTLY can use it. */
  hasRefreshKey: boolean;
  /** Its comment, if any. */
  comment: string | null;
  /** Privileges granted on it to others than its owner. */
  grants: TableGrant[];
  /** Its valid indexes (a materialized view's): what a replacement of it builds again. */
  indexes: ViewIndex[];
}

export interface ViewIndex {
  name: string;
  unique: boolean;
  /** Every column of the view it reads: in its keys, its expressions, its INCLUDE and its WHERE. */
  columns: string[];
  /** pg_get_indexdef after `ON <view> `: `USING btree (lower(email)) WHERE …`, to build it again on another relation. */
  body: string;
}

/** Reads one view or materialized view from the catalog; null when no view has that name. */
export async function describeView(db: pg.Pool, ref: TableRef): Promise<ViewInfo | null> {
  const client = await db.connect();
  try {
    // An empty search_path only for this read-only transaction: pg_get_viewdef then qualifies every table it names.
    await client.query('BEGIN READ ONLY');
    await client.query(`SELECT set_config('search_path', '', true)`);
    const { rows } = await client.query<Omit<ViewInfo, 'schema' | 'name'>>(
      `SELECT c.relkind = 'm' AS materialized, c.relispopulated AS populated,
              pg_get_viewdef(c.oid) AS definition,
              coalesce(c.reloptions, '{}') AS options,
              (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum), '[]')
                 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid
                         AND i.indexprs IS NULL AND i.indpred IS NULL) AS "hasRefreshKey",
              obj_description(c.oid, 'pg_class') AS comment,
              (SELECT coalesce(json_agg(json_build_object('grantee', g.grantee, 'privileges', g.privileges) ORDER BY g.grantee), '[]')
                 FROM (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
                              array_agg(a.privilege_type ORDER BY a.privilege_type) AS privileges
                         FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner GROUP BY 1) g) AS grants,
              (SELECT coalesce(json_agg(json_build_object(
                        'name', x.name, 'unique', x.unique, 'columns', x.columns,
                        -- The definition's head as pg_get_indexdef writes it: what follows is the index itself.
                        'body', CASE WHEN starts_with(x.def, x.head) THEN substr(x.def, length(x.head) + 1) END) ORDER BY x.name), '[]')
                 FROM (SELECT ic.relname AS name, i.indisunique AS unique, pg_get_indexdef(i.indexrelid) AS def,
                              format('CREATE %sINDEX %I ON %I.%I ', CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END, ic.relname, n.nspname, c.relname) AS head,
                              ARRAY(SELECT a.attname FROM pg_attribute a
                                     WHERE a.attrelid = c.oid AND a.attnum > 0
                                       AND (a.attnum = ANY (i.indkey)
                                            OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                                                          AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid = a.attnum))
                                     ORDER BY a.attnum) AS columns
                         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                        WHERE i.indrelid = c.oid AND i.indisvalid) x) AS indexes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('v', 'm')`,
      [ref.schema, ref.name],
    );
    const view = rows[0];
    if (!view) return null;
    const unreadable = view.indexes.find((i) => i.body === null);
    if (unreadable) throw new Error(`describeView: cannot read the definition of index ${unreadable.name} of ${ref.schema}.${ref.name}`);
    return { schema: ref.schema, name: ref.name, ...view, definition: view.definition.trim().replace(/;$/, '') };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

/**
 * The columns a query would give a view, found by planning it, never running
 * it: wrapped under `WHERE false`, in the caller's transaction made READ ONLY
 * (the schema rehearsal's, where the tables a playbook creates before the view
 * exist), through the extended protocol (one statement only). `error` is
 * PostgreSQL's complaint.
 */
export async function queryColumns(client: pg.ClientBase, query: string): Promise<{ columns: OutputColumn[] } | { error: string }> {
  try {
    // Read only from here on (a read-write transaction may turn read-only at any point):
    // a data-modifying WITH in the query runs even under WHERE false, and must fail instead.
    await client.query('SET TRANSACTION READ ONLY');
    // Line breaks around the query: a trailing -- comment in it must not swallow the wrapper.
    const result = await client.query({ text: `SELECT * FROM (\n${query}\n) AS q WHERE false`, queryMode: 'extended' } as pg.QueryConfig);
    const { rows } = await client.query<{ type: string }>(
      `SELECT format_type(t, m) AS type FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS f(t, m, i) ORDER BY i`,
      [result.fields.map((f) => f.dataTypeID), result.fields.map((f) => f.dataTypeModifier)],
    );
    return { columns: result.fields.map((f, i) => ({ name: f.name, type: rows[i].type })) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
