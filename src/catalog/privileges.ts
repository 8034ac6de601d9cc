import type pg from 'pg';
import { ident } from '../db/sql.ts';

/** The kinds of object a playbook grants privileges on, as GRANT names them (a view is granted as a TABLE). */
export type PrivilegeObjectKind = 'table' | 'view' | 'sequence' | 'function' | 'schema';

export interface PrivilegeObject {
  kind: PrivilegeObjectKind;
  /** For a schema, the schema itself. */
  schema: string;
  name: string;
  /** A function's argument types: functions of one name are told apart by them. */
  args?: string[];
}

/**
 * What a GRANT to a role on one object changes. `held`: the privileges the role
 * already holds on it directly from the grantor this session's GRANT records
 * (PostgreSQL's select_best_grantor: the owner, for a superuser or the owner's
 * members), which is also the grantor whose grants a REVOKE by this session
 * takes away. `all`: what ALL means on this object in this server version (the
 * owner's default privileges: PostgreSQL 17 adds MAINTAIN to tables).
 */
export interface ObjectPrivileges {
  held: string[];
  all: string[];
}

/** What is there instead of the object named, when it exists as another kind of relation. */
export type PrivilegeLookup = ObjectPrivileges | { missing: true; actually?: string };

// acldefault's letter for each kind; relkinds a kind accepts (a materialized view is granted as a view).
const ACL_KIND: Record<PrivilegeObjectKind, string> = { table: 'r', view: 'r', sequence: 's', function: 'f', schema: 'n' };
const RELKINDS: Partial<Record<PrivilegeObjectKind, string[]>> = { table: ['r', 'p'], view: ['v', 'm'], sequence: ['S'] };
const RELKIND_NAMES: Record<string, string> = { r: 'table', p: 'table', v: 'view', m: 'materialized view', S: 'sequence', i: 'index', I: 'index', f: 'foreign table', c: 'type' };

/** The object's owner and its ACL (its default one when it has none yet), or null if it does not exist. */
async function objectAcl(db: pg.Pool | pg.ClientBase, object: PrivilegeObject): Promise<{ owner: number; acl: string; relkind?: string } | null> {
  if (object.kind === 'schema') {
    const { rows } = await db.query(`SELECT nspowner::int AS owner, coalesce(nspacl, acldefault('n', nspowner))::text AS acl FROM pg_namespace WHERE nspname = $1`, [object.name]);
    return rows[0] ?? null;
  }
  if (object.kind === 'function') {
    const signature = `${ident(object.schema)}.${ident(object.name)}(${(object.args ?? []).join(', ')})`;
    // to_regprocedure answers NULL for an unknown name or argument type, but a malformed type still raises.
    const { rows } = await db
      .query(
        `SELECT proowner::int AS owner, coalesce(proacl, acldefault('f', proowner))::text AS acl FROM pg_proc WHERE oid = to_regprocedure($1) AND prokind = 'f'`,
        [signature],
      )
      .catch(() => ({ rows: [] }));
    return rows[0] ?? null;
  }
  const { rows } = await db.query(
    `SELECT c.relowner::int AS owner, c.relkind::text AS relkind,
            coalesce(c.relacl, acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))::text AS acl
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [object.schema, object.name],
  );
  return rows[0] ?? null;
}

export async function roleExists(db: pg.Pool | pg.ClientBase, role: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
  return (rowCount ?? 0) > 0;
}

/** The privileges `role` holds on `object` as a GRANT by this session would record them (see ObjectPrivileges). */
export async function objectPrivileges(db: pg.Pool | pg.ClientBase, object: PrivilegeObject, role: string): Promise<PrivilegeLookup> {
  const found = await objectAcl(db, object);
  if (!found) return { missing: true };
  if (found.relkind !== undefined && !RELKINDS[object.kind]!.includes(found.relkind)) {
    return { missing: true, actually: RELKIND_NAMES[found.relkind] ?? `relation of kind ${found.relkind}` };
  }
  const { rows } = await db.query<{ held: string[]; all: string[] }>(
    `WITH grantor AS (
       SELECT CASE WHEN r.rolsuper OR pg_has_role(current_user, $2::oid, 'USAGE') THEN $2::oid ELSE r.oid END AS oid
         FROM pg_roles r WHERE r.rolname = current_user
     )
     SELECT ARRAY(SELECT lower(a.privilege_type) FROM aclexplode($1::aclitem[]) a, grantor
                   WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $3) AND a.grantor = grantor.oid ORDER BY 1) AS held,
            ARRAY(SELECT lower(a.privilege_type) FROM aclexplode(acldefault($4::"char", $2::oid)) a WHERE a.grantee = $2::oid ORDER BY 1) AS all`,
    [found.acl, found.owner, role, ACL_KIND[object.kind]],
  );
  return rows[0];
}
