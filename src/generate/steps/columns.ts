import { ident } from '../../db/sql.ts';
import { PLACEHOLDER } from '../placeholder.ts';
import { ownName, parentName, quoted, unmappable, type Generation } from '../context.ts';

/** Declared column renames, first among a table's changes: later operations name the column by its new name. */
export function renameColumns(g: Generation): void {
  for (const [column, to] of g.renames.columns) {
    const table = column.slice(0, column.lastIndexOf('.'));
    g.add({ rename_column: { table, from: column.slice(table.length + 1), to } }, 'declared rename (--rename)');
  }
}

/**
 * Columns of tables that stay: changed (alter_column), added, dropped. Where
 * only a person knows a value (a type change's transform, what NULLs become
 * under NOT NULL) the playbook gets the placeholder and a comment saying what
 * to write.
 */
export function columnChanges(g: Generation): void {
  for (const [a, b] of g.kept('column')) {
    const what = g.refuseChanges(a, b, 'alter_column does not change that', ['type', 'notNull', 'default', 'comment']);
    if (what.length === 0) continue;
    const name = ownName(b);
    const spec: Record<string, unknown> = { table: g.liveNameOf(parentName(b)), column: name };
    const notes: string[] = [];
    if (what.includes('type')) {
      Object.assign(spec, { type: b.attributes.type, up: PLACEHOLDER, down: PLACEHOLDER });
      notes.push(`type ${a.attributes.type} → ${b.attributes.type}: write up (old → new, e.g. ${name}::${b.attributes.type}) and down (new → old, e.g. ${name}::${a.attributes.type})`);
    }
    if (what.includes('notNull')) {
      spec.nullable = !b.attributes.notNull;
      // Every NOT NULL value is a valid nullable one, so down is the column itself; up is what the NULLs become.
      if (b.attributes.notNull && !spec.up) {
        Object.assign(spec, { up: PLACEHOLDER, down: ident(name) });
        notes.push(`NOT NULL: write up, the value rows with NULL get (e.g. coalesce(${name}, …))`);
      }
    }
    if (what.includes('default')) spec.default = b.attributes.default ?? null;
    if (what.includes('comment')) spec.comment = b.attributes.comment ?? null;
    g.addNoted({ alter_column: spec }, b, notes);
  }

  const dropped = g.removed('column').filter((c) => !g.goneTables.has(parentName(c)));
  const added = g.added('column').filter((c) => !g.newTables.has(parentName(c)));
  for (const c of added) {
    const table = parentName(c);
    const name = ownName(c);
    for (const what of ['generated', 'identity', 'collation'] as const) if (c.attributes[what]) unmappable(c, `${what}: add_column has no such column attribute`);
    const spec: Record<string, unknown> = { table: g.liveNameOf(table), name, type: c.attributes.type };
    if (c.attributes.notNull) spec.nullable = false;
    if (c.attributes.default) spec.default = c.attributes.default;
    const notes: string[] = [];
    if (c.attributes.notNull && !c.attributes.default) {
      spec.up = PLACEHOLDER;
      notes.push('NOT NULL without a default: write up, the value existing rows get');
    }
    const instead = dropped.filter((d) => d.parent === c.parent).map(ownName);
    if (instead.length) notes.push(`added while ${instead.join(', ')} is dropped: if that is a rename, declare it (--rename ${table}.${instead[0]}=${name}), or the data is lost`);
    g.addNoted({ add_column: spec }, c, notes);
    if (c.attributes.comment) g.comment(`COLUMN ${quoted(g.liveNameOf(table))}.${ident(name)}`, c.attributes.comment, null, c);
  }
  for (const c of dropped) {
    const spec: Record<string, unknown> = { table: g.liveNameOf(parentName(c)), column: ownName(c) };
    const notes: string[] = [];
    if (c.attributes.notNull && !c.attributes.default) {
      spec.down = PLACEHOLDER;
      notes.push('NOT NULL without a default: write down, the value rows the new application inserts get until contract');
    }
    if (added.some((a) => a.parent === c.parent)) notes.push('dropped while another column is added to the table: its data is lost at contract unless this is declared as a rename');
    g.addNoted({ drop_column: spec }, c, notes);
  }
}
