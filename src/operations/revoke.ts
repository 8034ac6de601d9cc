import { z } from 'zod';
import { ident } from '../db/sql.ts';
import { defineSchemaOperation } from './operation.ts';
import { ACL_LOCK_NOTE, checkPrivileges, objectOf, objectSpec, objectSql, privilegeList, privilegesSpec, roleName } from './privileges.ts';
import type { PrivilegeObject } from '../catalog/privileges.ts';

const SUMMARY = 'privileges on a table, view, sequence, function or schema from a role, at contract: the old application may need them until then';

const spec = z.strictObject({
  privileges: privilegesSpec,
  on: objectSpec,
  from: roleName,
});

/**
 * Taking a privilege away breaks whoever still uses it, and until the gate that
 * may be the old application: so REVOKE waits for contract, and before it there
 * is nothing to undo. It takes back the grants of the grantor this session
 * acts as (the owner, for a superuser); a privilege the role also holds through
 * PUBLIC, another grantor or a role it belongs to stays.
 */
export const revoke = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: objectOf(spec.on).schema }),

  async validate(spec, ctx, probe): Promise<PrivilegeObject> {
    return (await checkPrivileges('revoke', spec, { field: 'from', name: spec.from }, ctx, probe)).object;
  },

  contract: (spec, ctx, object) => [
    {
      id: `contract:${ctx.index}:revoke`,
      sql: `REVOKE ${privilegeList(spec.privileges)} ON ${objectSql(object)} FROM ${ident(spec.from)}`,
      lock: 'none',
      note: `${spec.from} loses them now that the new version runs (${ACL_LOCK_NOTE})`,
    },
  ],
});
