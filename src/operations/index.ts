import type { z } from 'zod';
import { addColumn } from './add-column.ts';
import { alterColumn } from './alter-column.ts';
import { renameColumn } from './rename-column.ts';
import { dropColumn } from './drop-column.ts';
import { splitColumn } from './split-column.ts';
import { mergeColumns } from './merge-columns.ts';
import { createIndex } from './create-index.ts';
import { dropIndex } from './drop-index.ts';
import { createTable } from './create-table.ts';
import { dropTable } from './drop-table.ts';
import { renameTable } from './rename-table.ts';
import { sql } from './sql.ts';
import { createConstraint } from './create-constraint.ts';
import { dropConstraint } from './drop-constraint.ts';
import { renameConstraint } from './rename-constraint.ts';
import { createView } from './create-view.ts';
import { replaceView } from './replace-view.ts';
import { dropView } from './drop-view.ts';
import { refreshMaterializedView } from './refresh-materialized-view.ts';
import { createFunction } from './create-function.ts';
import { replaceFunction } from './replace-function.ts';
import { dropFunction } from './drop-function.ts';
import { createEnum } from './create-enum.ts';
import { addEnumValue } from './add-enum-value.ts';
import { grant } from './grant.ts';
import { revoke } from './revoke.ts';
import { seedData } from './seed-data.ts';
import { addHistory } from './add-history.ts';
import { dropHistory } from './drop-history.ts';

/** The catalog of operations, by the key a playbook writes: adding one is adding its file and a line here. */
export const OPERATIONS = {
  add_column: addColumn,
  alter_column: alterColumn,
  rename_column: renameColumn,
  drop_column: dropColumn,
  split_column: splitColumn,
  merge_columns: mergeColumns,
  create_index: createIndex,
  drop_index: dropIndex,
  create_table: createTable,
  drop_table: dropTable,
  rename_table: renameTable,
  sql,
  create_constraint: createConstraint,
  drop_constraint: dropConstraint,
  rename_constraint: renameConstraint,
  create_view: createView,
  replace_view: replaceView,
  drop_view: dropView,
  refresh_materialized_view: refreshMaterializedView,
  create_function: createFunction,
  replace_function: replaceFunction,
  drop_function: dropFunction,
  create_enum: createEnum,
  add_enum_value: addEnumValue,
  grant,
  revoke,
  seed_data: seedData,
  add_history: addHistory,
  drop_history: dropHistory,
};

export type OperationKind = keyof typeof OPERATIONS;
export const OPERATION_KINDS = Object.keys(OPERATIONS) as OperationKind[];
export type SpecOf<K extends OperationKind> = z.infer<(typeof OPERATIONS)[K]['spec']>;

/** The README's table of operations, from each operation's own summary (a test keeps the README equal to it). */
export function operationsTable(): string {
  const rows = OPERATION_KINDS.map((kind) => `| \`${kind}\` | ${OPERATIONS[kind].summary} |`);
  return ['| operation | what it does |', '| --- | --- |', ...rows].join('\n');
}
