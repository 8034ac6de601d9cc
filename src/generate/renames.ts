import { InputError } from '../errors.ts';
import { ident } from '../db/sql.ts';
import { parentRelation, type SchemaObject, type SchemaSnapshot } from '../snapshot/format.ts';

/**
 * Renames declared with `--rename`: a snapshot cannot tell a rename from a
 * drop and an add, so only the user can say one happened.
 */
export interface Renames {
  /** `schema.old` → new name, same schema. */
  tables: Map<string, string>;
  /** `schema.table.old` → new name (the table by its live name). */
  columns: Map<string, string>;
}

const qualify = (name: string) => (name.split('.').length === 1 ? `public.${name}` : name);

/**
 * `users=accounts` or `public.users=accounts` renames a table;
 * `users.name=full_name` or `public.users.name=full_name` a column. Which it is
 * comes from the live schema: a left side that names a live table is a table.
 */
export function parseRenames(flags: string[], live: SchemaSnapshot): Renames {
  const has = (kind: string, name: string) => live.objects.some((o) => o.kind === kind && o.name === name);
  const renames: Renames = { tables: new Map(), columns: new Map() };
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const from = eq > 0 ? flag.slice(0, eq).trim() : '';
    const to = eq > 0 ? flag.slice(eq + 1).trim() : '';
    if (!from || !to || to.includes('.')) throw new InputError(`generate: --rename ${JSON.stringify(flag)}: expected table=new_name or table.column=new_name`);
    const table = qualify(from);
    if (has('table', table)) {
      renames.tables.set(table, to);
      continue;
    }
    const parts = from.split('.');
    const column = parts.length === 2 ? `public.${from}` : from;
    if (parts.length > 3 || !has('column', column)) throw new InputError(`generate: --rename ${from}: no table or column of that name in the live database`);
    renames.columns.set(column, to);
  }
  return renames;
}

/** `public.users` → `public.accounts` where the table is renamed; others unchanged. */
export function renamedTable(renames: Renames, table: string): string {
  const to = renames.tables.get(table);
  return to ? `${table.slice(0, table.lastIndexOf('.'))}.${to}` : table;
}

/**
 * The live snapshot as it will be once the renames are done: compared with
 * the desired one, a renamed column or table is then neither dropped nor
 * added. Definitions that name a renamed table (an index's ON, a foreign
 * key's REFERENCES, a view's FROM) name it by its new name.
 */
export function applyRenames(live: SchemaSnapshot, renames: Renames): SchemaSnapshot {
  const retext = (text: string) => {
    let out = text;
    for (const [from] of renames.tables) out = out.replace(new RegExp(`\\b${from.replace('.', '\\.')}\\b`, 'g'), renamedTable(renames, from));
    return out;
  };
  const objects = live.objects.map((o): SchemaObject => {
    let name = o.name;
    if (o.kind === 'table') name = renamedTable(renames, o.name);
    if (o.kind === 'column') {
      const table = parentRelation(o.parent);
      const column = o.name.slice(table.length + 1);
      name = `${renamedTable(renames, table)}.${renames.columns.get(o.name) ?? column}`;
    }
    if ((o.kind === 'constraint' || o.kind === 'trigger') && o.parent) {
      const table = parentRelation(o.parent);
      name = `${renamedTable(renames, table)}.${o.name.slice(table.length + 1)}`;
    }
    const parent = o.parent ? o.parent.replace(parentRelation(o.parent), renamedTable(renames, parentRelation(o.parent))) : undefined;
    // A constraint or index follows its column through a rename: its definition names the new one.
    const followsColumns = (text: string) => (o.kind === 'constraint' || o.kind === 'index' ? renameColumnsIn(text, renames, parentRelation(o.parent)) : text);
    const attributes = Object.fromEntries(Object.entries(o.attributes).map(([k, v]) => [k, typeof v === 'string' && k === 'definition' ? retext(followsColumns(v)) : v]));
    return { ...o, name, ...(parent ? { parent } : {}), attributes };
  });
  return { ...live, objects };
}

/** The columns of `table` renamed in a definition, as whole words (PostgreSQL prints a plain name bare, and quotes only what needs it). */
function renameColumnsIn(text: string, renames: Renames, table: string): string {
  let out = text;
  for (const [column, to] of renames.columns) {
    if (column.slice(0, column.lastIndexOf('.')) !== table) continue;
    const from = column.slice(table.length + 1);
    out = out.replace(new RegExp(`(?<![\\w."])${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w"])`, 'g'), /^[a-z_][a-z0-9_]*$/.test(to) ? to : ident(to));
  }
  return out;
}
