import type pg from 'pg';
import { withClient } from '../db/pool.ts';
import { SNAPSHOT_FORMAT, objectKey, type AttributeValue, type ObjectKind, type SchemaObject, type SchemaSnapshot } from './format.ts';

/**
 * The schemas a snapshot leaves out besides PostgreSQL's own: bellows' state
 * schema and the version schemas of runs in flight (snapshot/bellows-objects.ts).
 * Objects named `_bellows…` (the triggers, trigger functions, shadow columns,
 * indexes and checks of a run between expand and contract) are always left out:
 * they are a run's working parts, not the user's schema, and contract or
 * rollback removes them.
 */
export interface SnapshotScope {
  excludeSchemas: string[];
}

/** $1 is the excluded schemas; `n` the namespace. Objects that belong to an extension are the extension's, not the user's. */
const USER_SCHEMA = `n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;
const notExtensionMember = (classTable: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${classTable}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;
const NOT_BELLOWS = (name: string) => `${name} NOT LIKE '\\_bellows%'`;

/** An ACL as `grantee: PRIV, PRIV` lines sorted by grantee; a NULL ACL is the default one, spelled out, so both compare equal. */
const acl = (column: string, kind: string, owner: string) => `ARRAY(
  SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ': ' ||
         string_agg(a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, ', ' ORDER BY a.privilege_type)
    FROM aclexplode(coalesce(${column}, acldefault('${kind}', ${owner}))) a GROUP BY a.grantee ORDER BY 1)::text[]`;

const RELATION_KIND = `CASE WHEN c.relkind IN ('r', 'p') THEN 'table' WHEN c.relkind = 'm' THEN 'materialized view' ELSE 'view' END`;

interface Row {
  kind: ObjectKind;
  name: string;
  parent: string | null;
  attributes: Record<string, AttributeValue>;
}

const QUERIES: string[] = [
  `SELECT 'schema' AS kind, n.nspname AS name, NULL AS parent,
          json_build_object('owner', pg_get_userbyid(n.nspowner), 'acl', ${acl('n.nspacl', 'n', 'n.nspowner')},
                            'comment', obj_description(n.oid, 'pg_namespace')) AS attributes
     FROM pg_namespace n WHERE ${USER_SCHEMA} AND ${notExtensionMember('pg_namespace', 'n.oid')}`,

  `SELECT 'table' AS kind, format('%s.%s', n.nspname, c.relname) AS name, NULL AS parent,
          json_build_object('owner', pg_get_userbyid(c.relowner), 'acl', ${acl('c.relacl', 'r', 'c.relowner')},
                            'partitioned', c.relkind = 'p', 'unlogged', c.relpersistence = 'u', 'rowSecurity', c.relrowsecurity,
                            'comment', obj_description(c.oid, 'pg_class')) AS attributes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}`,

  // Column order is left out: expand/contract adds and drops columns, so the same shape reached by two routes orders them differently.
  `SELECT 'column' AS kind, format('%s.%s.%s', n.nspname, c.relname, a.attname) AS name, format('table %s.%s', n.nspname, c.relname) AS parent,
          json_build_object('type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull,
                            'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
                            'generated', CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END,
                            'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
                            'collation', CASE WHEN a.attcollation <> t.typcollation THEN
                                           (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
                            'comment', col_description(c.oid, a.attnum)) AS attributes
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND ${NOT_BELLOWS('a.attname')}
      AND ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}`,

  // NOT NULL is a column attribute; PostgreSQL 18 also lists it as a constraint (contype 'n').
  `SELECT 'constraint' AS kind, format('%s.%s.%s', n.nspname, c.relname, k.conname) AS name, format('table %s.%s', n.nspname, c.relname) AS parent,
          json_build_object('definition', pg_get_constraintdef(k.oid), 'comment', obj_description(k.oid, 'pg_constraint')) AS attributes
     FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE k.contype <> 'n' AND ${NOT_BELLOWS('k.conname')} AND ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}`,

  `SELECT 'index' AS kind, format('%s.%s', n.nspname, ic.relname) AS name, format('%s %s.%s', ${RELATION_KIND}, n.nspname, c.relname) AS parent,
          json_build_object('definition', pg_get_indexdef(i.indexrelid), 'valid', i.indisvalid, 'comment', obj_description(ic.oid, 'pg_class')) AS attributes
     FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${NOT_BELLOWS('ic.relname')} AND ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}`,

  `SELECT ${RELATION_KIND} AS kind, format('%s.%s', n.nspname, c.relname) AS name, NULL AS parent,
          json_build_object('definition', rtrim(btrim(pg_get_viewdef(c.oid)), ';'), 'options', coalesce(c.reloptions, '{}')::text[],
                            'owner', pg_get_userbyid(c.relowner), 'acl', ${acl('c.relacl', 'r', 'c.relowner')},
                            'comment', obj_description(c.oid, 'pg_class')) AS attributes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('v', 'm') AND ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}`,

  // Aggregates and window functions have no pg_get_functiondef; bellows makes neither.
  `SELECT 'function' AS kind, format('%s.%s(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name, NULL AS parent,
          json_build_object('definition', pg_get_functiondef(p.oid), 'owner', pg_get_userbyid(p.proowner),
                            'acl', ${acl('p.proacl', 'f', 'p.proowner')}, 'comment', obj_description(p.oid, 'pg_proc')) AS attributes
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p') AND ${NOT_BELLOWS('p.proname')} AND ${USER_SCHEMA} AND ${notExtensionMember('pg_proc', 'p.oid')}`,

  `SELECT 'trigger' AS kind, format('%s.%s.%s', n.nspname, c.relname, g.tgname) AS name, format('%s %s.%s', ${RELATION_KIND}, n.nspname, c.relname) AS parent,
          json_build_object('definition', pg_get_triggerdef(g.oid), 'enabled', g.tgenabled::text, 'comment', obj_description(g.oid, 'pg_trigger')) AS attributes
     FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT g.tgisinternal AND ${NOT_BELLOWS('g.tgname')} AND ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}`,

  // An identity column's sequence is part of the column (its `identity` attribute), named by PostgreSQL, not the user.
  `SELECT 'sequence' AS kind, format('%s.%s', n.nspname, c.relname) AS name, NULL AS parent,
          json_build_object('type', format_type(s.seqtypid, NULL), 'start', s.seqstart::text, 'increment', s.seqincrement::text,
                            'min', s.seqmin::text, 'max', s.seqmax::text, 'cache', s.seqcache::text, 'cycle', s.seqcycle,
                            'ownedBy', (SELECT format('%s.%s', d.refobjid::regclass::text, a.attname) FROM pg_depend d
                                          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a' AND d.refobjsubid > 0 LIMIT 1),
                            'owner', pg_get_userbyid(c.relowner), 'acl', ${acl('c.relacl', 's', 'c.relowner')},
                            'comment', obj_description(c.oid, 'pg_class')) AS attributes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
    WHERE c.relkind = 'S' AND ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')`,

  `SELECT 'enum' AS kind, format('%s.%s', n.nspname, t.typname) AS name, NULL AS parent,
          json_build_object('values', ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)::text[],
                            'owner', pg_get_userbyid(t.typowner), 'acl', ${acl('t.typacl', 'T', 't.typowner')},
                            'comment', obj_description(t.oid, 'pg_type')) AS attributes
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype = 'e' AND ${USER_SCHEMA} AND ${notExtensionMember('pg_type', 't.oid')}`,
];

const byKindAndName = (a: SchemaObject, b: SchemaObject) => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0);

/**
 * Reads the schema in one READ ONLY transaction (one consistent picture), with
 * an empty search_path so that every definition PostgreSQL prints names its
 * objects with their schema: the same text whatever the session's settings.
 */
export async function takeSnapshot(db: pg.Pool, scope: SnapshotScope): Promise<SchemaSnapshot> {
  return withClient(db, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      await client.query(`SELECT set_config('search_path', '', true)`);
      const objects: SchemaObject[] = [];
      for (const query of QUERIES) {
        const { rows } = await client.query<Row>(query, [scope.excludeSchemas]);
        for (const row of rows) objects.push({ kind: row.kind, name: row.name, ...(row.parent ? { parent: row.parent } : {}), attributes: row.attributes });
      }
      return { format: SNAPSHOT_FORMAT, objects: objects.sort(byKindAndName) };
    } finally {
      await client.query('ROLLBACK').catch(() => {});
    }
  });
}
