import { InputError } from '../errors.ts';
import type { OpContext, Probe } from './operation.ts';
import type { ModelColumn } from './model.ts';
import { findColumn } from './model.ts';

/** Shared checks; each message names the operation and the field at fault. */
export function where(ctx: OpContext, kind: string, field?: string): string {
  return `operations[${ctx.index}].${kind}${field ? '.' + field : ''}`;
}

export function requireColumn(ctx: OpContext, kind: string, field: string, name: string): ModelColumn {
  const column = findColumn(ctx.table, name);
  if (!column) {
    throw new InputError(`${where(ctx, kind, field)}: column "${name}" does not exist in ${ctx.table.ref.schema}.${ctx.table.ref.name}`);
  }
  return column;
}

export function requireNoColumn(ctx: OpContext, kind: string, field: string, name: string): void {
  if (findColumn(ctx.table, name)) {
    throw new InputError(`${where(ctx, kind, field)}: column "${name}" already exists in ${ctx.table.ref.schema}.${ctx.table.ref.name}`);
  }
}

export function refuseKeyColumn(ctx: OpContext, kind: string, name: string, field = 'column'): void {
  const key = ctx.table.original.key;
  if (key?.columns.some((c) => c.name === name)) {
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
