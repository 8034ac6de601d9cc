import { ident, literal } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { sameAttribute } from '../snapshot/compare.ts';
import type { AttributeValue, SchemaObject, SchemaSnapshot } from '../snapshot/format.ts';
import { columnReferences, parseExpression } from '../lint/parser.ts';
import { constraintSpec, functionSpec, indexSpec } from './definitions.ts';
import { PLACEHOLDER } from './placeholder.ts';
import { renamedTable, type Renames } from './renames.ts';

/** One operation as the playbook writes it (`{ add_column: {...} }`), with the comment a reviewer reads above it. */
export interface GeneratedOperation {
  operation: Record<string, Record<string, unknown>>;
  comment?: string;
}

export interface GeneratedChanges {
  operations: GeneratedOperation[];
  /** What the reviewer must look at: placeholders, drops that may be renames, raw SQL. One line each. */
  flagged: string[];
  /** Differences a playbook does not carry, said in the header: owners and privileges. */
  leftAlone: string[];
}

/** A difference no operation can express: refused, naming the object and why. */
function unmappable(o: Pick<SchemaObject, 'kind' | 'name'>, why: string): never {
  throw new InputError(`generate: ${o.kind} ${o.name}: ${why}`);
}

/** Owners and privileges belong to the roles of each server; a schema change does not move them. */
const LEFT_ALONE = new Set(['owner', 'acl']);

type Index = Map<string, SchemaObject>;
const indexed = (s: SchemaSnapshot): Index => new Map(s.objects.map((o) => [`${o.kind} ${o.name}`, o]));
const ofKind = (s: SchemaSnapshot, kind: string) => s.objects.filter((o) => o.kind === kind);
const children = (s: SchemaSnapshot, kind: string, table: string) => s.objects.filter((o) => o.kind === kind && o.parent === `table ${table}`);
const lastPart = (name: string, parent: string) => name.slice(parent.length + 1);
const schemaOf = (name: string) => name.slice(0, name.indexOf('.'));
const relationName = (name: string) => name.slice(name.indexOf('.') + 1);
const str = (v: AttributeValue | undefined) => (typeof v === 'string' ? v : undefined);

/** The attributes that differ, owners and privileges aside. */
function changed(a: SchemaObject, b: SchemaObject, leftAlone: string[]): string[] {
  const keys = [...new Set([...Object.keys(a.attributes), ...Object.keys(b.attributes)])].sort();
  const out: string[] = [];
  for (const k of keys) {
    if (sameAttribute(b.kind, k, a.attributes[k], b.attributes[k])) continue;
    if (LEFT_ALONE.has(k)) leftAlone.push(`${a.kind} ${b.name}: ${k}`);
    else out.push(k);
  }
  return out;
}

/** An index that a constraint of the same name owns (UNIQUE, PRIMARY KEY, EXCLUDE): it comes and goes with the constraint. */
function ownedByConstraint(s: SchemaSnapshot, index: SchemaObject): boolean {
  const table = index.parent?.replace(/^table /, '');
  return table !== undefined && s.objects.some((o) => o.kind === 'constraint' && o.name === `${table}.${relationName(index.name)}`);
}

/** A raw-SQL operation with its way back: what the catalog of operations cannot say, said plainly. */
function rawSql(up: string, rollback: string | null, lock: string, comment: string, extra: Record<string, unknown> = {}): GeneratedOperation {
  return {
    operation: { sql: { up, ...(rollback ? { rollback } : { phase: 'contract' }), lock, ...extra } },
    comment: `raw SQL: ${comment}; review it`,
  };
}

