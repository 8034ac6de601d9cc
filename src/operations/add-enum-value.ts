import { z } from 'zod';
import { identifier } from '../playbook/spec-parts.ts';
import { ident, literal } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { printableLine, shown } from '../util/printable.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { where } from './validation.ts';

const SUMMARY = 'added in expand, as its own action; PostgreSQL cannot remove it, so it stays after a rollback and the playbook must say `acknowledge_irreversible: true`';

const spec = z.strictObject({
  schema: identifier.default('public').describe('The schema of the type'),
  type: identifier.describe('The enum type'),
  value: z.string().describe('The new value'),
  before: z.string().optional().describe('The existing value it goes before'),
  after: z.string().optional().describe('The existing value it goes after (the end, if neither is given)'),
  acknowledge_irreversible: z.boolean().default(false).describe('true: a rollback leaves the value in the type, as PostgreSQL cannot remove one'),
});

type Spec = z.infer<typeof spec>;

function place(spec: Spec): string {
  if (spec.before !== undefined) return ` BEFORE ${literal(spec.before)}`;
  if (spec.after !== undefined) return ` AFTER ${literal(spec.after)}`;
  return '';
}

type Found = { present: boolean };

function add(spec: Spec, ctx: SchemaContext, found: Found): PlannedAction {
  return {
    id: `expand:${ctx.index}:add_enum_value`,
    // IF NOT EXISTS: a resumed run may find it added, as PostgreSQL keeps it whatever happens after.
    sql: `ALTER TYPE ${ident(spec.schema)}.${ident(spec.type)} ADD VALUE IF NOT EXISTS ${literal(spec.value)}${place(spec)}`,
    lock: 'none',
    note: found.present
      ? `${shown(spec.value)} is in ${spec.type} already (a rolled-back run leaves it): nothing to add; cannot be rolled back`
      : `add ${shown(spec.value)} to ${spec.type}; cannot be rolled back: PostgreSQL cannot remove an enum value, so a rollback leaves it in place`,
  };
}

/**
 * A value PostgreSQL can add but never remove. The playbook says it knows; the
 * plan says so too. A value added in a transaction cannot be used before that
 * transaction commits, so it is an action of its own (each commits alone), and
 * a later action may use it.
 */
export const addEnumValue = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`type ${spec.schema}.${spec.type}`] }),

  async validate(spec, ctx, probe): Promise<Found> {
    const at = (field: string) => where(ctx, 'add_enum_value', field);
    const type = `${spec.schema}.${spec.type}`;
    if (!spec.acknowledge_irreversible) {
      throw new InputError(printableLine(`${at('acknowledge_irreversible')}: PostgreSQL cannot remove an enum value, so a rollback would leave ${shown(spec.value)} in ${type}; set it to true to add it anyway`));
    }
    if (spec.before !== undefined && spec.after !== undefined) throw new InputError(`${at('after')}: give before or after, not both`);
    const found = await probe.namedType(spec.schema, spec.type);
    if (!found?.labels) throw new InputError(printableLine(`${at('type')}: ${type} is ${found ? 'not an enum type' : 'no type in the database'}`));
    // A rollback leaves the value behind, so the same playbook run again finds it: that is no mistake.
    if (found.labels.includes(spec.value)) return { present: true };
    for (const field of ['before', 'after'] as const) {
      const neighbour = spec[field];
      if (neighbour !== undefined && !found.labels.includes(neighbour)) {
        throw new InputError(printableLine(`${at(field)}: ${shown(neighbour)} is not a value of ${type} (${found.labels.map((l) => shown(l)).join(', ')})`));
      }
    }
    const refused = await probe.rehearse(add(spec, ctx, { present: false }).sql);
    if (refused) throw new InputError(printableLine(`${at('value')}: ${refused}`));
    return { present: false };
  },

  expand: (spec, ctx, found) => [add(spec, ctx, found)],
});
