import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { dollarQuoted, ident, literal, qualified, shortName, tableKey, type TableRef } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineOperation, type OpContext, type Probe, type SeedRows } from './operation.ts';
import { requireColumn, where } from './validation.ts';
import { printableLine, shown } from '../util/printable.ts';
import { physicalColumn } from './physical-names.ts';
import { asText, openSeedFile, seedFilePath, type SeedLine, type SeedValue } from './seed-file.ts';
import { seedRollback, seedRowMissing, upsertConflict } from '../backfill/seed-rows.ts';

const SUMMARY =
  'reference rows upserted by their key: `rows` in expand, or a JSON Lines `file` in batches through the backfill; verify checks every row is there as given; rollback removes the rows it added and restores the old values of those it changed';

/**
 * Inline rows: the rows each run replaces are kept in its plan to restore them
 * on rollback. More go in a file, whose replaced rows are kept in the state store.
 */
const MAX_ROWS = 10_000;

const value = z.union([z.string(), z.number(), z.boolean(), z.null()]).describe('A value as JSON; it is read as the column\'s type, as if written as a quoted literal');

const spec = z
  .strictObject({
    table: tableName,
    key: z.array(identifier).min(1).describe('The columns that identify a row: a primary key or unique index on exactly these'),
    rows: z
      .array(z.record(identifier, value))
      .min(1)
      .max(MAX_ROWS, `at most ${MAX_ROWS.toLocaleString('en')} rows in one operation: the plan keeps the rows they replace to restore them on rollback; give more as a file`)
      .optional()
      .describe('The rows, each giving the same columns, the key among them'),
    file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Instead of rows, any number of them: a JSON Lines file (one JSON object per line, values as in rows) relative to the playbook file and inside its directory, staged at start and upserted in batches through the backfill (throttled, resumable); the rows it replaces are kept in the state store for a rollback',
      ),
  })
  .refine((s) => (s.rows === undefined) !== (s.file === undefined), { message: 'give rows or file, one of the two', path: ['rows'] });

type SeedSpec = z.infer<typeof spec>;
type Text = string | null;

/** What validate read for inline rows: the physical columns in the order of `rows`, the rows as text, and the rows they replace as they are now. */
interface InlineRows {
  columns: string[];
  key: string[];
  rows: Text[][];
  before: Text[][];
}

/** What validate read of a file: all its walk needs. */
type Found = InlineRows | SeedRows;

const KIND = 'seed_data';

function tuple(values: Text[]): string {
  return `(${values.map((v) => (v === null ? 'NULL' : literal(v))).join(', ')})`;
}

/** Upserts `rows` by the key; a row already equal is left alone, so a repeat writes nothing. */
function upsert(table: TableRef, columns: string[], key: string[], rows: Text[][]): string {
  return `INSERT INTO ${qualified(table)} AS t (${columns.map(ident).join(', ')}) VALUES ${rows.map(tuple).join(', ')} ${upsertConflict(columns, key)}`;
}

function keysOf(found: InlineRows, rows: Text[][]): string {
  const at = found.key.map((k) => found.columns.indexOf(k));
  return rows.map((row) => tuple(at.map((i) => row[i]))).join(', ');
}

function seedAction(spec: SeedSpec, ctx: OpContext, found: InlineRows): PlannedAction {
  return {
    id: `expand:${ctx.index}:seed_data`,
    sql: upsert(ctx.table.ref, found.columns, found.key, found.rows),
    lock: 'ROW EXCLUSIVE (rows of one batch)',
    note: `${found.rows.length} reference row(s) of ${ctx.table.versionName} by (${spec.key.join(', ')}): ${found.rows.length - found.before.length} new, ${found.before.length} existing (updated where they differ)`,
  };
}

/**
 * The columns the rows give (the key among them), each a column of the new
 * version as the earlier operations leave it: its physical column is written,
 * which for a column renamed earlier in the playbook is its old one. A column an
 * earlier operation fills from others (a shadow column) is refused: the rows
 * would be overwritten by its translation.
 */
