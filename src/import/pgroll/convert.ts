import YAML from 'yaml';
import type { z } from 'zod';
import { InputError } from '../../errors.ts';
import { formatPath, parsePlaybookText, playbookChecksum } from '../../playbook/load.ts';
import { playbookSchema, type Playbook } from '../../playbook/schema.ts';
import { shown } from '../../util/printable.ts';
import type { BellowsOperation } from './bellows-operation.ts';
import { convertAlterColumn } from './alter-column.ts';
import { convertCreateTable } from './create-table.ts';
import { columnItself, isLoneColumn, keepsValues, onDelete, refuseForeignKeyExtras, requireValuesKept } from './constraints.ts';
import { PGROLL_KINDS, PGROLL_OPERATIONS, pgrollMigration, type PgrollKind, type PgrollSpec } from './format.ts';
import { field, refuse, Refusal } from './refusal.ts';
import { inSchema, PGROLL_DEFAULT_SCHEMA } from './schema.ts';
import { loadSqlParser, transactionality, type Transactionality } from './sql-statements.ts';

/**
 * What earlier migrations of the same import tell a later one: pgroll's
 * drop_index names only the index, bellows' needs its table too.
 */
export class ImportState {
  readonly indexTables = new Map<string, string>();
  /** The schema the migrations are relative to (pgroll's --schema). */
  constructor(readonly schema: string = PGROLL_DEFAULT_SCHEMA) {}
}

type Converter<K extends PgrollKind> = (spec: PgrollSpec<K>, state: ImportState) => BellowsOperation;

function indexColumns(columns: PgrollSpec<'create_index'>['columns']): string[] {
  const elements = Array.isArray(columns) ? columns : Object.entries(columns).map(([column, settings]) => ({ column, ...settings }));
  return elements.map((element, i) => {
    if (typeof element === 'string') return element;
    const setting = (['collate', 'opclass', 'sort', 'nulls'] as const).find((k) => element[k] !== undefined);
    if (setting) refuse(`columns[${i}].${setting}`, `pgroll's index element "${setting}" is not supported by bellows' create_index yet`);
    return element.column;
  });
}

/**
 * pgroll's per-column `up`/`down` of create_constraint: none when every one keeps
 * its column's values (the constraint goes on the columns as they are), else one
 * for each constrained column (pgroll's default is the column itself), and the
 * columns go through shadow columns that `up` repairs.
 */
function repairs(spec: PgrollSpec<'create_constraint'>): { up?: Record<string, string>; down?: Record<string, string> } {
  const keeps = (map: Record<string, string> | undefined) => Object.entries(map ?? {}).every(([column, expression]) => keepsValues(expression, column));
  if (keeps(spec.up) && keeps(spec.down)) return {};
  const each = (map: Record<string, string> | undefined) => Object.fromEntries(spec.columns.map((c) => [c, map?.[c] || columnItself(c)]));
  for (const direction of ['up', 'down'] as const) {
    const other = Object.keys(spec[direction] ?? {}).find((c) => !spec.columns.includes(c));
    if (other) refuse(`${direction}.${other}`, `"${other}" is not one of the constraint's columns`);
  }
  return { up: each(spec.up), down: each(spec.down) };
}

