import type pg from 'pg';
import { dollarQuotedBody, ident, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { ModelTable } from '../operations/model.ts';
import { REHEARSAL_SETTING } from '../operations/trigger.ts';
import { printableLine } from '../util/printable.ts';
import type { SchemaRehearsal } from './schema-rehearsal.ts';

/**
 * A rehearsal waits briefly for a lock and never runs long: it is a check, and
 * must not queue an application's queries behind it.
 */
export const REHEARSAL_TIMEOUTS = `SET LOCAL lock_timeout = '2s'; SET LOCAL statement_timeout = '30s'`;
/** PostgreSQL's MaxHeapAttributeNumber: dropped columns keep their slot until the table is rewritten. */
const MAX_COLUMNS = 1600;
/** The fields of an operation that hold SQL expressions, which a trigger's line may show. */
const EXPRESSION_FIELDS = ['up', 'down', 'default'];
/** Rows of the live table each trigger is fired on: enough to meet real data, few enough to read at once. */
const SAMPLE_ROWS = 50;

/** One operation's dual-write trigger function, as start would create it. */
export interface TriggerFunction {
  /** Where the operation stands in the playbook, for messages: `operations[2].alter_column`. */
  where: string;
  /** The operation's fields, to tell which expression a failing line holds. */
  spec: Record<string, unknown>;
  /** The function, quoted and schema-qualified. */
  qualifiedName: string;
  /** Its bare name, as an error's context shows it. */
  name: string;
  sql: string;
}

/**
 * Refuses what start would run into after its DDL began: too many columns for
 * the table, and trigger functions that do not compile or that raise on the
 * table's rows. Each table's functions are created as dual-write would create
 * them, attached to a temporary table of the run's shape, and fired by a sample
 * of the live rows as the old and the new application would write them. All in
 * one transaction that is always rolled back: the live table is only read.
 */
export async function rehearseDualWrite(
  db: pg.Pool,
  rehearsal: SchemaRehearsal,
  versionSchema: string,
  tables: Array<{ model: ModelTable; functions: TriggerFunction[] }>,
): Promise<void> {
  // A table the playbook creates has no rows and no columns yet to count or rehearse against.
  for (const table of tables) if (!table.model.created) await refuseTooManyColumns(db, table.model);
  if (!tables.some((t) => t.functions.length)) return;
  // After the DDL of the playbook's schema operations: a new column may have a type one of them makes.
  await rehearsal.within(async (client) => {
    for (const [n, table] of tables.entries()) {
      if (table.functions.length) await rehearseTable(client, versionSchema, table.model, table.functions, `_bellows_rehearsal_${n}`);
    }
  });
}

async function refuseTooManyColumns(client: pg.Pool, model: ModelTable): Promise<void> {
  const added = newColumns(model).length;
  if (added === 0) return;
  const { rows } = await client.query<{ slots: number }>(
    `SELECT count(*)::int AS slots FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0`,
    [qualified(model.ref)],
  );
  if (rows[0].slots + added > MAX_COLUMNS) {
    throw new InputError(
      `table ${model.ref.schema}.${model.ref.name}: this playbook adds ${added} columns to the ${rows[0].slots} it holds (dropped ones included, until a rewrite), over PostgreSQL's limit of ${MAX_COLUMNS}`,
    );
  }
}

/** Columns the run adds: new columns and shadow columns. */
function newColumns(model: ModelTable) {
  const existing = new Set(model.original.columns.map((c) => c.name));
  return model.columns.filter((c) => !existing.has(c.physical));
}

async function rehearseTable(client: pg.ClientBase, versionSchema: string, model: ModelTable, functions: TriggerFunction[], scratch: string) {
  const copy = `pg_temp.${ident(scratch)}`;
  const columns = model.original.columns.map((c) => ident(c.name)).join(', ');
  await client.query(`CREATE TEMP TABLE ${ident(scratch)} (LIKE ${qualified(model.ref)})`);
  for (const c of newColumns(model)) await client.query(`ALTER TABLE ${copy} ADD COLUMN ${ident(c.physical)} ${c.type}`);
  for (const [i, fn] of functions.entries()) {
    await refusing([fn], 'does not compile', () => client.query(fn.sql));
    await client.query(`CREATE TRIGGER ${ident(`${scratch}_${i}`)} BEFORE INSERT OR UPDATE ON ${copy} FOR EACH ROW EXECUTE FUNCTION ${fn.qualifiedName}()`);
  }
  await client.query(`SELECT set_config('${REHEARSAL_SETTING}', 'on', true)`);
  const order = model.original.key ? `ORDER BY ${model.original.key.columns.map((k) => ident(k.name)).join(', ')}` : '';
  const firstColumn = ident(model.original.columns[0].name);
  const fire = (sql: string) => refusing(functions, 'fails on a row of the table', () => client.query(sql));
  // The old application: the base table, in its old shape.
  await fire(`INSERT INTO ${copy} (${columns}) SELECT ${columns} FROM ${qualified(model.ref)} ${order} LIMIT ${SAMPLE_ROWS}`);
  await fire(`UPDATE ${copy} SET ${firstColumn} = ${firstColumn}`);
  // The new application: the version schema first on its search_path.
  const { rows } = await client.query<{ path: string }>(`SELECT current_setting('search_path') AS path`);
  await client.query(`CREATE SCHEMA ${ident(versionSchema)}`);
  await client.query(`SELECT set_config('search_path', $1, true)`, [`${ident(versionSchema)}, ${ident(model.ref.schema)}`]);
  await fire(`UPDATE ${copy} SET ${firstColumn} = ${firstColumn}`);
  await fire(`INSERT INTO ${copy} SELECT * FROM ${copy}`);
  await client.query(`SELECT set_config('search_path', $1, true)`, [rows[0].path]);
  await client.query(`DROP SCHEMA ${ident(versionSchema)}`);
}

/**
 * Runs `work`; a failure becomes one line naming the operation whose function
 * failed (the error's context names it; a statement may fire several) and, where
 * it can tell, the field. Nothing needs undoing: the whole rehearsal rolls back.
 */
async function refusing(functions: TriggerFunction[], what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const context = (err as { where?: string }).where ?? '';
    const fn = functions.find((f) => context.includes(`${f.name}(`)) ?? functions[0];
    const message = err instanceof Error ? err.message : String(err);
    const field = fieldOnLine(fn, context);
    throw new InputError(printableLine(`${fn.where}${field ? `.${field}` : ''}: its dual-write trigger ${what}: ${message}`));
  }
}

/** The expression field whose text is on the function's failing line, as PostgreSQL numbers the body's lines. */
function fieldOnLine(fn: TriggerFunction, context: string): string | null {
  const line = /line (\d+)/.exec(context)?.[1];
  if (!line) return null;
  const text = (dollarQuotedBody(fn.sql) ?? '').split('\n')[Number(line) - 1] ?? '';
  return EXPRESSION_FIELDS.find((field) => {
    const value = fn.spec[field];
    return typeof value === 'string' && value.trim() !== '' && text.includes(value.trim());
  }) ?? null;
}
