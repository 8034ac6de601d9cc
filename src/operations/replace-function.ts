import { z } from 'zod';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineSchemaOperation, type SchemaContext } from './operation.ts';
import { compiledShape, functionFields, functionSql, signature, type FunctionFields } from './function-parts.ts';
import { where } from './validation.ts';

const SUMMARY = 'a new body in expand, keeping the function\'s other settings; its old definition, read at plan time, is what a rollback restores';

const spec = z.strictObject({
  ...functionFields,
  volatility: functionFields.volatility.describe('Left out: the volatility the function has now'),
});

type Found = {
  signature: string;
  /** pg_get_functiondef before the change: the rollback runs it as it is. */
  previous: string;
  /** What the old definition says besides its language and body (SECURITY DEFINER, SET search_path …). */
  kept: string[];
};

/**
 * CREATE OR REPLACE resets every setting it does not name to its default, so a
 * SECURITY DEFINER function would lose its SET search_path in silence. The old
 * definition's settings, as pg_get_functiondef prints them on the lines between
 * LANGUAGE and the body, are named again; its volatility only if the playbook
 * gives none.
 */
function keptSettings(previous: string, spec: FunctionFields): string[] {
  const lines = previous.split('\n');
  const language = lines.findIndex((l) => l.startsWith(' LANGUAGE '));
  const settings: string[] = [];
  for (const line of lines.slice(language + 1)) {
    if (!line.startsWith(' ')) break;
    const words = line.trim();
    settings.push(spec.volatility && !words.startsWith('SET ') ? words.split(' ').filter((w) => w !== 'IMMUTABLE' && w !== 'STABLE').join(' ') : words);
  }
  return settings.filter(Boolean);
}

function replace(spec: FunctionFields, ctx: SchemaContext, found: Found): PlannedAction {
  return {
    id: `expand:${ctx.index}:replace_function`,
    sql: functionSql(spec, { orReplace: true, attributes: found.kept }),
    lock: 'none',
    note: `replace the body of ${found.signature}; callers see the new one from their next call`,
  };
}

/**
 * A function's new body takes effect for both applications at once: the
 * playbook's author judges that both can live with it, and a rollback puts the
 * old definition back exactly. Its result type cannot change in place.
 */
export const replaceFunction = defineSchemaOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ schema: spec.schema, claims: [`function ${spec.schema}.${spec.name}`] }),

  async validate(spec, ctx, probe): Promise<Found> {
    const shape = await compiledShape(spec, ctx, 'replace_function', probe);
    const sig = signature(spec, shape);
    const old = await probe.existingFunction(sig);
    const named = `${spec.schema}.${spec.name}(${shape.argTypes})`;
    if (!old) throw new InputError(printableLine(`${where(ctx, 'replace_function', 'name')}: function ${named} does not exist; use create_function`));
    if (old.result !== shape.result) {
      throw new InputError(
        printableLine(`${where(ctx, 'replace_function', 'returns')}: ${named} returns ${old.result}, and CREATE OR REPLACE cannot make it return ${shape.result}; create a function of another name instead`),
      );
    }
    const found = { signature: sig, previous: old.definition, kept: keptSettings(old.definition, spec) };
    // In place, where PostgreSQL also refuses renamed parameters and removed defaults.
    const refused = await probe.rehearse(replace(spec, ctx, found).sql);
    if (refused) throw new InputError(printableLine(`${where(ctx, 'replace_function', 'args')}: ${refused}`));
    return found;
  },

  expand: (spec, ctx, found) => [replace(spec, ctx, found)],

  rollback(spec, ctx, found) {
    return [
      {
        id: `rollback:${ctx.index}:restore_function`,
        sql: found.previous,
        lock: 'none',
        note: `put back the definition ${spec.name} had before this run`,
        undoes: replace(spec, ctx, found),
      },
    ];
  },
});
