import { InputError } from '../errors.ts';
import type { ColumnDependent, OpContext, Probe, SchemaContext } from './operation.ts';
import type { ModelColumn } from './model.ts';
import { findColumn } from './model.ts';
import type { ConstraintInfo } from '../catalog/introspect.ts';
import { tableKey } from '../db/sql.ts';
import { physicalColumn } from './physical-names.ts';

/** Shared checks; each message names the operation and the field at fault. */
export function where(ctx: Pick<SchemaContext, 'index'>, kind: string, field?: string): string {
  return `operations[${ctx.index}].${kind}${field ? '.' + field : ''}`;
}

export function requireColumn(ctx: OpContext, kind: string, field: string, name: string): ModelColumn {
  const column = findColumn(ctx.table, name);
  if (!column) {
    throw new InputError(`${where(ctx, kind, field)}: column "${name}" does not exist in ${ctx.table.ref.schema}.${ctx.table.ref.name}`);
  }
  return column;
}

/**
 * A column whose values are still those of a column of the table before the
 * run, perhaps under a new name (a rename earlier in the playbook changes only
 * the name): one added or changed earlier in the playbook is refused.
 */
export function requireUnchangedColumn(ctx: OpContext, kind: string, field: string, name: string): ModelColumn {
  const column = requireColumn(ctx, kind, field, name);
  if (!ctx.table.original.columns.some((c) => c.name === column.physical && c.type === column.type)) {
    throw new InputError(`${where(ctx, kind, field)}: "${name}" is already changed earlier in this playbook; combine the changes into one ${kind}`);
  }
  return column;
}

/** What depends on the physical column behind `column`, the history writer an earlier add_history of the playbook makes included. */
export function columnDependents(ctx: OpContext, probe: Probe, column: string): Promise<ColumnDependent[]> {
  return probe.columnDependents(ctx.table.ref, physicalColumn(ctx, column), ctx.table.historyWriter);
}

/**
 * Contract drops the old column, and with it everything built on it: anything
 * not `kept` (rebuilt elsewhere) would vanish silently (a CHECK, a foreign key,
 * an index) or make contract fail.
 */
export async function refuseLostDependents(
  ctx: OpContext,
  kind: string,
  field: string,
  probe: Probe,
  column: string,
  kept: (dependent: ColumnDependent) => boolean = () => false,
): Promise<void> {
  const lost = (await columnDependents(ctx, probe, column)).filter((d) => !kept(d));
  if (lost.length) {
    const them = lost.length > 1 ? 'them' : 'it';
    throw new InputError(
      `${where(ctx, kind, field)}: "${column}" is used by ${lost.map((d) => d.what).join(', ')}; contract would lose ${them} with the old column. Drop ${them} first and recreate ${them} after contract`,
    );
  }
}

export function requireNoColumn(ctx: OpContext, kind: string, field: string, name: string): void {
  if (findColumn(ctx.table, name)) {
    throw new InputError(`${where(ctx, kind, field)}: column "${name}" already exists in ${ctx.table.ref.schema}.${ctx.table.ref.name}`);
  }
}

export function refuseKeyColumn(ctx: OpContext, kind: string, name: string, field = 'column'): void {
  const key = ctx.table.original.key;
  if (key?.columns.some((c) => c.name === physicalColumn(ctx, name))) {
    throw new InputError(`${where(ctx, kind, field)}: "${name}" is part of the ${key.kind} that the backfill walks; changing it is not supported`);
  }
}

export async function requireType(ctx: OpContext, kind: string, probe: Probe, type: string, field = 'type'): Promise<void> {
  if (!(await probe.typeExists(type))) {
    throw new InputError(`${where(ctx, kind, field)}: type "${type}" does not exist in the database (is its extension installed?)`);
  }
}

export async function requireExpression(
  ctx: OpContext,
  kind: string,
  field: string,
  probe: Probe,
  expression: string,
  columns: ReadonlyArray<{ name: string; type: string }>,
  castTo?: string,
): Promise<void> {
  const problem = await probe.expressionError(expression, columns, castTo);
  if (problem) throw new InputError(`${where(ctx, kind, field)}: ${problem}`);
}

/** The columns an `up` expression may use: the table as the old application sees it. */
export function oldColumns(ctx: OpContext) {
  return ctx.table.original.columns.map((c) => ({ name: c.name, type: c.type }));
}

/** The columns a `down` expression may use: the table as the new application sees it. */
export function newColumns(ctx: OpContext) {
  return ctx.table.columns.map((c) => ({ name: c.name, type: c.type }));
}

export function requireConstraint(ctx: OpContext, kind: string, field: string, name: string): ConstraintInfo {
  const constraint = ctx.table.constraints.get(name);
  if (!constraint) throw new InputError(`${where(ctx, kind, field)}: no constraint "${name}" on ${tableKey(ctx.table.ref)}`);
  return constraint;
}

/**
 * Constraint names are unique per table; a constraint with an index (unique,
 * primary key, exclusion) names its index too, and index names share one
 * namespace with every relation of the schema.
 */
export async function requireFreeConstraintName(ctx: OpContext, kind: string, field: string, name: string, probe: Probe, withIndex: boolean): Promise<void> {
  if (ctx.table.constraints.has(name)) {
    throw new InputError(`${where(ctx, kind, field)}: constraint "${name}" already exists on ${tableKey(ctx.table.ref)}`);
  }
  if (withIndex && (ctx.table.indexes.has(name) || (await probe.relationExists(ctx.table.ref.schema, name)))) {
    throw new InputError(
      `${where(ctx, kind, field)}: "${name}" already exists in schema ${ctx.table.ref.schema} (the constraint's index shares one namespace with tables, views and other indexes)`,
    );
  }
}

/** The constraint types whose constraint is its index: renaming or dropping one renames or drops the index. */
export function hasOwnIndex(constraint: ConstraintInfo): boolean {
  return constraint.type === 'p' || constraint.type === 'u' || constraint.type === 'x';
}