export function generateOperations(live: SchemaSnapshot, desired: SchemaSnapshot, renames: Renames): GeneratedChanges {
  const ops: GeneratedOperation[] = [];
  const flagged: string[] = [];
  const leftAlone: string[] = [];
  const before = indexed(live);
  const after = indexed(desired);
  const add = (operation: GeneratedOperation['operation'], comment?: string) => ops.push({ operation, ...(comment ? { comment } : {}) });
  const flag = (operation: GeneratedOperation['operation'], comment: string) => {
    flagged.push(comment);
    add(operation, comment);
  };
  /** The name a table has in the playbook until its rename, which comes last. */
  const liveNameOf = (table: string) => [...renames.tables].find(([from]) => renamedTable(renames, from) === table)?.[0] ?? table;
  const added = (kind: string) => ofKind(desired, kind).filter((o) => !before.has(`${kind} ${o.name}`));
  const removed = (kind: string) => ofKind(live, kind).filter((o) => !after.has(`${kind} ${o.name}`));
  const kept = (kind: string) => ofKind(desired, kind).flatMap((o) => (before.has(`${kind} ${o.name}`) ? [[before.get(`${kind} ${o.name}`)!, o] as const] : []));
  const refuseChanges = (a: SchemaObject, b: SchemaObject, why: string) => {
    const what = changed(a, b, leftAlone);
    if (what.length) unmappable(b, `its ${what.join(', ')} changed, and ${why}`);
  };
  const newTables = new Set(added('table').map((t) => t.name));
  const goneTables = new Set(removed('table').map((t) => t.name));

  // What no operation makes or changes is refused before anything is written.
  for (const kind of ['trigger', 'sequence'] as const) {
    for (const o of [...added(kind), ...removed(kind)]) if (!goneTables.has(o.parent?.replace(/^\w+ /, '') ?? '')) unmappable(o, `${before.has(`${kind} ${o.name}`) ? 'removed' : 'added'}, and no bellows operation makes or drops a ${kind}${kind === 'sequence' ? ' (for a serial column, use an identity column: GENERATED … AS IDENTITY)' : ''}; do it in a sql operation of its own`);
    for (const [a, b] of kept(kind)) refuseChanges(a, b, `no bellows operation changes a ${kind}`);
  }
  for (const s of removed('schema')) unmappable(s, 'removed; bellows drops no schema: drop its objects here, and the schema by hand');
  for (const [a, b] of kept('schema')) refuseChanges(a, b, 'no bellows operation changes a schema');

  // 1. Schemas and types, which tables use.
  for (const s of added('schema')) add({ sql: { up: `CREATE SCHEMA ${ident(s.name)}`, rollback: `DROP SCHEMA ${ident(s.name)}`, lock: 'none' } }, `schema ${s.name}: new`);
  for (const e of added('enum')) add({ create_enum: { schema: schemaOf(e.name), name: relationName(e.name), values: e.attributes.values as string[] } });
  for (const [a, b] of kept('enum')) {
    for (const what of changed(a, b, leftAlone)) {
      if (what !== 'values') unmappable(b, `its ${what} changed, and no bellows operation changes it`);
      const old = a.attributes.values as string[];
      const now = b.attributes.values as string[];
      if (old.some((v) => !now.includes(v)) || now.filter((v) => old.includes(v)).some((v, i) => v !== old[i])) {
        unmappable(b, `values removed or reordered (${old.join(', ')} → ${now.join(', ')}); PostgreSQL can only add values to an enum`);
      }
      now.forEach((value, i) => {
        if (old.includes(value)) return;
        const place = i === 0 ? { before: now[1] } : { after: now[i - 1] };
        flag(
          { add_enum_value: { schema: schemaOf(b.name), type: relationName(b.name), value, ...place, acknowledge_irreversible: true } },
          `enum ${b.name} gets ${value}: PostgreSQL cannot remove it again, so a rollback leaves it (acknowledged here: check that is acceptable)`,
        );
      });
    }
  }

  // 2. New tables: columns and primary key; their other constraints and indexes go with everyone's, below, so that the referenced tables exist first.
  const identities: Array<{ column: string; identity: string }> = [];
  for (const t of added('table')) {
    for (const what of ['partitioned', 'unlogged', 'rowSecurity'] as const) if (t.attributes[what]) unmappable(t, `${what}: create_table makes a plain table`);
    const pk = children(desired, 'constraint', t.name).map((c) => ({ c, spec: constraintSpec(String(c.attributes.definition)) })).find((x) => x.spec?.type === 'primary_key');
    if (!pk) unmappable(t, 'has no primary key; bellows walks every table by its key');
    if (lastPart(pk.c.name, t.name) !== `${relationName(t.name)}_pkey`) unmappable(pk.c, `create_table names its primary key ${relationName(t.name)}_pkey`);
    const keyColumns = pk.spec!.columns;
    const columns = children(desired, 'column', t.name).map((c) => {
      const name = lastPart(c.name, t.name);
      for (const what of ['generated', 'collation'] as const) if (c.attributes[what]) unmappable(c, `${what}: create_table has no such column attribute; make the column plain, or add it by hand`);
      if (c.attributes.identity) identities.push({ column: name, identity: String(c.attributes.identity) });
      return { name, type: c.attributes.type, ...(c.attributes.notNull && !keyColumns.includes(name) ? { nullable: false } : {}), ...(c.attributes.default ? { default: c.attributes.default } : {}), ...(c.attributes.comment ? { comment: c.attributes.comment } : {}) };
    });
    // The snapshot keeps no column order: the key first, then by name.
    columns.sort((x, y) => Number(keyColumns.includes(y.name)) - Number(keyColumns.includes(x.name)) || (x.name < y.name ? -1 : 1));
    add({ create_table: { table: t.name, columns, primary_key: keyColumns, ...(t.attributes.comment ? { comment: t.attributes.comment } : {}) } });
    // create_table has no identity columns; on a table nobody uses yet, adding one costs nothing.
    for (const { column, identity } of identities.splice(0)) {
      const alter = `ALTER TABLE ${quoted(t.name)} ALTER COLUMN ${ident(column)}`;
      const why = `${t.name}.${column}: identity (${identity}), which create_table does not make: added by raw SQL to the new table`;
      flagged.push(why);
      ops.push(rawSql(`${alter} ADD GENERATED ${identity.toUpperCase()} AS IDENTITY`, `${alter} DROP IDENTITY IF EXISTS`, 'access_exclusive', why));
    }
  }
  for (const [a, b] of kept('table')) {
    const what = changed(a, b, leftAlone);
    if (what.includes('comment')) add({ sql: { up: `COMMENT ON TABLE ${quoted(liveNameOf(b.name))} IS ${commentText(b.attributes.comment)}`, rollback: `COMMENT ON TABLE ${quoted(liveNameOf(b.name))} IS ${commentText(a.attributes.comment)}`, lock: 'share_update_exclusive' } }, `table ${b.name}: comment`);
    const other = what.filter((w) => w !== 'comment');
    if (other.length) unmappable(b, `its ${other.join(', ')} changed, and no bellows operation changes that`);
  }

  // 3. Existing tables: renamed columns first (later operations name them by their new names), then dropped constraints and indexes, then columns.
  for (const [column, to] of renames.columns) {
    const table = column.slice(0, column.lastIndexOf('.'));
    add({ rename_column: { table, from: lastPart(column, table), to } }, `declared rename (--rename)`);
  }

  for (const [a, b] of kept('constraint')) {
    const what = changed(a, b, leftAlone);
    if (what.length) unmappable(b, `its ${what.join(', ')} changed (${a.attributes.definition} → ${b.attributes.definition}); drop it in one playbook and create it in the next`);
  }
  // A constraint of the same definition on the same table under another name is a rename (PostgreSQL keeps a constraint's name when its table is renamed).
  const renamedConstraints = new Set<string>();
  for (const c of removed('constraint').filter((c) => !goneTables.has(c.parent!.replace(/^table /, '')))) {
    const twin = added('constraint').find((n) => n.parent === c.parent && n.attributes.definition === c.attributes.definition && !renamedConstraints.has(n.name));
    if (!twin) continue;
    const table = c.parent!.replace(/^table /, '');
    renamedConstraints.add(c.name).add(twin.name);
    add({ rename_constraint: { table: liveNameOf(table), from: lastPart(c.name, table), to: lastPart(twin.name, table) } }, `constraint ${twin.name}: the same definition as ${c.name}, renamed`);
  }
  for (const c of removed('constraint').filter((c) => !goneTables.has(c.parent!.replace(/^table /, '')) && !renamedConstraints.has(c.name))) {
    const table = c.parent!.replace(/^table /, '');
    if (constraintSpec(String(c.attributes.definition))?.type === 'primary_key') unmappable(c, 'a primary key removed; bellows walks every table by its key and does not drop one');
    add({ drop_constraint: { table: liveNameOf(table), name: lastPart(c.name, table) } });
  }
  for (const [a, b] of kept('index')) {
    const what = changed(a, b, leftAlone).filter((w) => w !== 'valid');
    if (what.length && !ownedByConstraint(desired, b)) unmappable(b, `its ${what.join(', ')} changed; drop it in one playbook and create it in the next`);
  }
  for (const i of removed('index')) {
    const table = i.parent!.replace(/^table /, '');
    if (ownedByConstraint(live, i) || goneTables.has(table)) continue;
    if (!i.parent!.startsWith('table ')) unmappable(i, 'an index of a materialized view; replace_view keeps or drops them');
    add({ drop_index: { table: liveNameOf(table), name: relationName(i.name) } });
  }

  for (const [a, b] of kept('column')) {
    const table = b.parent!.replace(/^table /, '');
    const name = lastPart(b.name, table);
    const what = changed(a, b, leftAlone);
    if (what.length === 0) continue;
    for (const w of what) if (!['type', 'notNull', 'default', 'comment'].includes(w)) unmappable(b, `its ${w} changed, and alter_column does not change that`);
    const spec: Record<string, unknown> = { table: liveNameOf(table), column: name };
    const notes: string[] = [];
    if (what.includes('type')) {
      spec.type = b.attributes.type;
      spec.up = PLACEHOLDER;
      spec.down = PLACEHOLDER;
      notes.push(`type ${a.attributes.type} → ${b.attributes.type}: write up (old → new, e.g. ${name}::${b.attributes.type}) and down (new → old, e.g. ${name}::${a.attributes.type})`);
    }
    if (what.includes('notNull')) {
      spec.nullable = !b.attributes.notNull;
      if (b.attributes.notNull && !spec.up) {
        spec.up = PLACEHOLDER;
        spec.down = ident(name);
        notes.push(`NOT NULL: write up, the value rows with NULL get (e.g. coalesce(${name}, …))`);
      }
    }
    if (what.includes('default')) spec.default = b.attributes.default ?? null;
    if (what.includes('comment')) spec.comment = b.attributes.comment ?? null;
    if (notes.length) flag({ alter_column: spec }, `${b.name}: ${notes.join('; ')}`);
    else add({ alter_column: spec });
  }
  const droppedColumns = removed('column').filter((c) => !goneTables.has(c.parent!.replace(/^table /, '')));
  const addedColumns = added('column').filter((c) => !newTables.has(c.parent!.replace(/^table /, '')));
  for (const c of addedColumns) {
    const table = c.parent!.replace(/^table /, '');
    const name = lastPart(c.name, table);
    for (const what of ['generated', 'identity', 'collation'] as const) if (c.attributes[what]) unmappable(c, `${what}: add_column has no such column attribute`);
    if (c.attributes.comment) unmappable(c, 'a comment on a new column: add_column takes none; add the column, then set its comment with alter_column');
    const spec: Record<string, unknown> = { table: liveNameOf(table), name, type: c.attributes.type };
    if (c.attributes.notNull) spec.nullable = false;
    if (c.attributes.default) spec.default = c.attributes.default;
    const dropped = droppedColumns.filter((d) => d.parent === c.parent).map((d) => lastPart(d.name, table));
    const notes: string[] = [];
    if (c.attributes.notNull && !c.attributes.default) {
      spec.up = PLACEHOLDER;
      notes.push(`NOT NULL without a default: write up, the value existing rows get`);
    }
    if (dropped.length) notes.push(`added while ${dropped.join(', ')} is dropped: if that is a rename, declare it (--rename ${table}.${dropped[0]}=${name}), or the data is lost`);
    if (notes.length) flag({ add_column: spec }, `${c.name}: ${notes.join('; ')}`);
    else add({ add_column: spec });
  }
  for (const c of droppedColumns) {
    const table = c.parent!.replace(/^table /, '');
    const name = lastPart(c.name, table);
    const spec: Record<string, unknown> = { table: liveNameOf(table), column: name };
    const notes: string[] = [];
    if (c.attributes.notNull && !c.attributes.default) {
      spec.down = PLACEHOLDER;
      notes.push(`NOT NULL without a default: write down, the value rows the new application inserts get until contract`);
    }
    if (addedColumns.some((a) => a.parent === c.parent)) notes.push(`dropped while another column is added to the table: its data is lost at contract unless this is declared as a rename`);
    if (notes.length) flag({ drop_column: spec }, `${c.name}: ${notes.join('; ')}`);
    else add({ drop_column: spec });
  }

  // 4. Constraints and indexes of new and existing tables, once every table and column exists.
  for (const c of added('constraint').filter((c) => !goneTables.has(c.parent!.replace(/^table /, '')) && !renamedConstraints.has(c.name))) {
    const table = c.parent!.replace(/^table /, '');
    const name = lastPart(c.name, table);
    const definition = String(c.attributes.definition);
    const spec = constraintSpec(definition);
    if (spec?.type === 'primary_key') {
      if (newTables.has(table)) continue;
      unmappable(c, 'a primary key added to an existing table; bellows does not change a table\'s key');
    }
    if (c.attributes.comment) unmappable(c, 'has a comment; create_constraint takes none');
    if (spec) add({ create_constraint: { table: liveNameOf(table), name, ...spec } });
    else flagged.push(`constraint ${c.name}: raw SQL (${definition})`), ops.push(rawSql(`ALTER TABLE ${quoted(liveNameOf(table))} ADD CONSTRAINT ${ident(name)} ${definition}`, `ALTER TABLE ${quoted(liveNameOf(table))} DROP CONSTRAINT ${ident(name)}`, 'access_exclusive', `constraint ${c.name}: create_constraint cannot express ${definition}`));
  }
  const shadowedColumns = (table: string) =>
    ops.flatMap((o) => (o.operation.alter_column && o.operation.alter_column.up !== undefined && renamedTable(renames, String(o.operation.alter_column.table)) === table ? [String(o.operation.alter_column.column)] : []));
  for (const i of added('index')) {
    if (ownedByConstraint(desired, i)) continue;
    if (!i.parent!.startsWith('table ')) unmappable(i, 'an index of a materialized view; create_view (unique_index) or replace_view (indexes) makes those');
    if (i.attributes.comment) unmappable(i, 'has a comment; create_index takes none');
    const definition = String(i.attributes.definition);
    const spec = indexSpec(definition);
    const table = i.parent!.replace(/^table /, '');
    // An expression index is written over the table as it is at expand: over a column that alter_column replaces at contract, it would go with the old column.
    const shadowed = spec?.expressions ? shadowedColumns(table).filter((c) => spec.expressions!.some((e) => columnReferences(parseExpressionNode(e)).has(c))) : [];
    if (shadowed.length) {
      const why = `index ${i.name}: its expressions read ${shadowed.join(', ')}, which alter_column replaces at contract: built at contract, concurrently, by raw SQL`;
      flagged.push(why);
      ops.push(rawSql(definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY IF NOT EXISTS '), null, 'share_update_exclusive', why, { in_transaction: false }));
    } else if (spec) add({ create_index: { ...spec, table: liveNameOf(table), ...(spec.unique ? {} : { unique: undefined }), ...(spec.method === 'btree' ? { method: undefined } : {}) } });
    else {
      flagged.push(`index ${i.name}: raw SQL (${definition})`);
      ops.push(rawSql(definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY IF NOT EXISTS '), `DROP INDEX CONCURRENTLY IF EXISTS ${quoted(i.name)}`, 'share_update_exclusive', `index ${i.name}: create_index cannot express ${definition}`, { in_transaction: false }));
    }
  }

  // 5. Functions, then views (which may call them). bellows checks a view's query, and a SQL function's body, against the live
  // tables when the playbook is planned; one that reads a table this playbook creates or reshapes is created by raw SQL at
  // contract instead, once those tables have their final shape.
  const reshaping = new Set(['add_column', 'alter_column', 'drop_column', 'rename_column']);
  const reshaped = [
    ...newTables,
    ...[...renames.tables.keys()].map((t) => renamedTable(renames, t)),
    ...ops.flatMap((o) => Object.entries(o.operation).flatMap(([kind, spec]) => (reshaping.has(kind) ? [renamedTable(renames, String(spec.table))] : []))),
  ];
  const readsReshaped = (text: string) => reshaped.filter((t) => new RegExp(`\\b${t.replace('.', '\\.')}\\b`).test(text));
  const atContract = (object: SchemaObject, up: string, readsTables: string[]) => {
    const why = `${object.kind} ${object.name} reads ${readsTables.join(', ')}, which this playbook creates or changes: created at contract, by raw SQL`;
    flagged.push(why);
    ops.push(rawSql(up, null, object.kind === 'function' ? 'none' : 'access_exclusive', why));
  };
  for (const f of added('function')) {
    const { schema, name } = functionName(f.name);
    const definition = String(f.attributes.definition);
    const spec = functionSpec(definition, schema, name);
    const reads = spec?.language === 'sql' ? readsReshaped(spec.body) : [];
    if (spec && reads.length) atContract(f, definition, reads);
    else if (spec) add({ create_function: { ...spec, ...(spec.security_definer ? {} : { security_definer: undefined }), ...(f.attributes.comment ? { comment: f.attributes.comment } : {}) } });
    else {
      flagged.push(`function ${f.name}: raw SQL`);
      ops.push(rawSql(definition, `DROP FUNCTION ${functionSignature(f.name)}`, 'none', `function ${f.name}: create_function cannot express all of it`));
    }
  }
  for (const [a, b] of kept('function')) {
    const what = changed(a, b, leftAlone);
    if (what.length === 0) continue;
    if (what.some((w) => w !== 'definition')) unmappable(b, `its ${what.filter((w) => w !== 'definition').join(', ')} changed, and replace_function does not change that`);
    const { schema, name } = functionName(b.name);
    const old = functionSpec(String(a.attributes.definition), schema, name);
    const now = functionSpec(String(b.attributes.definition), schema, name);
    const reads = now?.language === 'sql' ? readsReshaped(now.body) : [];
    if (reads.length) atContract(b, String(b.attributes.definition), reads);
    else if (old && now && !old.security_definer && !now.security_definer) {
      const { security_definer: _, ...spec } = now;
      add({ replace_function: { ...spec, volatility: spec.volatility ?? 'volatile' } });
    } else {
      flagged.push(`function ${b.name}: raw SQL`);
      ops.push(rawSql(String(b.attributes.definition), String(a.attributes.definition), 'none', `function ${b.name}: replace_function cannot express all of it`));
    }
  }
  for (const kind of ['view', 'materialized view'] as const) {
    const materialized = kind === 'materialized view';
    const keyword = materialized ? 'MATERIALIZED VIEW' : 'VIEW';
    for (const v of added(kind)) {
      const options = (v.attributes.options as string[]) ?? [];
      const invoker = options.includes('security_invoker=true');
      if (options.some((o) => o !== 'security_invoker=true' && o !== 'security_invoker=false')) unmappable(v, `options ${options.join(', ')}: create_view sets only security_invoker`);
      const reads = readsReshaped(String(v.attributes.definition));
      if (reads.length) {
        if (v.attributes.comment) unmappable(v, 'has a comment, and reads tables this playbook changes; add the comment in a later playbook');
        atContract(v, `CREATE ${keyword} ${quoted(v.name)}${options.length ? ` WITH (${options.join(', ')})` : ''} AS ${v.attributes.definition}`, reads);
        continue;
      }
      add({
        create_view: {
          schema: schemaOf(v.name),
          name: relationName(v.name),
          query: v.attributes.definition,
          ...(materialized ? { materialized: true } : { security_invoker: invoker }),
          ...(v.attributes.comment ? { comment: v.attributes.comment } : {}),
        },
      });
    }
    for (const [a, b] of kept(kind)) {
      const what = changed(a, b, leftAlone);
      if (what.length === 0) continue;
      if (what.some((w) => w !== 'definition')) unmappable(b, `its ${what.filter((w) => w !== 'definition').join(', ')} changed, and replace_view changes only the query`);
      const reads = readsReshaped(String(b.attributes.definition));
      if (reads.length && materialized) unmappable(b, `reads ${reads.join(', ')}, which this playbook changes; replace it in a playbook of its own, after this one`);
      if (reads.length) atContract(b, `CREATE OR REPLACE VIEW ${quoted(b.name)} AS ${b.attributes.definition}`, reads);
      else add({ replace_view: { schema: schemaOf(b.name), name: relationName(b.name), query: b.attributes.definition } });
    }
  }

  // 6. Drops, dependants first: views, functions, tables; enums last.
  for (const kind of ['materialized view', 'view'] as const) {
    for (const v of removed(kind)) add({ drop_view: { schema: schemaOf(v.name), name: relationName(v.name), ...(kind === 'materialized view' ? { materialized: true } : {}) } });
  }
  for (const f of removed('function')) {
    const { schema, name, args } = functionName(f.name);
    add({ drop_function: { schema, name, args } });
  }
  for (const t of removed('table')) {
    if (newTables.size) flag({ drop_table: { table: t.name } }, `table ${t.name}: dropped while ${[...newTables].join(', ')} is created: if that is a rename, declare it (--rename ${t.name}=<new>), or its rows are lost`);
    else add({ drop_table: { table: t.name } });
  }
  for (const e of removed('enum')) ops.push(rawSql(`DROP TYPE ${quoted(e.name)}`, null, 'access_exclusive', `enum ${e.name}: no operation drops a type; it runs at contract, after the columns that use it are gone`));

  // 7. Table renames last: a playbook names a table by its old name until its rename.
  for (const [table, to] of renames.tables) add({ rename_table: { table, to } }, 'declared rename (--rename)');
  return { operations: ops.map((o) => ({ ...o, operation: withoutUndefined(o.operation) })), flagged, leftAlone };
}

function quoted(name: string): string {
  return name.split('.').map(ident).join('.');
}

function commentText(value: AttributeValue | undefined): string {
  return str(value) === undefined ? 'NULL' : literal(str(value)!);
}

/** `public.f(a text, b integer)` → its parts. */
function functionName(name: string): { schema: string; name: string; args: string } {
  const open = name.indexOf('(');
  const qualifiedName = name.slice(0, open);
  return { schema: schemaOf(qualifiedName), name: relationName(qualifiedName), args: name.slice(open + 1, -1) };
}

function functionSignature(name: string): string {
  const f = functionName(name);
  return `${ident(f.schema)}.${ident(f.name)}(${f.args})`;
}

function withoutUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function parseExpressionNode(text: string): unknown {
  const parsed = parseExpression(text);
  return 'error' in parsed ? null : parsed.node;
}
