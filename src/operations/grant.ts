import { z } from 'zod';
import { ident } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { ACL_LOCK_NOTE, checkPrivileges, named, objectOf, objectSpec, objectSql, privilegeList, privilegesSpec, roleName } from './privileges.ts';
import type { PrivilegeObject } from '../catalog/privileges.ts';

const SUMMARY = 'privileges on a table, view, sequence, function or schema to a role, in expand; rollback revokes only those the role did not hold before';

const spec = z.strictObject({
  privileges: privilegesSpec,
  on: objectSpec,
  to: roleName,
});

type GrantSpec = z.infer<typeof spec>;

/** What validate read: the object, and the privileges this grant adds (the role held the others already). */
interface Found {
  object: PrivilegeObject;
  added: string[];
}

function grantAction(spec: GrantSpec, ctx: SchemaContext, found: Found): PlannedAction {
  return {
    id: `expand:${ctx.index}:grant`,
    sql: `GRANT ${privilegeList(spec.privileges)} ON ${objectSql(found.object)} TO ${ident(spec.to)}`,
    lock: 'none',
    note: `${spec.to} may use it from now on; the old application is unaffected (${ACL_LOCK_NOTE})`,
  };
}

/**
 * Privileges only add: the old application keeps working after a GRANT, so it
 * runs in expand, ready for the new version. Validate reads which of them the
 * role already holds (from the grantor this GRANT records) and the plan keeps
 * that, so a rollback revokes what this grant added and nothing the role had.
 */
export const grant = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: objectOf(spec.on).schema }),

  async validate(spec, ctx, probe): Promise<Found> {
    const { object, found } = await checkPrivileges('grant', spec, { field: 'to', name: spec.to }, ctx, probe);
    return { object, added: named(spec.privileges, found).filter((p) => !found.held.includes(p)) };
  },

  expand: (spec, ctx, found) => [grantAction(spec, ctx, found)],

  rollback(spec, ctx, found) {
    if (found.added.length === 0) return [];
    return [
      {
        id: `rollback:${ctx.index}:grant`,
        sql: `REVOKE ${privilegeList(found.added)} ON ${objectSql(found.object)} FROM ${ident(spec.to)}`,
        lock: 'none',
        note: `take back what the grant added; ${spec.to} keeps what it held before (${ACL_LOCK_NOTE})`,
        undoes: grantAction(spec, ctx, found),
      },
    ];
  },
});
