import { ident } from '../../db/sql.ts';
import { constraintSpec } from '../definitions.ts';
import { ownName, quoted, relationName, unmappable, type Generation } from '../context.ts';

/**
 * New tables: columns and primary key. Their other constraints and indexes go
 * with everyone's (keys.ts), once every table they reference exists.
 */
export function newTables(g: Generation): void {
  for (const t of g.added('table')) {
    for (const what of ['partitioned', 'unlogged', 'rowSecurity'] as const) if (t.attributes[what]) unmappable(t, `${what}: create_table makes a plain table`);
    const children = (kind: string) => g.desired.objects.filter((o) => o.kind === kind && o.parent === `table ${t.name}`);
    const pk = children('constraint')
      .map((c) => ({ c, spec: constraintSpec(String(c.attributes.definition)) }))
      .find((x) => x.spec?.type === 'primary_key');
    if (!pk) unmappable(t, 'has no primary key; bellows walks every table by its key');
    if (ownName(pk.c) !== `${relationName(t.name)}_pkey`) unmappable(pk.c, `create_table names its primary key ${relationName(t.name)}_pkey`);
    const keyColumns = pk.spec!.columns;
    const identities: Array<{ column: string; identity: string }> = [];
    const columns = children('column').map((c) => {
      const name = ownName(c);
      for (const what of ['generated', 'collation'] as const) if (c.attributes[what]) unmappable(c, `${what}: create_table has no such column attribute; make the column plain, or add it by hand`);
      if (c.attributes.identity) identities.push({ column: name, identity: String(c.attributes.identity) });
      return {
        name,
        type: c.attributes.type,
        ...(c.attributes.notNull && !keyColumns.includes(name) ? { nullable: false } : {}),
        ...(c.attributes.default ? { default: c.attributes.default } : {}),
        ...(c.attributes.comment ? { comment: c.attributes.comment } : {}),
      };
    });
    // The snapshot keeps no column order: the key first, then by name.
    columns.sort((x, y) => Number(keyColumns.includes(y.name)) - Number(keyColumns.includes(x.name)) || (x.name < y.name ? -1 : 1));
    g.add({ create_table: { table: t.name, columns, primary_key: keyColumns, ...(t.attributes.comment ? { comment: t.attributes.comment } : {}) } });
    // create_table makes no identity column; on a table nobody uses yet, adding one costs nothing.
    for (const { column, identity } of identities) {
      const alter = `ALTER TABLE ${quoted(t.name)} ALTER COLUMN ${ident(column)}`;
      g.raw(`${alter} ADD GENERATED ${identity.toUpperCase()} AS IDENTITY`, `${alter} DROP IDENTITY IF EXISTS`, 'access_exclusive', `${t.name}.${column}: identity (${identity}), which create_table does not make: added by raw SQL to the new table`);
    }
  }
  for (const [a, b] of g.kept('table')) {
    const what = g.refuseChanges(a, b, 'no bellows operation changes that', ['comment']);
    if (what.includes('comment')) g.comment(`TABLE ${quoted(g.liveNameOf(b.name))}`, b.attributes.comment, a.attributes.comment, b);
  }
}

/** Tables no longer wanted; with a new table in the same playbook, the drop may be an undeclared rename. */
export function dropTables(g: Generation): void {
  for (const t of g.removed('table')) {
    if (g.newTables.size) {
      g.flag({ drop_table: { table: t.name } }, `table ${t.name}: dropped while ${[...g.newTables].join(', ')} is created: if that is a rename, declare it (--rename ${t.name}=<new>), or its rows are lost`);
    } else g.add({ drop_table: { table: t.name } });
  }
}

/** Declared table renames, last: a playbook names a table by its old name until its rename. */
export function renameTables(g: Generation): void {
  for (const [table, to] of g.renames.tables) g.add({ rename_table: { table, to } }, 'declared rename (--rename)');
}
