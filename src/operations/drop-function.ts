import { z } from 'zod';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import { defineSchemaOperation } from './operation.ts';
import { argumentTypes, signature, signatureFields } from './function-parts.ts';
import { where } from './validation.ts';

const SUMMARY = 'kept for the old application until contract, dropped there; refused while a trigger, default or view uses it';

const spec = z.strictObject(signatureFields);

/**
 * The old application may call the function until contract. What PostgreSQL
 * records as using it (a trigger, a column default, a view, an extension) would
 * make DROP FUNCTION fail at the very end, so it is refused now. What it cannot
 * record, another function's body or the application's own SQL, is the
 * playbook author's to know.
 */
export const dropFunction = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`function ${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe) {
    const shape = await argumentTypes(spec, ctx, 'drop_function', probe);
    const sig = signature(spec, shape);
    const named = `${spec.schema}.${spec.name}(${shape.argTypes})`;
    if (!(await probe.existingFunction(sig))) throw new InputError(printableLine(`${where(ctx, 'drop_function', 'name')}: function ${named} does not exist`));
    const dependents = await probe.functionDependents(sig);
    if (dependents.length) {
      throw new InputError(printableLine(`${where(ctx, 'drop_function', 'name')}: ${named} is used by ${dependents.join(', ')}; drop ${dependents.length > 1 ? 'them' : 'it'} first`));
    }
    return { signature: sig };
  },

  contract(spec, ctx, found) {
    return [
      {
        id: `contract:${ctx.index}:drop_function`,
        sql: `DROP FUNCTION ${found.signature}`,
        lock: 'none',
        note: `drop ${spec.name}; no table is locked`,
      },
    ];
  },
});
