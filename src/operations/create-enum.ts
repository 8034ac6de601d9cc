import { z } from 'zod';
import { identifier } from '../playbook/spec-parts.ts';
import { ident, literal } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { printableLine, shown } from '../util/printable.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { where } from './validation.ts';

const SUMMARY = 'created in expand; a rollback drops it';

const spec = z.strictObject({
  schema: identifier.default('public').describe('The schema of the type'),
  name: identifier.describe('The enum type'),
  values: z.array(z.string()).min(1).describe('Its values, in order'),
});

type Spec = z.infer<typeof spec>;

function create(spec: Spec, ctx: SchemaContext): PlannedAction {
  return {
    id: `expand:${ctx.index}:create_enum`,
    sql: `CREATE TYPE ${ident(spec.schema)}.${ident(spec.name)} AS ENUM (${spec.values.map(literal).join(', ')})`,
    lock: 'none',
    note: `create the type ${spec.name}; nothing uses it yet`,
  };
}

/** A new type is additive: nothing uses it until a later operation or the new application does. */
export const createEnum = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`type ${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe) {
    if (!(await probe.schemaExists(spec.schema))) throw new InputError(`${where(ctx, 'create_enum', 'schema')}: schema ${spec.schema} does not exist`);
    // Every table has a row type of its name: a type may not share a table's name either.
    if (await probe.namedType(spec.schema, spec.name)) throw new InputError(printableLine(`${where(ctx, 'create_enum', 'name')}: a type or table ${spec.schema}.${spec.name} already exists`));
    // PostgreSQL would name only its unique index.
    const twice = spec.values.find((v, i) => spec.values.indexOf(v) !== i);
    if (twice !== undefined) throw new InputError(printableLine(`${where(ctx, 'create_enum', 'values')}: ${shown(twice)} is given twice`));
    const refused = await probe.rehearse(create(spec, ctx).sql);
    if (refused) throw new InputError(printableLine(`${where(ctx, 'create_enum', 'values')}: ${refused}`));
  },

  expand: (spec, ctx) => [create(spec, ctx)],

  rollback(spec, ctx) {
    return [
      {
        id: `rollback:${ctx.index}:drop_enum`,
        sql: `DROP TYPE IF EXISTS ${ident(spec.schema)}.${ident(spec.name)}`,
        lock: 'none',
        note: `drop the type ${spec.name}, which this run created`,
        undoes: create(spec, ctx),
      },
    ];
  },
});