/** Every pgroll operation kind, and what it becomes in bellows (or why it cannot). */
const CONVERTERS: { [K in PgrollKind]: Converter<K> } = {
  create_table: (spec) => convertCreateTable(spec),
  rename_table: (spec, state) => {
    for (const [index, table] of state.indexTables) if (table === spec.from) state.indexTables.set(index, spec.to);
    return { rename_table: { table: spec.from, to: spec.to } };
  },
  drop_table: (spec, state) => {
    for (const [index, table] of state.indexTables) if (table === spec.name) state.indexTables.delete(index);
    return { drop_table: { table: spec.name } };
  },
  add_column: (spec) => {
    const c = spec.column;
    const extra = (['pk', 'unique', 'check', 'references', 'generated', 'comment'] as const).find((k) => c[k] !== undefined && c[k] !== false);
    if (extra) refuse(`column.${extra}`, `pgroll's "${extra}" on a new column is not supported by bellows' add_column yet`);
    return {
      add_column: {
        table: spec.table,
        name: c.name,
        type: c.type,
        ...(c.nullable ? {} : { nullable: false }),
        ...(c.default !== undefined ? { default: c.default } : {}),
        ...(spec.up ? { up: spec.up } : {}),
      },
    };
  },
  drop_column: (spec) => ({ drop_column: { table: spec.table, column: spec.column, ...(spec.down ? { down: spec.down } : {}) } }),
  rename_column: (spec) => ({ rename_column: { table: spec.table, from: spec.from, to: spec.to } }),
  alter_column: (spec) => convertAlterColumn(spec),
  create_index: (spec, state) => {
    if (spec.method === 'spgist') refuse('method', `"spgist" is not supported by bellows' create_index yet`);
    if (spec.storage_parameters) refuse('storage_parameters', `pgroll's "storage_parameters" is not supported by bellows' create_index yet`);
    const columns = indexColumns(spec.columns);
    state.indexTables.set(spec.name, spec.table);
    return {
      create_index: {
        table: spec.table,
        name: spec.name,
        columns,
        ...(spec.unique ? { unique: true } : {}),
        ...(spec.method && spec.method !== 'btree' ? { method: spec.method } : {}),
        ...(spec.predicate ? { where: spec.predicate } : {}),
      },
    };
  },
  drop_index: (spec, state) => {
    const table = state.indexTables.get(spec.name);
    if (!table) refuse('name', `pgroll's drop_index names no table, and no earlier migration of this import creates index "${spec.name}"; bellows' drop_index needs the table`);
    state.indexTables.delete(spec.name);
    return { drop_index: { table, name: spec.name } };
  },
  create_constraint: (spec) => {
    if (spec.type === 'primary_key') refuse('type', `bellows does not add a primary key to an existing table`);
    const extra = (['no_inherit', 'index_parameters'] as const).find((k) => spec[k]);
    if (extra) refuse(extra, `pgroll's "${extra}" is not supported by bellows' create_constraint yet`);
    const base = { table: spec.table, name: spec.name, type: spec.type, columns: spec.columns };
    const repaired = repairs(spec);
    if (spec.type === 'check') return { create_constraint: { ...base, ...(spec.check !== undefined ? { check: spec.check } : {}), ...repaired } };
    if (spec.type === 'unique') return { create_constraint: { ...base, ...repaired } };
    if (!spec.references) refuse('references', 'a foreign key needs "references"');
    refuseForeignKeyExtras(spec.references, 'references');
    const action = onDelete(spec.references.on_delete);
    return {
      create_constraint: { ...base, references: { table: spec.references.table, columns: spec.references.columns }, ...(action ? { on_delete: action } : {}), ...repaired },
    };
  },
  drop_constraint: (spec) => {
    for (const direction of ['up', 'down'] as const) {
      if (!isLoneColumn(spec[direction])) refuse(direction, `pgroll rewrites the column's values here; bellows' drop_constraint does not rewrite rows`);
    }
    return { drop_constraint: { table: spec.table, name: spec.name } };
  },
  drop_multicolumn_constraint: (spec) => {
    requireValuesKept(spec.up, spec.down, 'drop_constraint');
    return { drop_constraint: { table: spec.table, name: spec.name } };
  },
  rename_constraint: (spec) => ({ rename_constraint: { table: spec.table, from: spec.from, to: spec.to } }),
  set_replica_identity: () => refuse('', 'bellows has no operation for a replica identity yet'),
  sql: (spec) => {
    const up = transactionality(spec.up, 'up');
    // pgroll declares no lock: the strongest one is the honest guess, and `plan` shows it; CONCURRENTLY says which it is.
    const lock = up.lock ?? 'access_exclusive';
    if (spec.onComplete) {
      if (spec.down) refuse('down', `pgroll's "down" with "onComplete: true": SQL run at contract is never rolled back`);
      return { sql: { up: spec.up, lock, phase: 'contract', ...outsideTransaction(up) } };
    }
    if (!spec.down) refuse('down', `required: pgroll's sql runs at start, and bellows must be able to roll SQL run before contract back (or give "onComplete: true")`);
    // bellows runs up and its rollback alike: outside a transaction block if either must be.
    const down = transactionality(spec.down, 'down');
    return { sql: { up: spec.up, rollback: spec.down, lock, ...outsideTransaction(up.concurrent ? up : down) } };
  },
};

