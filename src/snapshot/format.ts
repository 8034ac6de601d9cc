/**
 * A normalized picture of a database's schema: one entry per object, in a fixed
 * order, every attribute plain JSON, so two snapshots compare attribute by
 * attribute and a stored one reads back the same. `format` changes when the
 * meaning of an attribute does: snapshots of another format are not compared.
 */
export const SNAPSHOT_FORMAT = 1;

export type ObjectKind =
  | 'schema'
  | 'table'
  | 'column'
  | 'constraint'
  | 'index'
  | 'view'
  | 'materialized view'
  | 'function'
  | 'trigger'
  | 'sequence'
  | 'enum';

export type AttributeValue = string | number | boolean | null | string[];

export interface SchemaObject {
  kind: ObjectKind;
  /** Qualified: `public.users`, a column `public.users.email`, a function `public.f(integer, text)`. */
  name: string;
  /** The table or view a column, constraint, index or trigger belongs to (`table public.users`): dropped with it, so not reported apart. */
  parent?: string;
  attributes: Record<string, AttributeValue>;
}

export interface SchemaSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  /** Sorted by kind, then name. */
  objects: SchemaObject[];
}

/** How a snapshot names an object in a report and as a key: `column public.users.email`. */
export function objectKey(o: Pick<SchemaObject, 'kind' | 'name'>): string {
  return `${o.kind} ${o.name}`;
}

/** The table or view a parent names, without its kind: `table public.users` → `public.users`. */
export function parentRelation(parent: string | undefined): string {
  return (parent ?? '').replace(/^(table|view|materialized view) /, '');
}
