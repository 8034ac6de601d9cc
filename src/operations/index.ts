import type { OperationKind } from '../playbook/schema.ts';
import type { Operation } from './operation.ts';
import { addColumn } from './add-column.ts';
import { alterColumn } from './alter-column.ts';
import { renameColumn } from './rename-column.ts';
import { dropColumn } from './drop-column.ts';
import { createIndex } from './create-index.ts';

/** The catalog of operations: adding one is adding a file and a line here (and its spec in playbook/schema.ts). */
export const OPERATIONS: { [K in OperationKind]: Operation<K> } = {
  add_column: addColumn,
  alter_column: alterColumn,
  rename_column: renameColumn,
  drop_column: dropColumn,
  create_index: createIndex,
};
