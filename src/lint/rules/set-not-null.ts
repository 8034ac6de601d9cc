import { alterCommands, createdEarlier, defineRule, tableOf, type Subject } from '../rule.ts';

/** Name of the column a CHECK (column IS NOT NULL) is about; undefined for any other check. */
function notNullColumn(constraint: Record<string, any>): string | undefined {
  const test = constraint.raw_expr?.NullTest;
  const fields = test?.nulltesttype === 'IS_NOT_NULL' ? test.arg?.ColumnRef?.fields : undefined;
  return fields?.length === 1 ? fields[0].String?.sval : undefined;
}

/**
 * Whether an earlier statement proved `column` NOT NULL on every row: a CHECK
 * (column IS NOT NULL) that is validated, followed through column renames (a
 * shadow column checked in verify, renamed into place at contract).
 */
function provenNotNull(subject: Subject, table: string, column: string): boolean {
  const checks = new Map<string, { column: string; validated: boolean }>(); // by constraint name
  for (const { statement } of subject.earlier) {
    const { kind, node } = statement;
    if (kind === 'RenameStmt' && node.renameType === 'OBJECT_COLUMN' && tableOf(node.relation) === table) {
      for (const check of checks.values()) if (check.column === node.subname) check.column = node.newname;
    }
    for (const { table: t, cmd } of alterCommands(statement)) {
      if (t !== table) continue;
      const c = cmd.subtype === 'AT_AddConstraint' ? cmd.def?.Constraint : undefined;
      const checked = c?.contype === 'CONSTR_CHECK' ? notNullColumn(c) : undefined;
      if (checked) checks.set(c.conname ?? '', { column: checked, validated: !c.skip_validation });
      const validated = cmd.subtype === 'AT_ValidateConstraint' ? checks.get(cmd.name) : undefined;
      if (validated) validated.validated = true;
    }
  }
  return [...checks.values()].some((c) => c.column === column && c.validated);
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