function checkColumns(spec: SeedSpec, ctx: OpContext, columns: string[], at: (column: string) => string): void {
  for (const [i, k] of spec.key.entries()) {
    if (!columns.includes(k)) throw new InputError(`${where(ctx, KIND, `key[${i}]`)}: the rows do not give key column "${k}"`);
  }
  for (const name of columns) {
    const column = requireColumn(ctx, KIND, at(name), name);
    const renamed = ctx.table.original.columns.some((c) => c.name === column.physical && c.type === column.type);
    if (column.physical !== name && !renamed) throw new InputError(`${where(ctx, KIND, at(name))}: column "${name}" is changed by an earlier operation of this playbook; seed it in a playbook of its own`);
  }
  if (new Set(spec.key).size !== spec.key.length) throw new InputError(`${where(ctx, KIND, 'key')}: a column is listed twice`);
  const wanted = spec.key.map((k) => physicalColumn(ctx, k)).sort().join(', ');
  if (!ctx.table.uniqueKeys.some((k) => [...k].sort().join(', ') === wanted)) {
    throw new InputError(
      `${where(ctx, KIND, 'key')}: ${tableKey(ctx.table.ref)} has no primary key or unique index on exactly (${spec.key.join(', ')}); an upsert finds a row by one`,
    );
  }
}

/** The columns of the first row, as every other row must give them, and how messages name that row. */
interface Shape {
  columns: string[];
  sorted: string;
  first: string;
}

/** A row gives the columns the first one gives, its key is set, and its NOT NULL columns are. `at(column?)` names the row (and the column) in a message. */
function checkRow(ctx: OpContext, spec: SeedSpec, row: Record<string, SeedValue>, shape: Shape, at: (column?: string) => string): void {
  const { columns } = shape;
  if (Object.keys(row).sort().join(', ') !== shape.sorted) {
    throw new InputError(printableLine(`${at()}: gives (${Object.keys(row).join(', ')}) but ${shape.first} gives (${columns.join(', ')}); every row gives the same columns`));
  }
  for (const k of spec.key) {
    if (row[k] === null) throw new InputError(`${at(k)}: a key column cannot be null (NULLs never conflict: the row would be added again on every run)`);
  }
  for (const name of columns) {
    if (row[name] === null && ctx.table.columns.find((c) => c.name === name)!.notNull) throw new InputError(`${at(name)}: column "${name}" is NOT NULL`);
  }
}

/** Inline rows: one key given twice is refused here; the values' types by the probe. */
function checkDuplicates(ctx: OpContext, spec: SeedSpec, rows: Text[][], columns: string[]): void {
  const at = spec.key.map((k) => columns.indexOf(k));
  const seen = new Map<string, number>();
  for (const [i, row] of rows.entries()) {
    const text = JSON.stringify(at.map((c) => row[c]));
    const first = seen.get(text);
    if (first !== undefined) throw new InputError(`${where(ctx, KIND, `rows[${i}]`)}: the same key as rows[${first}]`);
    seen.set(text, i);
  }
}

/** Each value reads as its column's type: one probe per column, and per value only to name the row at fault. */
async function checkValues(ctx: OpContext, probe: Probe, rows: Text[][], columns: string[]): Promise<void> {
  for (const [c, name] of columns.entries()) {
    const { type } = ctx.table.columns.find((col) => col.name === name)!;
    const values = [...new Set(rows.map((r) => r[c]).filter((v): v is string => v !== null))];
    if (values.length === 0) continue;
    if ((await probe.expressionError(`ARRAY[${values.map(literal).join(', ')}]`, [], `${type}[]`)) === null) continue;
    for (const [i, row] of rows.entries()) {
      if (row[c] === null) continue;
      const expression = literal(row[c]);
      const problem = await probe.expressionError(expression, [], type);
      // PostgreSQL's complaint names the value and the type; the probe's framing (an expression) does not fit a value.
      if (problem) throw new InputError(`${where(ctx, KIND, `rows[${i}].${name}`)}: ${printableLine(problem.replace(`invalid expression ${shown(expression, 60)}: `, ''), 200)}`);
    }
  }
}

