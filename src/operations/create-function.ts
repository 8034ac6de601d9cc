import { z } from 'zod';
import { literal } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { compiledShape, functionFields, functionSql, signature } from './function-parts.ts';
import { where } from './validation.ts';

const SUMMARY = 'created in expand once PostgreSQL has compiled it in a rehearsal that is rolled back; a rollback drops it';

const spec = z.strictObject({
  ...functionFields,
  security_definer: z.boolean().default(false).describe('Runs with the rights of its owner rather than its caller'),
  comment: z.string().optional(),
});

type Spec = z.infer<typeof spec>;
type Found = { signature: string };

function create(spec: Spec, ctx: SchemaContext, found: Found): PlannedAction {
  return {
    id: `expand:${ctx.index}:create_function`,
    sql: functionSql(spec, { attributes: spec.security_definer ? ['SECURITY DEFINER'] : [] }),
    lock: 'none',
    note: `create ${found.signature}; no table is locked`,
  };
}

/**
 * A new function is additive: the old application never calls it, the new one
 * may from expand on. Its body is compiled at plan time, not at expand, so a
 * typo stops the plan rather than the run.
 */
export const createFunction = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`function ${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe): Promise<Found> {
    const shape = await compiledShape(spec, ctx, 'create_function', probe);
    const found = { signature: signature(spec, shape) };
    if (await probe.existingFunction(found.signature)) {
      throw new InputError(printableLine(`${where(ctx, 'create_function', 'name')}: function ${spec.schema}.${spec.name}(${shape.argTypes}) already exists; use replace_function`));
    }
    // Where it really goes: a clash with a procedure or aggregate of that signature, or rights on the schema.
    const refused = await probe.rehearse(create(spec, ctx, found).sql);
    if (refused) throw new InputError(printableLine(`${where(ctx, 'create_function', 'name')}: ${refused}`));
    return found;
  },

  expand(spec, ctx, found) {
    const actions = [create(spec, ctx, found)];
    if (spec.comment !== undefined) {
      actions.push({
        id: `expand:${ctx.index}:comment_function`,
        sql: `COMMENT ON FUNCTION ${found.signature} IS ${literal(spec.comment)}`,
        lock: 'none',
        note: `describe ${spec.name}`,
      });
    }
    return actions;
  },

  rollback(spec, ctx, found) {
    return [
      {
        id: `rollback:${ctx.index}:drop_function`,
        sql: `DROP FUNCTION IF EXISTS ${found.signature}`,
        lock: 'none',
        note: `drop ${spec.name}, which this run created (and its comment)`,
        undoes: create(spec, ctx, found),
      },
    ];
  },
});
