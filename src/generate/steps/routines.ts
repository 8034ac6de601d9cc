import { ident } from '../../db/sql.ts';
import type { SchemaObject } from '../../snapshot/format.ts';
import { functionSpec } from '../definitions.ts';
import { renamedTable } from '../renames.ts';
import { quoted, relationName, schemaOf, unmappable, type Generation } from '../context.ts';

/** `public.f(a text, b integer)` → its parts. */
function functionName(name: string): { schema: string; name: string; args: string } {
  const open = name.indexOf('(');
  const qualifiedName = name.slice(0, open);
  return { schema: schemaOf(qualifiedName), name: relationName(qualifiedName), args: name.slice(open + 1, -1) };
}

/** What changes a table's columns before contract; an alter_column only when it replaces the column (it has `up`). */
const RESHAPING = new Set(['add_column', 'alter_column', 'drop_column', 'rename_column']);

/**
 * bellows checks a view's query, and a SQL function's body, when the playbook
 * is planned, against the live tables and those the playbook's earlier
 * create_table operations make: one that reads a table this playbook reshapes
 * cannot pass there. It is created by raw SQL at contract instead, once those
 * tables have their final shape.
 */
function reshapedTables(g: Generation): string[] {
  return [
    ...[...g.renames.tables.keys()].map((t) => renamedTable(g.renames, t)),
    ...g.operations.flatMap(({ operation }) =>
      Object.entries(operation).flatMap(([kind, spec]) => (RESHAPING.has(kind) && (kind !== 'alter_column' || spec.up !== undefined) ? [renamedTable(g.renames, String(spec.table))] : [])),
    ),
  ];
}

/** New and changed functions, then views (which may call them). */
export function functionsAndViews(g: Generation): void {
  const reshaped = reshapedTables(g);
  const reads = (text: string) => reshaped.filter((t) => new RegExp(`\\b${t.replace('.', '\\.')}\\b`).test(text));
  const atContract = (object: SchemaObject, up: string, tables: string[]) =>
    g.raw(up, null, object.kind === 'function' ? 'none' : 'access_exclusive', `${object.kind} ${object.name} reads ${tables.join(', ')}, which this playbook changes: created at contract, by raw SQL`);

  for (const f of g.added('function')) {
    const { schema, name, args } = functionName(f.name);
    const definition = String(f.attributes.definition);
    const spec = functionSpec(definition, schema, name);
    const tables = spec?.language === 'sql' ? reads(spec.body) : [];
    if (tables.length) {
      if (f.attributes.comment) unmappable(f, 'has a comment, and is created at contract; comment on it in a later playbook');
      atContract(f, definition, tables);
    } else if (spec) {
      const { security_definer, ...rest } = spec;
      g.add({ create_function: { ...rest, ...(security_definer ? { security_definer } : {}), ...(f.attributes.comment ? { comment: f.attributes.comment } : {}) } });
    } else {
      g.raw(definition, `DROP FUNCTION ${ident(schema)}.${ident(name)}(${args})`, 'none', `function ${f.name}: create_function cannot express all of it`);
      if (f.attributes.comment) g.comment(`FUNCTION ${ident(schema)}.${ident(name)}(${args})`, f.attributes.comment, null, f);
    }
  }
  for (const [a, b] of g.kept('function')) {
    const what = g.refuseChanges(a, b, 'replace_function does not change that', ['definition', 'comment']);
    const { schema, name, args } = functionName(b.name);
    if (what.includes('comment')) g.comment(`FUNCTION ${ident(schema)}.${ident(name)}(${args})`, b.attributes.comment, a.attributes.comment, b);
    if (!what.includes('definition')) continue;
    const old = functionSpec(String(a.attributes.definition), schema, name);
    const now = functionSpec(String(b.attributes.definition), schema, name);
    const tables = now?.language === 'sql' ? reads(now.body) : [];
    if (tables.length) atContract(b, String(b.attributes.definition), tables);
    else if (old && now && !old.security_definer && !now.security_definer) {
      const { security_definer: _, ...spec } = now;
      // Left out, replace_function keeps the volatility the function has now: the desired one is said.
      g.add({ replace_function: { ...spec, volatility: spec.volatility ?? 'volatile' } });
    } else {
      g.raw(String(b.attributes.definition), String(a.attributes.definition), 'none', `function ${b.name}: replace_function cannot express all of it`);
    }
  }

  for (const kind of ['view', 'materialized view'] as const) {
    const materialized = kind === 'materialized view';
    for (const v of g.added(kind)) {
      const options = (v.attributes.options as string[]) ?? [];
      if (options.some((o) => !o.startsWith('security_invoker='))) unmappable(v, `options ${options.join(', ')}: create_view sets only security_invoker`);
      const tables = reads(String(v.attributes.definition));
      if (tables.length) {
        if (v.attributes.comment) unmappable(v, 'has a comment, and is created at contract; comment on it in a later playbook');
        atContract(v, `CREATE ${materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${quoted(v.name)}${options.length ? ` WITH (${options.join(', ')})` : ''} AS ${v.attributes.definition}`, tables);
        continue;
      }
      g.add({
        create_view: {
          schema: schemaOf(v.name),
          name: relationName(v.name),
          query: v.attributes.definition,
          // create_view's default is security_invoker=true; PostgreSQL's, false: the desired view says which.
          ...(materialized ? { materialized: true } : { security_invoker: options.some((o) => /^security_invoker=(true|on|yes|1)$/i.test(o)) }),
          ...(v.attributes.comment ? { comment: v.attributes.comment } : {}),
        },
      });
    }
    for (const [a, b] of g.kept(kind)) {
      const what = g.refuseChanges(a, b, 'replace_view changes only the query', ['definition', 'comment']);
      if (what.includes('comment')) g.comment(`${materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${quoted(b.name)}`, b.attributes.comment, a.attributes.comment, b);
      if (!what.includes('definition')) continue;
      const tables = reads(String(b.attributes.definition));
      if (tables.length && materialized) unmappable(b, `reads ${tables.join(', ')}, which this playbook changes; replace it in a playbook of its own, after this one`);
      if (tables.length) atContract(b, `CREATE OR REPLACE VIEW ${quoted(b.name)} AS ${b.attributes.definition}`, tables);
      else g.add({ replace_view: { schema: schemaOf(b.name), name: relationName(b.name), query: b.attributes.definition } });
    }
  }
}

/** Views, then functions, no longer wanted: before the tables they read go. */
export function dropViewsAndFunctions(g: Generation): void {
  for (const kind of ['materialized view', 'view'] as const) {
    for (const v of g.removed(kind)) g.add({ drop_view: { schema: schemaOf(v.name), name: relationName(v.name), ...(kind === 'materialized view' ? { materialized: true } : {}) } });
  }
  for (const f of g.removed('function')) g.add({ drop_function: functionName(f.name) });
}
