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
  /** The physical table, as it is until contract. */
  ref: TableRef;
  /** Its name in the new version (a rename_table changes it; the physical rename waits for contract). */
  versionName: string;
  /** Made by this playbook (create_table): it does not exist before expand. */
  created: boolean;
  /** Dropped by this playbook at contract (drop_table): no later operation may use it, and the new version has no view of it. */
  droppedBy: number | null;
  /** Physical columns as they were before the run: what the old application sees. */
  original: TableInfo;
  /** The new version's columns, in order. */
  columns: ModelColumn[];
  indexes: Set<string>;
  /** By name, as the table will have them after the run (created, dropped and renamed ones included). */
  constraints: Map<string, ConstraintInfo>;
  /**
   * The column sets a valid unique index (no expression, no predicate) covers
   * when expand runs: what an INSERT … ON CONFLICT (columns) can name. The
   * catalog's, and the keys create_table declares.
   */
  uniqueKeys: string[][];
  /**
   * The trigger of a history an add_history earlier in this playbook keeps: like one the
   * catalog shows, it names the table's columns in its body (operations/history-objects.ts).
   */
  historyWriter: string | null;
}

export type SchemaModel = Map<string, ModelTable>;

export function modelFromCatalog(info: TableInfo): ModelTable {
  return {
    ref: { schema: info.schema, name: info.name },
    versionName: info.name,
    created: false,
    droppedBy: null,
    original: info,
    columns: info.columns.map((c) => ({ name: c.name, physical: c.name, type: c.type, notNull: c.notNull, default: c.default })),
    indexes: new Set(info.indexes.map((i) => i.name)),
    constraints: new Map(info.constraints.map((c) => [c.name, c])),
    uniqueKeys: info.indexes.filter((i) => i.valid && i.unique && i.plain).map((i) => i.columns),
    historyWriter: null,
  };
}

/** A column as it was before the run (what the old application sees); the caller has checked it exists. */
export function originalColumn(table: ModelTable, name: string) {
  return table.original.columns.find((c) => c.name === name)!;
}

export function findColumn(table: ModelTable, name: string): ModelColumn | undefined {
  return table.columns.find((c) => c.name === name);
}

/** A table this playbook creates: nothing of it exists yet; its create_table operation fills in the columns. */
export function newTableModel(ref: TableRef): ModelTable {
  return {
    ref,
    versionName: ref.name,
    created: true,
    droppedBy: null,
    original: { ...ref, oid: 0, columns: [], key: null, indexes: [], constraints: [], grants: [], estimatedRows: 0 },
    columns: [],
    indexes: new Set(),
    constraints: new Map(),
    uniqueKeys: [],
    historyWriter: null,
  };
}