async function validateRows(spec: SeedSpec, ctx: OpContext, probe: Probe, given: Array<Record<string, SeedValue>>): Promise<InlineRows> {
  const columns = Object.keys(given[0]);
  checkColumns(spec, ctx, columns, (name) => `rows[0].${name}`);
  const shape = { columns, sorted: [...columns].sort().join(', '), first: 'rows[0]' };
  given.forEach((row, i) => checkRow(ctx, spec, row, shape, (column) => where(ctx, KIND, column ? `rows[${i}].${column}` : `rows[${i}]`)));
  const rows = given.map((row) => columns.map((c) => asText(row[c])));
  checkDuplicates(ctx, spec, rows, columns);
  await checkValues(ctx, probe, rows, columns);
  const physical = columns.map((c) => physicalColumn(ctx, c));
  const key = spec.key.map((k) => physicalColumn(ctx, k));
  const keyTypes = key.map((k, i) => ({ name: k, type: ctx.table.columns.find((c) => c.name === spec.key[i])!.type }));
  const at = spec.key.map((k) => columns.indexOf(k));
  // A table this playbook creates has no rows yet.
  const before = ctx.table.created ? [] : await probe.rowsByKey(ctx.table.ref, keyTypes, rows.map((r) => at.map((i) => r[i]!)), physical);
  return { columns: physical, key, rows, before };
}

/**
 * Reads the file once, a chunk at a time: each line checked here as an inline
 * row would be, each value by PostgreSQL as its column's type, and no key given
 * twice; its rows are not kept. Start stages them again from the file, and
 * refuses a file whose digest is not the one read here.
 */
async function validateFile(spec: SeedSpec, ctx: OpContext, probe: Probe): Promise<SeedRows> {
  const atFile = where(ctx, KIND, 'file');
  const path = await seedFilePath(ctx.directory, spec.file!, atFile);
  const file = openSeedFile(path, atFile);
  const chunks = file.chunks();
  const first = await chunks.next();
  if (first.done) throw new InputError(`${atFile}: ${shown(spec.file, 80)} has no rows`);
  const columns = Object.keys(first.value[0].values);
  checkColumns(spec, ctx, columns, (name) => `file: line ${first.value[0].line}: "${name}"`);
  const shape = { columns, sorted: [...columns].sort().join(', '), first: `line ${first.value[0].line}` };
  const physical = new Map(columns.map((c) => [c, physicalColumn(ctx, c)]));
  let rows = 0;
  const checked = (chunk: SeedLine[]) => {
    rows += chunk.length;
    return chunk.map(({ line, values }) => {
      checkRow(ctx, spec, values, shape, (column) => `${atFile}: line ${line}${column ? `: "${column}"` : ''}`);
      return { line, row: Object.fromEntries(columns.map((c) => [physical.get(c)!, asText(values[c])])) };
    });
  };
  async function* all() {
    yield checked(first.value as SeedLine[]);
    for await (const chunk of chunks) yield checked(chunk);
  }
  const types = columns.map((c) => ({ name: physical.get(c)!, type: ctx.table.columns.find((m) => m.name === c)!.type }));
  const key = spec.key.map((k) => physical.get(k)!);
  const problem = await probe.seedRowsProblem(types, key, all());
  if (problem) {
    const column = problem.column && columns.find((c) => physical.get(c) === problem.column);
    throw new InputError(printableLine(`${atFile}: line ${problem.line}${column ? `: "${column}"` : ''}: ${problem.message}`, 300));
  }
  return {
    seed: {
      into: ctx.table.ref,
      staging: { schema: ctx.stateSchema, name: shortName('seed', ctx.playbook, String(ctx.index)) },
      file: path,
      digest: file.digest(),
      rows,
      columns: columns.map((name) => ({ name, physical: physical.get(name)! })),
      key,
    },
  };
}

const fromFile = (found: Found): found is SeedRows => 'seed' in found;

/** Rows verify reads per statement: each by its key, so a statement reads at most this many rows. */
const VERIFY_ROWS = 1000;

/**
 * Verify: every row is in the table as the playbook gives it (a write after expand
 * may have changed or deleted it), read by key, a batch of rows per statement; the
 * first that is not stops the run, naming it and its key.
 */
