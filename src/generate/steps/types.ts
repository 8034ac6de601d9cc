import { ident } from '../../db/sql.ts';
import { quoted, relationName, schemaOf, unmappable, type Generation } from '../context.ts';

/** New schemas and enum types, and values added to enums: first, as tables use them. */
export function schemasAndTypes(g: Generation): void {
  for (const s of g.removed('schema')) unmappable(s, 'removed; bellows drops no schema: drop its objects here, and the schema by hand');
  for (const [a, b] of g.kept('schema')) g.refuseChanges(a, b, 'no bellows operation changes a schema');
  for (const s of g.added('schema')) {
    // Operations check against the live catalog that their schema exists before anything runs.
    if (g.desired.objects.some((o) => o.name.startsWith(`${s.name}.`))) {
      unmappable(s, 'new, with objects in it; bellows checks that an object\'s schema exists before the playbook runs: create the schema first (a playbook of its own), then generate again');
    }
    g.add({ sql: { up: `CREATE SCHEMA ${ident(s.name)}`, rollback: `DROP SCHEMA ${ident(s.name)}`, lock: 'none' } }, `schema ${s.name}: new`);
    if (s.attributes.comment) g.comment(`SCHEMA ${ident(s.name)}`, s.attributes.comment, null, s);
  }
  for (const e of g.added('enum')) {
    g.add({ create_enum: { schema: schemaOf(e.name), name: relationName(e.name), values: e.attributes.values as string[] } });
    if (e.attributes.comment) g.comment(`TYPE ${quoted(e.name)}`, e.attributes.comment, null, e);
  }
  for (const [a, b] of g.kept('enum')) {
    const what = g.refuseChanges(a, b, 'no bellows operation changes it', ['values', 'comment']);
    if (what.includes('comment')) g.comment(`TYPE ${quoted(b.name)}`, b.attributes.comment, a.attributes.comment, b);
    if (what.includes('values')) addedValues(g, a.attributes.values as string[], b.attributes.values as string[], b.name);
  }
}

/** PostgreSQL only adds enum values: each new one in its place, before or after a neighbour. */
function addedValues(g: Generation, old: string[], now: string[], type: string): void {
  if (old.some((v) => !now.includes(v)) || now.filter((v) => old.includes(v)).some((v, i) => v !== old[i])) {
    unmappable({ kind: 'enum', name: type }, `values removed or reordered (${old.join(', ')} → ${now.join(', ')}); PostgreSQL can only add values to an enum`);
  }
  now.forEach((value, i) => {
    if (old.includes(value)) return;
    const place = i === 0 ? { before: now[1] } : { after: now[i - 1] };
    g.flag(
      { add_enum_value: { schema: schemaOf(type), type: relationName(type), value, ...place, acknowledge_irreversible: true } },
      `enum ${type} gets ${value}: PostgreSQL cannot remove it again, so a rollback leaves it (acknowledged here: check that is acceptable)`,
    );
  });
}

/** Enums no longer wanted: no operation drops a type, so raw SQL at contract, once the columns that use them are gone. */
export function dropTypes(g: Generation): void {
  for (const e of g.removed('enum')) g.raw(`DROP TYPE ${quoted(e.name)}`, null, 'access_exclusive', `enum ${e.name}: no operation drops a type; it runs at contract, after the columns that use it are gone`);
}
