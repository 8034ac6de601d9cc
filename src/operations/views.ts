import { z } from 'zod';
import { identifier } from '../playbook/spec-parts.ts';
import { ident, literal, qualified, tableKey, type TableRef } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { OutputColumn, ViewInfo } from '../catalog/views.ts';
import type { Probe, SchemaContext } from './operation.ts';
import { where } from './validation.ts';

/** What the view operations share: their fields, the checks of a query and of the view they name, and its SQL words. */

export const viewFields = {
  schema: identifier.default('public').describe('The schema of the view'),
  name: identifier.describe('The name of the view'),
};

export const viewQuery = z
  .string()
  .min(1)
  .describe('The SELECT the view shows. Checked by planning it, never running it; name tables in full (schema.table): the view keeps the tables it resolves at creation');

export type Kind = 'create_view' | 'replace_view' | 'drop_view' | 'refresh_materialized_view';

export const viewKeyword = (materialized: boolean) => (materialized ? 'MATERIALIZED VIEW' : 'VIEW');

/**
 * One operation per relation in a playbook: the live catalog does not show
 * what an earlier operation of it will create or drop, so a second one could
 * pass its checks and fail half-way through the run.
 */
export function claim(ctx: SchemaContext, kind: Kind, field: string, ref: TableRef): void {
  const key = tableKey(ref);
  const by = ctx.claimed.get(key);
  if (by !== undefined) throw new InputError(`${where(ctx, kind, field)}: ${key} is already changed by operations[${by}]; one operation per view in a playbook`);
  ctx.claimed.set(key, ctx.index);
}

/** The columns the query gives, or one line with PostgreSQL's reason it cannot be a view. */
export async function requireQuery(ctx: SchemaContext, kind: Kind, probe: Probe, query: string): Promise<OutputColumn[]> {
  const planned = await probe.queryColumns(query);
  if ('error' in planned) throw new InputError(`${where(ctx, kind, 'query')}: ${printableLine(planned.error, 200)}`);
  const seen = new Set<string>();
  for (const { name } of planned.columns) {
    // A bare SELECT accepts two columns of one name; a view does not.
    if (seen.has(name)) throw new InputError(`${where(ctx, kind, 'query')}: column "${name}" appears twice; a view's columns need distinct names (AS …)`);
    seen.add(name);
  }
  return planned.columns;
}

/** The view the operation names, of the kind it says; refused if it is missing or is another kind of relation. */
export async function requireView(ctx: SchemaContext, kind: Kind, probe: Probe, ref: TableRef): Promise<ViewInfo> {
  const view = await probe.view(ref);
  if (view) return view;
  const other = await probe.relationExists(ref.schema, ref.name);
  throw new InputError(`${where(ctx, kind, 'name')}: ${tableKey(ref)} ${other ? 'is not a view' : 'does not exist'}`);
}

/** `WITH (…)` of the options a view keeps (CREATE OR REPLACE VIEW drops any it is not given again). */
export function withOptions(options: readonly string[]): string {
  if (!options.length) return '';
  const pairs = options.map((o) => {
    const eq = o.indexOf('=');
    return `${ident(o.slice(0, eq))} = ${literal(o.slice(eq + 1))}`;
  });
  return ` WITH (${pairs.join(', ')})`;
}

/** The statement that creates or replaces a view; the query on lines of its own, so that a trailing comment ends there. */
export function viewSql(verb: 'CREATE' | 'CREATE OR REPLACE', ref: TableRef, options: readonly string[], query: string): string {
  return `${verb} VIEW ${qualified(ref)}${withOptions(options)} AS\n${query.trim()}`;
}

/** Created empty, so that the statement takes brief locks only: the population that reads the tables is an action of its own. */
export function emptyMaterializedViewSql(ref: TableRef, query: string): string {
  return `CREATE MATERIALIZED VIEW ${qualified(ref)} AS\n${query.trim()}\nWITH NO DATA`;
}

export function dropViewSql(ref: TableRef, materialized: boolean, ifExists: boolean): string {
  return `DROP ${viewKeyword(materialized)} ${ifExists ? 'IF EXISTS ' : ''}${qualified(ref)}`;
}
