import { alterCommands, defineRule, tableOf } from '../rule.ts';

const DROPPED_KINDS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FUNCTION', 'OBJECT_TYPE', 'OBJECT_SEQUENCE', 'OBJECT_SCHEMA']);

/**
 * Renaming or dropping something the running application reads breaks it the
 * moment the statement commits. bellows' own operations (rename_column,
 * drop_column, drop_table …) keep the old version working until contract;
 * raw SQL in expand does not, and neither does a rename in contract, which the
 * new version's views name by their old names until then. A rollback undoes
 * what its `up` made, so it is left alone.
 */
export const breakingRenameDrop = defineRule({
  id: 'breaking-rename-drop',
  severity: 'error',
  description: 'a rename or drop in raw SQL that breaks the application version still running',
  check({ statement, origin, phase }) {
    const { kind, node } = statement;
    if (origin !== 'raw') return [];
    const found: string[] = [];
    if (kind === 'RenameStmt') found.push(node.subname ? `renames ${tableOf(node.relation)}.${node.subname}` : `renames ${tableOf(node.relation) || 'an object'}`);
    if (kind === 'DropStmt' && phase !== 'contract' && DROPPED_KINDS.has(node.removeType)) found.push(`drops a ${String(node.removeType).slice(7).toLowerCase()}`);
    if (phase !== 'contract') {
      for (const { table, cmd } of alterCommands(statement)) if (cmd.subtype === 'AT_DropColumn') found.push(`drops column ${table}.${cmd.name}`);
    }
    return found.map((what) => ({
      message: `raw SQL ${what} while the ${phase === 'contract' ? 'new' : 'old'} application version may still use it`,
      safe: 'rename_column, rename_table, drop_column, drop_table … (they keep the old version working until contract)',
    }));
  },
});
