import { defineRule } from '../rule.ts';

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'CopyStmt']);
const NOT_DDL = new Set([...DML, 'SelectStmt', 'VariableSetStmt', 'TransactionStmt', 'DoStmt', 'CallStmt', 'ExplainStmt']);

/**
 * One sql operation runs as one transaction: a data change beside DDL keeps the
 * DDL's lock for as long as the rows take, and cannot be retried or batched on
 * its own. Statements are grouped by the operation's field.
 */
export const ddlWithDml = defineRule({
  id: 'ddl-with-dml',
  severity: 'warning',
  description: 'DDL and data changes in one sql operation (one transaction)',
  check({ statement, origin, location, earlier }) {
    if (origin !== 'raw' && origin !== 'rollback') return [];
    const same = earlier.filter((s) => s.location.field === location.field && s.location.file === location.file);
    const isDml = DML.has(statement.kind);
    const isDdl = !NOT_DDL.has(statement.kind);
    // Reported once, at the first statement that makes the mix.
    const mixed = (isDml && same.some((s) => !NOT_DDL.has(s.statement.kind)) && !same.some((s) => DML.has(s.statement.kind))) ||
      (isDdl && same.some((s) => DML.has(s.statement.kind)) && !same.some((s) => !NOT_DDL.has(s.statement.kind)));
    return mixed
      ? [{ message: 'this sql operation mixes DDL and data changes in one transaction: the DDL locks are held while the rows change', safe: 'one sql operation for the DDL and a separate one (or seed_data, or a backfill via up) for the data' }]
      : [];
  },
});
