import type pg from 'pg';
import type { TableRef } from '../db/sql.ts';

export interface ColumnInfo {
  name: string;
  /** format_type() of the column: what a cast to it looks like, e.g. `character varying(320)`. */
  type: string;
  notNull: boolean;
  default: string | null;
  comment: string | null;
}

export interface KeyColumn {
  name: string;
  type: string;
}

export interface IndexInfo {
  name: string;
  valid: boolean;
  unique: boolean;
  primary: boolean;
  /** Only plain column references: no expressions, no predicate. */
  plain: boolean;
  method: string;
  columns: string[];
  /** A constraint that needs the index (its own primary key, unique or exclusion constraint, or a foreign key to it), as PostgreSQL names it. */
  neededBy: string | null;
}

/** pg_constraint.contype: check, foreign key, primary key, unique, exclusion, constraint trigger, not null (PostgreSQL 18). */
export type ConstraintType = 'c' | 'f' | 'p' | 'u' | 'x' | 't' | 'n';

export interface ConstraintInfo {
  name: string;
  type: ConstraintType;
  /** Inherited from a parent (a partition's): only the parent's can be dropped or renamed. */
  inherited: boolean;
  /** For a primary key or unique constraint: a foreign key (of any table) that needs it, as PostgreSQL names it. */
  neededBy: string | null;
}

export interface TableGrant {
  /** A role name, or PUBLIC. */
  grantee: string;
  privileges: string[];
}

export interface TableInfo extends TableRef {
  oid: number;
  columns: ColumnInfo[];
  /** The key the backfill walks: the primary key, else a unique index over NOT NULL columns. */
  key: { kind: 'primary key' | 'unique index'; index: string; columns: KeyColumn[] } | null;
  indexes: IndexInfo[];
  constraints: ConstraintInfo[];
  /** Privileges granted on the table to others than its owner: the new version's view is granted the same. */
  grants: TableGrant[];
  /** pg_class.reltuples: the planner's row estimate; -1 when never analyzed. */
  estimatedRows: number;
}

/** Reads one table's shape from the catalog; null when it does not exist. */
export async function describeTable(db: pg.Pool | pg.ClientBase, table: TableRef): Promise<TableInfo | null> {
  const rel = await db.query<{ oid: number; reltuples: number }>(
    `SELECT c.oid::int AS oid, c.reltuples::float8 AS reltuples
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [table.schema, table.name],
  );
  if (rel.rowCount === 0) return null;
  const { oid, reltuples } = rel.rows[0];

  const cols = await db.query<ColumnInfo>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
            pg_get_expr(d.adbin, d.adrelid) AS default, col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );

  const idx = await db.query<Omit<IndexInfo, 'columns'> & { columns: string[] | null }>(
    `SELECT ic.relname AS name, i.indisvalid AS valid, i.indisunique AS unique, i.indisprimary AS primary,
            am.amname AS method,
            i.indpred IS NULL AND i.indexprs IS NULL AS plain,
            ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   ORDER BY k.ord)::text[] AS columns,
            (SELECT format('constraint %I on %s', c.conname, c.conrelid::regclass) FROM pg_constraint c
              WHERE c.conindid = i.indexrelid AND (c.contype = 'f' OR c.conrelid = i.indrelid)
              ORDER BY c.conname LIMIT 1) AS "neededBy"
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
      WHERE i.indrelid = $1
      ORDER BY i.indisprimary DESC, array_length(i.indkey, 1), ic.relname`,
    [oid],
  );

  const cons = await db.query<ConstraintInfo>(
    `SELECT c.conname AS name, c.contype AS type, NOT c.conislocal AS inherited,
            (SELECT format('constraint %I on %s', f.conname, f.conrelid::regclass) FROM pg_constraint f
              WHERE c.contype IN ('p', 'u') AND f.contype = 'f' AND f.conindid = c.conindid
              ORDER BY f.conname LIMIT 1) AS "neededBy"
       FROM pg_constraint c
      WHERE c.conrelid = $1
      ORDER BY c.conname`,
    [oid],
  );

  const grants = await db.query<TableGrant>(
    `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            array_agg(a.privilege_type ORDER BY a.privilege_type)::text[] AS privileges
       FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = $1 AND a.grantee <> c.relowner
      GROUP BY 1 ORDER BY 1`,
    [oid],
  );

  const byName = new Map(cols.rows.map((c) => [c.name, c]));
  const keyIndex =
    idx.rows.find((i) => i.primary) ??
    idx.rows.find(
      (i) => i.unique && i.valid && i.plain && i.columns !== null && i.columns.every((c) => byName.get(c)?.notNull),
    );

  return {
    ...table,
    oid,
    columns: cols.rows,
    key: keyIndex
      ? {
          kind: keyIndex.primary ? 'primary key' : 'unique index',
          index: keyIndex.name,
          columns: keyIndex.columns!.map((c) => ({ name: c, type: byName.get(c)!.type })),
        }
      : null,
    indexes: idx.rows.map((i) => ({ ...i, columns: i.columns ?? [] })),
    constraints: cons.rows,
    grants: grants.rows,
    estimatedRows: reltuples,
  };
}

export async function schemaExists(db: pg.Pool | pg.ClientBase, name: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [name]);
  return (rowCount ?? 0) > 0;
}

export async function typeExists(db: pg.Pool | pg.ClientBase, type: string): Promise<boolean> {
  try {
    const { rows } = await db.query<{ t: string | null }>(`SELECT to_regtype($1)::text AS t`, [type]);
    return rows[0].t !== null;
  } catch {
    return false; // a type name PostgreSQL cannot even parse
  }
}
