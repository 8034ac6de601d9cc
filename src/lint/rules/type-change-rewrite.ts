import { alterCommands, createdEarlier, defineRule } from '../rule.ts';

/**
 * Type names a change to which may keep the stored bytes (varchar ↔ text,
 * a longer varchar): PostgreSQL then skips the rewrite. Anything else rewrites
 * the table and its indexes under ACCESS EXCLUSIVE.
 */
const MAYBE_NO_REWRITE = new Set(['text', 'varchar', 'citext']);

export const typeChangeRewrite = defineRule({
  id: 'type-change-rewrite',
  severity: 'error',
  description: 'ALTER COLUMN ... TYPE that rewrites the table under ACCESS EXCLUSIVE',
  check(subject) {
    return alterCommands(subject.statement)
      .filter(({ table, cmd }) => cmd.subtype === 'AT_AlterColumnType' && !createdEarlier(subject, table))
      .map(({ table, cmd }) => {
        const names = (cmd.def?.ColumnDef?.typeName?.names ?? []).map((n: any) => n.String?.sval);
        const type = names.at(-1) ?? '';
        const binaryCompatible = MAYBE_NO_REWRITE.has(type) && !cmd.def?.ColumnDef?.raw_default;
        return {
          severity: binaryCompatible ? ('warning' as const) : undefined,
          message: binaryCompatible
            ? `changing ${table}.${cmd.name} to ${type} rewrites the table unless the old type is binary-compatible`
            : `changing the type of ${table}.${cmd.name} to ${type} rewrites the table and its indexes while reads and writes wait`,
          safe: 'the alter_column operation: a new column, dual writes, a batched backfill, then a swap at contract',
        };
      });
  },
});
