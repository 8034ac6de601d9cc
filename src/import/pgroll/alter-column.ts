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
 * pgroll's alter_column bundles sub-changes; bellows has one operation per kind
 * of change, and only some of them so far. One sub-change converts; a bundle of
 * several, or one bellows cannot express, is refused by name.
 */
export function convertAlterColumn(spec: AlterColumn): BellowsOperation {
  const found = changes(spec);
  if (found.length === 0) refuse('', 'changes nothing (no type, name, nullable, default, comment, check, unique or references)');
  if (found.length > 1) refuse('', `pgroll's ${quoted(found)} at once are not supported by bellows: it has one operation per change`);
  const [change] = found;
  switch (change) {
    case 'name':
      if (spec.up || spec.down) refuse('up', `pgroll's "name" with "up"/"down" is not supported by bellows: a rename keeps values`);
      return { rename_column: { table: spec.table, from: spec.column, to: spec.name! } };
    case 'type':
      if (!spec.up || !spec.down) refuse(spec.up ? 'down' : 'up', `bellows' alter_column needs both "up" and "down" for a new type`);
      return { alter_column: { table: spec.table, column: spec.column, type: spec.type, up: spec.up, down: spec.down } };
    case 'check':
    case 'unique':
    case 'references':
      return constraintOnColumn(spec, change);
    default:
      // nullable, default, comment: no bellows operation sets them yet.
      return refuse('', `pgroll's "${change}"${spec.up ? ' with "up"' : ''} is not supported by bellows yet`);
  }
}
