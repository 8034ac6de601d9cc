import type { PgrollSpec } from './format.ts';
import type { BellowsOperation } from './bellows-operation.ts';
import { keepsValues, onDelete, refuseForeignKeyExtras } from './constraints.ts';
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

/** A constraint added to one column, when `up`/`down` leave its values as they are. */
function constraintOnColumn(spec: AlterColumn, change: string): BellowsOperation {
  if (!keepsValues(spec.up, spec.column) || !keepsValues(spec.down, spec.column)) {
    refuse(spec.up && !keepsValues(spec.up, spec.column) ? 'up' : 'down', `pgroll's "${change}" rewrites the column's values through "up"/"down"; bellows' create_constraint does not rewrite rows`);
  }
  const base = { table: spec.table, columns: [spec.column] };
  if (spec.check) {
    if (spec.check.no_inherit) refuse('check.no_inherit', 'NO INHERIT is not supported by bellows yet');
    return { create_constraint: { ...base, name: spec.check.name, type: 'check', check: spec.check.constraint } };
  }
  if (spec.unique) return { create_constraint: { ...base, name: spec.unique.name, type: 'unique' } };
  const ref = spec.references!;
  refuseForeignKeyExtras(ref, 'references');
  const action = onDelete(ref.on_delete);
  return {
    create_constraint: {
      ...base,
      name: ref.name,
      type: 'foreign_key',
      references: { table: ref.table, columns: [ref.column] },
      ...(action ? { on_delete: action } : {}),
    },
  };
}

/**
 * What bellows' alter_column takes in one operation: a type, NOT NULL or NULL
 * allowed, a default, a comment, with `up`/`down` (pgroll's default for each is
 * the column itself). NOT NULL and a type go through the shadow column, which
 * needs both; the rest changes in place when the values stay as they are.
 */
function attributes(spec: AlterColumn): BellowsOperation {
  const rewrites = !keepsValues(spec.up, spec.column) || !keepsValues(spec.down, spec.column);
  const shadow = spec.type !== undefined || spec.nullable === false || rewrites;
  return {
    alter_column: {
      table: spec.table,
      column: spec.column,
      ...(spec.type !== undefined ? { type: spec.type } : {}),
      ...(spec.nullable !== undefined ? { nullable: spec.nullable } : {}),
      ...(spec.default !== undefined ? { default: spec.default } : {}),
      ...(spec.comment !== undefined ? { comment: spec.comment } : {}),
      ...(shadow ? { up: spec.up ?? spec.column, down: spec.down ?? spec.column } : {}),
    },
  };
}

const ATTRIBUTES = new Set(['type', 'nullable: true', 'nullable: false', 'default', 'comment']);

/**
 * pgroll's alter_column bundles sub-changes. Its column attributes (type,
 * nullable, default, comment) become one bellows alter_column, together; a
 * rename or a constraint is an operation of its own in bellows, so it converts
 * alone and is refused, by name, in a bundle.
 */
export function convertAlterColumn(spec: AlterColumn): BellowsOperation {
  const found = changes(spec);
  if (found.length === 0) refuse('', 'changes nothing (no type, name, nullable, default, comment, check, unique or references)');
  if (found.every((c) => ATTRIBUTES.has(c))) return attributes(spec);
  if (found.length > 1) refuse('', `pgroll's ${quoted(found)} at once are not supported by bellows: a rename or a constraint is an operation of its own`);
  const [change] = found;
  if (change === 'name') {
    if (spec.up || spec.down) refuse('up', `pgroll's "name" with "up"/"down" is not supported by bellows: a rename keeps values`);
    return { rename_column: { table: spec.table, from: spec.column, to: spec.name! } };
  }
  return constraintOnColumn(spec, change);
}
