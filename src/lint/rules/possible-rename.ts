import { parseTableRef, tableKey } from '../../db/sql.ts';
import type { OperationEntry } from '../../playbook/schema.ts';
import { defineRule, type OperationsRule } from '../rule.ts';

const table = (name: string) => tableKey(parseTableRef(name));

/**
 * A column dropped and another added to the same table, or a table dropped and
 * another created, in one playbook, is often a rename written (or generated,
 * when no rename was declared) as two changes: the dropped data is gone at
 * contract, and the new column or table starts empty.
 */
export const possibleRename: OperationsRule = defineRule({
  id: 'possible-rename',
  severity: 'warning',
  description: 'a column (or table) dropped and another added in the same playbook: if it is a rename, its data is lost',
  check: () => [],
  checkOperations(entries: OperationEntry[], file: string) {
    const at = (e: OperationEntry) => ({ file, operation: e.index, field: `operations[${e.index}].${e.kind}` });
    const found = [];
    for (const drop of entries) {
      if (drop.kind === 'drop_column') {
        const added = entries.filter((e) => e.kind === 'add_column' && table(e.spec.table) === table(drop.spec.table)).map((e) => (e.kind === 'add_column' ? e.spec.name : ''));
        if (added.length === 0) continue;
        found.push({
          location: at(drop),
          message: `drops ${table(drop.spec.table)}.${drop.spec.column} and adds ${added.join(', ')} to the same table: if that is a rename, the data in ${drop.spec.column} is lost at contract`,
          safe: `rename_column (bellows generate --rename ${drop.spec.table}.${drop.spec.column}=<new>), or disable this rule with the reason the data may go`,
        });
      }
      if (drop.kind === 'drop_table') {
        const created = entries.filter((e) => e.kind === 'create_table').map((e) => (e.kind === 'create_table' ? table(e.spec.table) : ''));
        if (created.length === 0) continue;
        found.push({
          location: at(drop),
          message: `drops table ${table(drop.spec.table)} and creates ${created.join(', ')}: if that is a rename, the rows of ${table(drop.spec.table)} are lost at contract`,
          safe: `rename_table (bellows generate --rename ${drop.spec.table}=<new>), or disable this rule with the reason the rows may go`,
        });
      }
    }
    return found;
  },
});
