import { alterCommands, createdEarlier, defineRule, type Subject } from '../rule.ts';

/** Name of the column a CHECK (column IS NOT NULL) is about; undefined for any other check. */
function notNullColumn(constraint: Record<string, any>): string | undefined {
  const test = constraint.raw_expr?.NullTest;
  const fields = test?.nulltesttype === 'IS_NOT_NULL' ? test.arg?.ColumnRef?.fields : undefined;
  return fields?.length === 1 ? fields[0].String?.sval : undefined;
}

/** Whether an earlier statement proved `column` NOT NULL on every row: a CHECK (column IS NOT NULL) that is validated. */
function provenNotNull(subject: Subject, table: string, column: string): boolean {
  const checks = new Map<string, boolean>(); // constraint name → validated
  for (const earlier of subject.earlier) {
    for (const { table: t, cmd } of alterCommands(earlier.statement)) {
      if (t !== table) continue;
      const c = cmd.subtype === 'AT_AddConstraint' ? cmd.def?.Constraint : undefined;
      if (c?.contype === 'CONSTR_CHECK' && notNullColumn(c) === column) checks.set(c.conname ?? '', !c.skip_validation);
      if (cmd.subtype === 'AT_ValidateConstraint' && checks.has(cmd.name)) checks.set(cmd.name, true);
    }
  }
  return [...checks.values()].some(Boolean);
}

/** SET NOT NULL scans the whole table under ACCESS EXCLUSIVE, unless a validated CHECK already proves it. */
export const setNotNull = defineRule({
  id: 'set-not-null',
  severity: 'error',
  description: 'SET NOT NULL without a validated CHECK (column IS NOT NULL) scans the table under ACCESS EXCLUSIVE',
  check(subject) {
    return alterCommands(subject.statement)
      .filter(({ table, cmd }) => cmd.subtype === 'AT_SetNotNull' && !createdEarlier(subject, table) && !provenNotNull(subject, table, cmd.name))
      .map(({ table, cmd }) => ({
        message: `SET NOT NULL on ${table}.${cmd.name} scans every row while reads and writes wait`,
        safe: 'ADD CONSTRAINT ... CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL (or alter_column nullable: false)',
      }));
  },
});
