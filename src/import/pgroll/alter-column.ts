import type { PgrollSpec } from './format.ts';
import type { BellowsOperation, WrittenSpec } from './bellows-operation.ts';
import { columnItself, keepsValues, onDelete, refuseForeignKeyExtras } from './constraints.ts';
import { refuse } from './refusal.ts';

type AlterColumn = PgrollSpec<'alter_column'>;

/** pgroll's sub-changes of one alter_column, each as the message names it. */
function changes(spec: AlterColumn): string[] {
  const found: string[] = [];
  if (spec.name !== undefined) found.push('name');
  if (spec.type !== undefined) found.push('type');
  if (spec.nullable !== undefined) found.push(`nullable: ${spec.nullable}`);
  if (spec.default !== undefined) found.push('default');
  if (spec.comment !== undefined) found.push('comment');
  if (spec.check !== undefined) found.push('check');
  if (spec.unique !== undefined) found.push('unique');
  if (spec.references !== undefined) found.push('references');
  return found;
}

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/** pgroll's constraints on the column, in bellows' alter_column fields. */
function constraints(spec: AlterColumn): Pick<WrittenSpec<'alter_column'>, 'check' | 'unique' | 'references'> {
  const found: Pick<WrittenSpec<'alter_column'>, 'check' | 'unique' | 'references'> = {};
  if (spec.check) {
    if (spec.check.no_inherit) refuse('check.no_inherit', 'NO INHERIT is not supported by bellows yet');
    found.check = { name: spec.check.name, expression: spec.check.constraint };
  }
  if (spec.unique) found.unique = { name: spec.unique.name };
  if (spec.references) {
    const ref = spec.references;
    refuseForeignKeyExtras(ref, 'references');
    const action = onDelete(ref.on_delete);
    found.references = { name: ref.name, table: ref.table, column: ref.column, ...(action ? { on_delete: action } : {}) };
  }
  return found;
}

/**
 * What bellows' alter_column takes in one operation: a type, NOT NULL or NULL
 * allowed, a default, a comment, a check, a unique key, a foreign key, with
 * `up`/`down` (pgroll's default for each is the column itself). A type, NOT
 * NULL and values `up`/`down` rewrite go through the shadow column, which needs
 * both; the rest changes in place, and bellows refuses a constraint the rows
 * violate there, before any DDL, as pgroll's backfill would fail on them.
 */
function alterColumn(spec: AlterColumn): BellowsOperation {
  const rewrites = !keepsValues(spec.up, spec.column) || !keepsValues(spec.down, spec.column);
  const shadow = spec.type !== undefined || spec.nullable === false || rewrites;
  const itself = columnItself(spec.column);
  return {
    alter_column: {
      table: spec.table,
      column: spec.column,
      ...(spec.type !== undefined ? { type: spec.type } : {}),
      ...(spec.nullable !== undefined ? { nullable: spec.nullable } : {}),
      ...(spec.default !== undefined ? { default: spec.default } : {}),
      ...(spec.comment !== undefined ? { comment: spec.comment } : {}),
      ...constraints(spec),
      ...(shadow ? { up: spec.up || itself, down: spec.down || itself } : {}),
    },
  };
}

/**
 * pgroll's alter_column bundles sub-changes. Its column attributes and
 * constraints become one bellows alter_column, together; a rename is an
 * operation of its own in bellows, so it converts alone and is refused, by
 * name, in a bundle.
 */
export function convertAlterColumn(spec: AlterColumn): BellowsOperation {
  const found = changes(spec);
  if (found.length === 0) refuse('', 'changes nothing (no type, name, nullable, default, comment, check, unique or references)');
  if (spec.name === undefined) return alterColumn(spec);
  if (found.length > 1) refuse('', `pgroll's ${quoted(found)} at once are not supported by bellows: a rename is an operation of its own`);
  if (spec.up || spec.down) refuse('up', `pgroll's "name" with "up"/"down" is not supported by bellows: a rename keeps values`);
  return { rename_column: { table: spec.table, from: spec.column, to: spec.name } };
}
