import { z } from 'zod';
import { identifier, sqlType, tableName } from '../playbook/spec-parts.ts';
import { ident, parseTableRef, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { ObjectPrivileges, PrivilegeObject, PrivilegeObjectKind } from '../catalog/privileges.ts';
import type { Probe, SchemaContext } from './operation.ts';

/** The shared part of grant and revoke: which privileges, on which object, and what the role holds there. */

const PRIVILEGES = ['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger', 'usage', 'execute', 'create', 'all'] as const;
export type Privilege = (typeof PRIVILEGES)[number];

const KINDS = ['table', 'view', 'sequence', 'function', 'schema'] as const satisfies readonly PrivilegeObjectKind[];

const TABLE_PRIVILEGES: Privilege[] = ['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger'];
/** What each kind of object takes (`all` fits every kind), as GRANT accepts them. */
const FITS: Record<PrivilegeObjectKind, Privilege[]> = {
  table: TABLE_PRIVILEGES,
  view: TABLE_PRIVILEGES,
  sequence: ['usage', 'select', 'update'],
  function: ['execute'],
  schema: ['usage', 'create'],
};
/** GRANT's word for each kind: a view is granted as a TABLE. */
const SQL_WORD: Record<PrivilegeObjectKind, string> = { table: 'TABLE', view: 'TABLE', sequence: 'SEQUENCE', function: 'FUNCTION', schema: 'SCHEMA' };

// PostgreSQL takes no lock on the object for GRANT or REVOKE (checked in pg_locks):
// it rewrites the object's catalog row (a concurrent GRANT on the same object waits
// for that row) and holds the role against a concurrent DROP ROLE. Reads and writes go on.
export const ACL_LOCK_NOTE = 'no lock on the object: only its catalog row changes';

export const privilegesSpec = z.array(z.enum(PRIVILEGES)).min(1).describe('The privileges, each fitting the object: all is every privilege the object takes');

export const objectSpec = z
  .strictObject({
    table: tableName.optional(),
    view: tableName.optional(),
    sequence: tableName.optional(),
    function: z.string().regex(/^[^.]+(\.[^.]+)?$/, 'expected "function" or "schema.function"').optional().describe('Function, optionally schema-qualified; give its args'),
    args: z.array(sqlType).optional().describe("The function's argument types, e.g. [text] ([] for none): functions of one name are told apart by them"),
    schema: identifier.optional(),
  })
  .refine((on) => KINDS.filter((kind) => on[kind] !== undefined).length === 1, { message: `exactly one of ${KINDS.join(', ')}` })
  .describe('The object: one of table, view, sequence, function (with args) or schema');

export const roleName = identifier.describe('A role that exists (roles belong to the cluster, not to a playbook: create it beforehand)');

export type ObjectSpec = z.infer<typeof objectSpec>;

/** The object a spec names, its schema defaulting to public. */
export function objectOf(on: ObjectSpec): PrivilegeObject {
  const kind = KINDS.find((k) => on[k] !== undefined)!;
  if (kind === 'schema') return { kind, schema: on.schema!, name: on.schema! };
  const ref = parseTableRef(on[kind]!);
  return kind === 'function' ? { kind, ...ref, args: on.args } : { kind, ...ref };
}

export function describeObject(object: PrivilegeObject): string {
  if (object.kind === 'schema') return `schema ${object.name}`;
  const args = object.kind === 'function' ? `(${object.args!.join(', ')})` : '';
  return `${object.kind} ${object.schema}.${object.name}${args}`;
}

/** `TABLE "public"."users"`, `FUNCTION "public"."f"(text)`: the object as GRANT and REVOKE name it. */
export function objectSql(object: PrivilegeObject): string {
  if (object.kind === 'schema') return `SCHEMA ${ident(object.name)}`;
  const args = object.kind === 'function' ? `(${object.args!.join(', ')})` : '';
  return `${SQL_WORD[object.kind]} ${qualified(object)}${args}`;
}

export function privilegeList(privileges: readonly string[]): string {
  return privileges.map((p) => p.toUpperCase()).join(', ');
}

/**
 * Checks the object, the role and the privileges against the live catalog, one
 * line naming the field at fault, and answers what the role holds there now.
 */
export async function checkPrivileges(
  kind: 'grant' | 'revoke',
  spec: { privileges: Privilege[]; on: ObjectSpec },
  role: { field: 'to' | 'from'; name: string },
  ctx: SchemaContext,
  probe: Probe,
): Promise<{ object: PrivilegeObject; found: ObjectPrivileges }> {
  const at = (field: string) => `operations[${ctx.index}].${kind}.${field}`;
  const object = objectOf(spec.on);
  if (object.kind === 'function' && !object.args) {
    throw new InputError(`${at('on.args')}: Required for a function: its argument types, e.g. [text] ([] for none), as functions of one name are told apart by them`);
  }
  if (object.kind !== 'function' && spec.on.args) throw new InputError(`${at('on.args')}: only a function takes args`);
  for (const [i, privilege] of spec.privileges.entries()) {
    if (privilege !== 'all' && !FITS[object.kind].includes(privilege)) {
      throw new InputError(`${at(`privileges[${i}]`)}: ${privilege} does not apply to a ${object.kind} (it takes ${[...FITS[object.kind], 'all'].join(', ')})`);
    }
  }
  if (!(await probe.roleExists(role.name))) throw new InputError(`${at(role.field)}: role "${role.name}" does not exist`);
  const found = await probe.privileges(object, role.name);
  if ('missing' in found) {
    const instead = found.actually ? `: ${object.schema}.${object.name} is a ${found.actually}` : '';
    throw new InputError(`${at('on')}: ${describeObject(object)} does not exist${instead}`);
  }
  return { object, found };
}

/** The privileges a spec names, `all` spelled out as this object's. */
export function named(privileges: Privilege[], found: ObjectPrivileges): string[] {
  return [...new Set(privileges.flatMap((p) => (p === 'all' ? found.all : [p])))];
}
