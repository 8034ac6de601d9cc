import { ident } from '../../db/sql.ts';
import type { SchemaObject, SchemaSnapshot } from '../../snapshot/format.ts';
import { constraintSpec, indexSpec } from '../definitions.ts';
import { ownName, parentName, quoted, relationName, unmappable, type Generation } from '../context.ts';

/** An index that a constraint of the same name owns (UNIQUE, PRIMARY KEY, EXCLUDE): it comes and goes with the constraint. */
function ownedByConstraint(s: SchemaSnapshot, index: SchemaObject): boolean {
  return s.objects.some((o) => o.kind === 'constraint' && o.name === `${parentName(index)}.${relationName(index.name)}`);
}

const concurrently = (definition: string) => definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY IF NOT EXISTS ');

/**
 * Before the columns change: constraints renamed (the same definition on the
 * same table under another name, as PostgreSQL leaves a renamed table's
 * constraints) or dropped, and indexes dropped. Returns the renamed ones, which
 * are neither dropped nor created.
 */
export function droppedKeys(g: Generation): Set<string> {
  for (const [a, b] of g.kept('constraint')) {
    const what = g.changed(a, b);
    if (what.length) unmappable(b, `its ${what.join(', ')} changed (${a.attributes.definition} → ${b.attributes.definition}); drop it in one playbook and create it in the next`);
  }
  const renamed = new Set<string>();
  const removed = g.removed('constraint').filter((c) => !g.goesWithParent(c));
  for (const c of removed) {
    const twin = g.added('constraint').find((n) => n.parent === c.parent && n.attributes.definition === c.attributes.definition && !renamed.has(n.name));
    if (!twin) continue;
    renamed.add(c.name).add(twin.name);
    g.add({ rename_constraint: { table: g.liveNameOf(parentName(c)), from: ownName(c), to: ownName(twin) } }, `constraint ${twin.name}: the same definition as ${c.name}, renamed`);
  }
  for (const c of removed.filter((c) => !renamed.has(c.name))) {
    if (constraintSpec(String(c.attributes.definition))?.type === 'primary_key') unmappable(c, 'a primary key removed; bellows walks every table by its key and does not drop one');
    g.add({ drop_constraint: { table: g.liveNameOf(parentName(c)), name: ownName(c) } });
  }
  for (const [a, b] of g.kept('index')) {
    if (ownedByConstraint(g.desired, b)) continue;
    const what = g.refuseChanges(a, b, 'no operation changes an index: drop it in one playbook and create it in the next', ['valid', 'comment']);
    if (what.includes('comment')) g.comment(`INDEX ${quoted(b.name)}`, b.attributes.comment, a.attributes.comment, b);
  }
  for (const i of g.removed('index')) {
    if (ownedByConstraint(g.live, i) || g.goesWithParent(i)) continue;
    if (!i.parent!.startsWith('table ')) unmappable(i, 'an index of a materialized view; replace_view keeps or drops them');
    g.add({ drop_index: { table: g.liveNameOf(parentName(i)), name: relationName(i.name) } });
  }
  return renamed;
}

/** Constraints and indexes of new and existing tables, once every table and column exists. */
export function newKeys(g: Generation, renamed: Set<string>): void {
  for (const c of g.added('constraint').filter((c) => !renamed.has(c.name))) {
    const table = g.liveNameOf(parentName(c));
    const definition = String(c.attributes.definition);
    const spec = constraintSpec(definition);
    if (spec?.type === 'primary_key') {
      if (g.newTables.has(parentName(c))) continue;
      unmappable(c, "a primary key added to an existing table; bellows does not change a table's key");
    }
    if (spec) g.add({ create_constraint: { table, name: ownName(c), ...spec } });
    else g.raw(`ALTER TABLE ${quoted(table)} ADD CONSTRAINT ${ident(ownName(c))} ${definition}`, `ALTER TABLE ${quoted(table)} DROP CONSTRAINT ${ident(ownName(c))}`, 'access_exclusive', `constraint ${c.name}: create_constraint cannot express ${definition}`);
    if (c.attributes.comment) g.comment(`CONSTRAINT ${ident(ownName(c))} ON ${quoted(table)}`, c.attributes.comment, null, c);
  }
  for (const i of g.added('index')) {
    if (ownedByConstraint(g.desired, i)) continue;
    if (!i.parent!.startsWith('table ')) unmappable(i, 'an index of a materialized view; create_view (unique_index) or replace_view (indexes) makes those');
    const definition = String(i.attributes.definition);
    const spec = indexSpec(definition);
    if (spec) {
      g.add({ create_index: { ...spec, table: g.liveNameOf(parentName(i)), ...(spec.unique ? {} : { unique: undefined }), ...(spec.method === 'btree' ? { method: undefined } : {}) } });
    } else {
      g.raw(concurrently(definition), `DROP INDEX CONCURRENTLY IF EXISTS ${quoted(i.name)}`, 'share_update_exclusive', `index ${i.name}: create_index cannot express ${definition}`, { in_transaction: false });
    }
    if (i.attributes.comment) g.comment(`INDEX ${quoted(i.name)}`, i.attributes.comment, null, i);
  }
}
