import type { BellowsOperation } from './bellows-operation.ts';
import { unqualifiedRelation } from './sql-statements.ts';
import { refuse } from './refusal.ts';

/**
 * pgroll's migrations are relative to one schema (its `--schema`, public by
 * default): their table names are unqualified. bellows reads an unqualified
 * name as public's, so under another schema every table name is qualified
 * with it; under public the names already mean what they meant.
 */
export const PGROLL_DEFAULT_SCHEMA = 'public';

const qualify = (table: string, schema: string) => (table.includes('.') ? table : `${schema}.${table}`);

export function inSchema(operation: BellowsOperation, schema: string): BellowsOperation {
  if (schema === PGROLL_DEFAULT_SCHEMA) return operation;
  const [kind, spec] = Object.entries(operation)[0] as [string, Record<string, unknown>];
  const out: Record<string, unknown> = { ...spec };
  if (kind === 'sql') {
    // Raw SQL cannot be rewritten; it must say its schema itself, as pgroll's search_path said it.
    for (const direction of ['up', 'rollback'] as const) {
      const sql = spec[direction];
      const at = direction === 'up' ? 'up' : 'down';
      const bare = typeof sql === 'string' ? unqualifiedRelation(sql, at) : null;
      if (bare !== null) refuse(at, `names "${bare}" without its schema; pgroll runs it with schema ${schema} first on the search_path, bellows runs it as written: write ${schema}.${bare}`);
    }
    out.schema = schema;
  }
  if (typeof spec.table === 'string') out.table = qualify(spec.table, schema);
  const references = spec.references as { table: string } | undefined;
  if (references) out.references = { ...references, table: qualify(references.table, schema) };
  if (kind === 'create_table') {
    out.columns = (spec.columns as Array<{ references?: { table: string } }>).map((c) =>
      c.references ? { ...c, references: { ...c.references, table: qualify(c.references.table, schema) } } : c,
    );
  }
  return { [kind]: out } as BellowsOperation;
}