/** `in_transaction: false` for a statement PostgreSQL refuses in a transaction block (pgroll runs each outside one). */
function outsideTransaction(found: Transactionality): { in_transaction?: false } {
  return found.concurrent ? { in_transaction: false } : {};
}

/** One pgroll migration to convert: where it comes from (for messages), its name if nothing inside names it, its body. */
export interface PgrollSource {
  source: string;
  defaultName: string;
  document: unknown;
}

export interface ConvertedPlaybook {
  source: string;
  pgrollName: string;
  /** The YAML written to `<name>.yaml`. */
  text: string;
  playbook: Playbook;
  checksum: string;
}

function firstIssue(error: z.ZodError, prefix: Array<string | number>): string {
  const issue = error.issues[0];
  return `${formatPath([...prefix, ...issue.path])}: ${issue.message}`;
}

function convertOperation(raw: unknown, index: number, state: ImportState): BellowsOperation {
  const at = `operations[${index}]`;
  const keys = raw && typeof raw === 'object' && !Array.isArray(raw) ? Object.keys(raw) : [];
  if (keys.length !== 1) throw new InputError(`${at}: an operation is a mapping with exactly one key, its kind`);
  const kind = keys[0];
  if (!PGROLL_KINDS.includes(kind as PgrollKind)) throw new InputError(`${at}: ${shown(kind)} is not a pgroll operation`);
  const parsed = PGROLL_OPERATIONS[kind as PgrollKind].safeParse((raw as Record<string, unknown>)[kind]);
  if (!parsed.success) throw new InputError(firstIssue(parsed.error, ['operations', index, kind]));
  try {
    return inSchema((CONVERTERS[kind as PgrollKind] as Converter<PgrollKind>)(parsed.data, state), state.schema);
  } catch (err) {
    if (err instanceof Refusal) throw new InputError(`${at}.${field(kind, err.at)}: ${err.message}`);
    throw err;
  }
}

/** pgroll's name, lowercased: bellows' names are lowercase; anything else that does not fit is refused, not mangled. */
function bellowsName(pgrollName: string): string {
  const name = pgrollName.toLowerCase();
  if (!playbookSchema.shape.name.safeParse(name).success) {
    throw new InputError(`name ${shown(pgrollName)} cannot become a bellows playbook name (lowercase letters, digits and _, at most 50)`);
  }
  return name;
}

/** The converted playbook must load as any playbook does; otherwise bellows' own reason is the refusal. */
function loaded(text: string): Playbook {
  const probe = 'converted.yaml';
  try {
    return parsePlaybookText(text, probe);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`bellows refuses the converted playbook: ${err.message.slice(probe.length + 2)}`);
    throw err;
  }
}

function convertBody(source: PgrollSource, state: ImportState): ConvertedPlaybook {
  const parsed = pgrollMigration.safeParse(source.document);
  if (!parsed.success) throw new InputError(firstIssue(parsed.error, []));
  const pgrollName = parsed.data.name ?? source.defaultName;
  const name = bellowsName(pgrollName);
  if (parsed.data.version_schema !== undefined && parsed.data.version_schema !== name) {
    throw new InputError(`version_schema: bellows names the version schema after the playbook (${shown(name)}); ${shown(parsed.data.version_schema)} cannot be kept`);
  }
  const operations = parsed.data.operations.map((op, i) => convertOperation(op, i, state));
  const document = { name, description: `Imported from pgroll migration ${pgrollName}.`, operations };
  const text = YAML.stringify(document, { lineWidth: 0 });
  const playbook = loaded(text);
  return { source: source.source, pgrollName, text, playbook, checksum: playbookChecksum(playbook) };
}

/** One migration, or one line saying why not: `import: <source>: <where>: <why>`. */
export function convertMigration(source: PgrollSource, state: ImportState): ConvertedPlaybook {
  try {
    return convertBody(source, state);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`import: ${source.source}: ${err.message}`);
    throw err;
  }
}

/** Migrations in order, each seeing what the earlier ones created; `schema` is the one they are relative to. */
export async function convertMigrations(sources: PgrollSource[], schema = PGROLL_DEFAULT_SCHEMA): Promise<ConvertedPlaybook[]> {
  await loadSqlParser();
  const state = new ImportState(schema);
  return sources.map((s) => convertMigration(s, state));
}
