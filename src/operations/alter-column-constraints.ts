import type { AlterColumnSpec } from './alter-column.ts';
import type { ConstraintFields, GivenConstraint } from './new-constraint.ts';

/** The constraints the spec adds to its column, each with the playbook paths of its fields. */
export function columnConstraints(spec: AlterColumnSpec): GivenConstraint[] {
  const fields = (field: string): ConstraintFields => ({
    kind: 'alter_column',
    name: `${field}.name`,
    check: `${field}.expression`,
    referencedTable: `${field}.table`,
    referencedColumn: () => `${field}.column`,
    referencedColumns: `${field}.column`,
    violated: field,
  });
  const columns = [spec.column];
  const found: GivenConstraint[] = [];
  if (spec.check) found.push({ constraint: { name: spec.check.name, type: 'check', columns, check: spec.check.expression }, fields: fields('check') });
  if (spec.unique) found.push({ constraint: { name: spec.unique.name, type: 'unique', columns }, fields: fields('unique') });
  if (spec.references) {
    const { name, table, column, on_delete } = spec.references;
    found.push({ constraint: { name, type: 'foreign_key', columns, references: { table, columns: [column] }, onDelete: on_delete }, fields: fields('references') });
  }
  return found;
}
