import type { ConstraintInfo, TableInfo } from '../catalog/introspect.ts';
import type { TableRef } from '../db/sql.ts';

/**
 * The schema as the playbook sees it, operation by operation. It starts as the
 * live catalog and each operation's `validate` updates it, so that a later
 * operation sees the columns an earlier one added, renamed or dropped.
 */
export interface ModelColumn {
  /** The column's name in the new version of the schema. */
  name: string;
  /** The physical column that holds it during the migration. */
  physical: string;
  type: string;
  notNull: boolean;
  default: string | null;
}

export interface ModelTable {
  ref: TableRef;
  /** Physical columns as they were before the run: what the old application sees. */
  original: TableInfo;
  /** The new version's columns, in order. */
  columns: ModelColumn[];
  indexes: Set<string>;
  /** By name, as the table will have them after the run (created, dropped and renamed ones included). */
  constraints: Map<string, ConstraintInfo>;
}

export type SchemaModel = Map<string, ModelTable>;

export function modelFromCatalog(info: TableInfo): ModelTable {
  return {
    ref: { schema: info.schema, name: info.name },
    original: info,
    columns: info.columns.map((c) => ({ name: c.name, physical: c.name, type: c.type, notNull: c.notNull, default: c.default })),
    indexes: new Set(info.indexes.map((i) => i.name)),
    constraints: new Map(info.constraints.map((c) => [c.name, c])),
  };
}

export function findColumn(table: ModelTable, name: string): ModelColumn | undefined {
  return table.columns.find((c) => c.name === name);
}
