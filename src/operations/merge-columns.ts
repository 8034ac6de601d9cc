import { z } from 'zod';
import { identifier, sqlExpression, sqlType, tableName } from '../playbook/spec-parts.ts';
import { newColumnFields, reshapeOperation, type Reshape } from './reshape-columns.ts';

const SUMMARY = 'several columns into one new one from its `up`, nullable or NOT NULL (validated CHECK first) and with a `default`; a `down` per old column gives it back; their plain indexes are rebuilt concurrently on the new column; the old columns are dropped at contract';

const spec = z
  .strictObject({
    table: tableName,
    columns: z.array(identifier).min(2).describe('The columns to merge; dropped at contract'),
    into: z.strictObject({
      name: identifier.describe('Name of the new column'),
      type: sqlType,
      up: sqlExpression.describe('Its value, written over the old columns, e.g. first_name || \' \' || last_name'),
      ...newColumnFields,
    }),
    down: z
      .record(identifier, sqlExpression)
      .describe('For each old column, its value written over the new column, e.g. last_name: split_part(name, \' \', 2)'),
  })
  // Every old column needs a way back, and only they do.
  .superRefine((s, ctx) => {
    const missing = s.columns.find((c) => !(c in s.down));
    const stray = Object.keys(s.down).find((c) => !s.columns.includes(c));
    const twice = s.columns.find((c, i) => s.columns.indexOf(c) !== i);
    if (twice) ctx.addIssue({ code: 'custom', message: `"${twice}" is given twice`, path: ['columns'] });
    else if (missing) ctx.addIssue({ code: 'custom', message: `give a down for "${missing}", the value the old application reads`, path: ['down'] });
    else if (stray) ctx.addIssue({ code: 'custom', message: `"${stray}" is not one of columns`, path: ['down', stray] });
  });

function asReshape(s: z.infer<typeof spec>): Reshape {
  return {
    kind: 'merge_columns',
    olds: s.columns.map((column, i) => ({ column, field: `columns[${i}]`, down: s.down[column]!, downField: `down.${column}` })),
    news: [{ ...s.into, field: 'into' }],
  };
}

/** The new column is added in expand and kept equal to the old ones by triggers both ways; contract drops the old ones. */
export const mergeColumns = reshapeOperation(spec, SUMMARY, asReshape);
