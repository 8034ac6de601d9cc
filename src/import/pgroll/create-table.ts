import type { PgrollColumn, PgrollSpec } from './format.ts';
import type { BellowsOperation, WrittenSpec } from './bellows-operation.ts';
import { defaultConstraintName, onDelete, refuseForeignKeyExtras } from './constraints.ts';
import { field, refuse } from './refusal.ts';

type BellowsColumn = WrittenSpec<'create_table'>['columns'][number];

/**
 * A named column constraint converts only under the name PostgreSQL would give
 * it anyway, since bellows' create_table writes it unnamed; a later pgroll
 * migration that drops or renames it by name then still finds it.
 */
function requireDefaultName(table: string, column: string, suffix: 'check' | 'fkey', given: string, at: string): void {
  const expected = defaultConstraintName(table, column, suffix);
  if (given !== expected) {
    refuse(at, `"${given}" is not the name PostgreSQL gives this constraint${expected ? ` ("${expected}")` : ''}, and bellows' create_table cannot name it`);
  }
}

function convertColumn(table: string, c: PgrollColumn, at: string): BellowsColumn {
  if (c.generated) refuse(field(at, 'generated'), `pgroll's generated columns are not supported by bellows yet`);
  const out: BellowsColumn = { name: c.name, type: c.type };
  // pgroll's columns are NOT NULL unless they say otherwise; bellows' are nullable unless they say otherwise.
  if (!c.nullable) out.nullable = false;
  if (c.default !== undefined) out.default = c.default;
  if (c.unique) out.unique = true;
  if (c.check) {
    if (c.check.no_inherit) refuse(field(at, 'check.no_inherit'), `NO INHERIT is not supported by bellows yet`);
    requireDefaultName(table, c.name, 'check', c.check.name, field(at, 'check.name'));
    out.check = c.check.constraint;
  }
  if (c.references) {
    const ref = c.references;
    refuseForeignKeyExtras(ref, field(at, 'references'));
    if (onDelete(ref.on_delete)) refuse(field(at, 'references.on_delete'), `bellows' create_table has no on_delete for a column's foreign key yet`);
    requireDefaultName(table, c.name, 'fkey', ref.name, field(at, 'references.name'));
    out.references = { table: ref.table, column: ref.column };
  }
  if (c.comment !== undefined) out.comment = c.comment;
  return out;
}

/** The key from the columns marked `pk`, or from a primary_key constraint under PostgreSQL's own name for it. */
function primaryKey(spec: PgrollSpec<'create_table'>): string[] {
  const flagged = spec.columns.filter((c) => c.pk).map((c) => c.name);
  let fromConstraint: string[] = [];
  (spec.constraints ?? []).forEach((c, i) => {
    const at = `constraints[${i}]`;
    if (c.type !== 'primary_key') refuse(at, `pgroll's table-level ${c.type} constraints are not supported by bellows' create_table yet`);
    const extra = (['deferrable', 'initially_deferred', 'index_parameters', 'nulls_not_distinct', 'no_inherit'] as const).find((k) => c[k]);
    if (extra) refuse(field(at, extra), `pgroll's "${extra}" is not supported by bellows' create_table yet`);
    if (c.name !== `${spec.name}_pkey`) refuse(field(at, 'name'), `"${c.name}" is not the name PostgreSQL gives the primary key ("${spec.name}_pkey"), and bellows' create_table cannot name it`);
    fromConstraint = c.columns ?? [];
  });
  if (flagged.length && fromConstraint.length) refuse('', 'the primary key is given twice, by "pk" columns and by a primary_key constraint');
  const key = flagged.length ? flagged : fromConstraint;
  if (!key.length) refuse('', 'the table has no primary key; bellows walks every table by its key');
  return key;
}

export function convertCreateTable(spec: PgrollSpec<'create_table'>): BellowsOperation {
  const columns = spec.columns.map((c, i) => convertColumn(spec.name, c, `columns[${i}]`));
  const out: WrittenSpec<'create_table'> = { table: spec.name, columns, primary_key: primaryKey(spec) };
  if (spec.comment !== undefined) out.comment = spec.comment;
  return { create_table: out };
}
