import { z } from 'zod';
import { identifier, sqlExpression, sqlType, tableName } from '../playbook/spec-parts.ts';
import { newColumnFields, reshapeOperation, type Reshape } from './reshape-columns.ts';

const SUMMARY = 'one column into several new ones, each from its `up`, each nullable or NOT NULL (validated CHECK first) and with a `default`; `down` gives the old column back; the old column is dropped at contract (an index on it is refused: which new column it belongs on is ambiguous)';

const spec = z.strictObject({
  table: tableName,
  column: identifier.describe('The column to split; dropped at contract'),
  into: z
    .array(
      z.strictObject({
        name: identifier.describe('Name of a new column'),
        type: sqlType,
        up: sqlExpression.describe('Its value, written over the old columns, e.g. split_part(name, \' \', 1)'),
        ...newColumnFields,
      }),
    )
    .min(2)
    .describe('The new columns'),
  down: sqlExpression.describe('The old column\'s value, written over the new columns, e.g. first_name || \' \' || last_name'),
});

function asReshape(s: z.infer<typeof spec>): Reshape {
  return {
    kind: 'split_column',
    olds: [{ column: s.column, field: 'column', down: s.down, downField: 'down' }],
    news: s.into.map((c, i) => ({ ...c, field: `into[${i}]` })),
  };
}

/** The new columns are added in expand and kept equal to the old one by triggers both ways; contract drops the old one. */
export const splitColumn = reshapeOperation(spec, SUMMARY, asReshape);