function verifyRows(ctx: OpContext, found: InlineRows): PlannedAction[] {
  const keyAt = found.key.map((k) => found.columns.indexOf(k));
  const message = literal(`${where(ctx, KIND, 'rows[%]')}: the row of key (%) is not in ${tableKey(ctx.table.ref)} as given`);
  const actions: PlannedAction[] = [];
  for (let first = 0; first < found.rows.length; first += VERIFY_ROWS) {
    const values = found.rows.slice(first, first + VERIFY_ROWS).map((row, i) => {
      const image = Object.fromEntries(found.columns.map((c, j) => [c, row[j]]));
      return `(${first + i}, ${literal(keyAt.map((at) => row[at]).join(', '))}, ${literal(JSON.stringify(image))}::jsonb)`;
    });
    const r = `jsonb_populate_record(NULL::${qualified(ctx.table.ref)}, v.row)`;
    actions.push({
      id: `verify:${ctx.index}:seed_data:${first / VERIFY_ROWS}`,
      // The values are the playbook's: quoted by a tag none of them contains.
      sql: `DO ${dollarQuoted(`DECLARE i int; k text; BEGIN
  SELECT v.i, v.k INTO i, k FROM (VALUES ${values.join(', ')}) v(i, k, row) WHERE ${seedRowMissing(ctx.table.ref, found.columns, found.key, r)} ORDER BY v.i LIMIT 1;
  IF FOUND THEN RAISE EXCEPTION ${message}, i, k; END IF;
END`)}`,
      lock: 'ACCESS SHARE (reads only)',
      note: `rows ${first}–${Math.min(first + VERIFY_ROWS, found.rows.length) - 1} are in ${ctx.table.versionName} as given`,
    });
  }
  return actions;
}

function dropStaging(found: SeedRows, id: string): PlannedAction {
  return {
    id,
    sql: `DROP TABLE IF EXISTS ${qualified(found.seed.staging)}`,
    lock: 'none',
    note: 'drop the staged rows of the seed file, and the rows they replaced',
  };
}

/**
 * Reference rows (plans, countries, feature flags) that the new version needs,
 * upserted on their key: running it again changes nothing. Inline rows are
 * written in expand by one upsert; validate reads the rows they replace, and
 * the plan keeps them for a rollback. A file's rows, any number of them, are
 * staged at start in the state store and upserted by the backfill, batch by
 * batch (throttled, resumable from its checkpoint), each batch keeping the
 * rows it replaces beside its lines in the state store, in its transaction.
 * Either way a rollback deletes the rows the seed added and puts back the old
 * values of those it changed.
 */
export const seedData = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),
  files: (spec) => (spec.file === undefined ? [] : [spec.file]),

  async validate(spec, ctx, probe): Promise<Found> {
    return spec.file === undefined ? validateRows(spec, ctx, probe, spec.rows!) : validateFile(spec, ctx, probe);
  },

  expand: (spec, ctx, found) => (fromFile(found) ? [] : [seedAction(spec, ctx, found)]),

  backfill: (_spec, _ctx, found) => (fromFile(found) ? [found] : []),

  // A file's lines are checked as verify walks their staging table (backfill/seed-rows.ts: seedCheck).
  verify: (_spec, ctx, found) => ({ checks: [], actions: fromFile(found) ? [] : verifyRows(ctx, found) }),

  contract: (_spec, ctx, found) => (fromFile(found) ? [dropStaging(found, `contract:${ctx.index}:seed_data:staging`)] : []),

  rollback(spec, ctx, found) {
    if (fromFile(found)) {
      return [
        {
          id: `rollback:${ctx.index}:seed_data:restore`,
          sql: seedRollback(found.seed),
          lock: 'ROW EXCLUSIVE (rows of one batch)',
          note: `remove the rows the seed added to ${tableKey(found.seed.into)} and put back those it replaced, from the state store, one transaction per 1,000 lines`,
          // It commits batch by batch: outside any transaction, and safe to repeat.
          concurrent: true,
        },
        dropStaging(found, `rollback:${ctx.index}:seed_data:staging`),
      ];
    }
    const table = qualified(ctx.table.ref);
    const key = `(${found.key.map(ident).join(', ')})`;
    const existed = found.before.length ? ` AND ${key} NOT IN (${keysOf(found, found.before)})` : '';
    const undoes = seedAction(spec, ctx, found);
    const steps: PlannedAction[] = [];
    if (found.before.length < found.rows.length) {
      steps.push({
        id: `rollback:${ctx.index}:seed_data:delete`,
        sql: `DELETE FROM ${table} WHERE ${key} IN (${keysOf(found, found.rows)})${existed}`,
        lock: 'ROW EXCLUSIVE (rows of one batch)',
        note: 'remove the rows the seed added',
        undoes,
      });
    }
    if (found.before.length) {
      steps.push({
        id: `rollback:${ctx.index}:seed_data:restore`,
        sql: upsert(ctx.table.ref, found.columns, found.key, found.before),
        lock: 'ROW EXCLUSIVE (rows of one batch)',
        note: 'put back the values the seed replaced',
        undoes,
      });
    }
    return steps;
  },
});

