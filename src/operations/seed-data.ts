import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { ident, literal, qualified, tableKey, type TableRef } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineOperation, type OpContext, type Probe } from './operation.ts';
import { requireColumn, where } from './validation.ts';
import { printableLine, shown } from '../util/printable.ts';

const SUMMARY = 'reference rows upserted by their key in expand; rollback removes the rows it added and restores the old values of those it changed';

/**
 * The rows each run replaces are kept in its plan to restore them on rollback:
 * reference data, not bulk loads.
 */
const MAX_ROWS = 10_000;

const value = z.union([z.string(), z.number(), z.boolean(), z.null()]).describe('A value as JSON; it is read as the column\'s type, as if written as a quoted literal');

const spec = z.strictObject({
  table: tableName,
  key: z.array(identifier).min(1).describe('The columns that identify a row: a primary key or unique index on exactly these'),
  rows: z
    .array(z.record(identifier, value))
    .min(1)
    .max(MAX_ROWS, `at most ${MAX_ROWS.toLocaleString('en')} rows in one operation: the plan keeps the rows they replace to restore them on rollback`)
    .describe('The rows, each giving the same columns, the key among them'),
});

type SeedSpec = z.infer<typeof spec>;
type Text = string | null;

/** What validate read: the physical columns in the order of `rows`, the rows as text, and the rows they replace as they are now. */
interface Found {
  columns: string[];
  key: string[];
  rows: Text[][];
  before: Text[][];
}

const KIND = 'seed_data';

/** JSON values as the text of a SQL literal: PostgreSQL reads it as the column's type. */
function asText(v: string | number | boolean | null): Text {
  return v === null ? null : String(v);
}

function tuple(values: Text[]): string {
  return `(${values.map((v) => (v === null ? 'NULL' : literal(v))).join(', ')})`;
}

/** Upserts `rows` by the key; a row already equal is left alone, so a repeat writes nothing. */
function upsert(table: TableRef, columns: string[], key: string[], rows: Text[][]): string {
  const others = columns.filter((c) => !key.includes(c)).map(ident);
  const onConflict = others.length
    ? `DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')} WHERE (${others.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${others.map((c) => `EXCLUDED.${c}`).join(', ')})`
    : 'DO NOTHING';
  return `INSERT INTO ${qualified(table)} AS t (${columns.map(ident).join(', ')}) VALUES ${rows.map(tuple).join(', ')} ON CONFLICT (${key.map(ident).join(', ')}) ${onConflict}`;
}

function keysOf(found: Found, rows: Text[][]): string {
  const at = found.key.map((k) => found.columns.indexOf(k));
  return rows.map((row) => tuple(at.map((i) => row[i]))).join(', ');
}

function seedAction(spec: SeedSpec, ctx: OpContext, found: Found): PlannedAction {
  return {
    id: `expand:${ctx.index}:seed_data`,
    sql: upsert(ctx.table.ref, found.columns, found.key, found.rows),
    lock: 'ROW EXCLUSIVE (rows of one batch)',
    note: `${found.rows.length} reference row(s) of ${ctx.table.versionName} by (${spec.key.join(', ')}): ${found.rows.length - found.before.length} new, ${found.before.length} existing (updated where they differ)`,
  };
}

/** Every row gives the same columns, the key among them, each a column that exists as it is now. */
function checkShape(spec: SeedSpec, ctx: OpContext): string[] {
  const columns = Object.keys(spec.rows[0]);
  const shape = [...columns].sort().join(', ');
  for (const [i, row] of spec.rows.entries()) {
    if (Object.keys(row).sort().join(', ') !== shape) {
      throw new InputError(`${where(ctx, KIND, `rows[${i}]`)}: gives (${Object.keys(row).join(', ')}) but rows[0] gives (${columns.join(', ')}); every row gives the same columns`);
    }
  }
  for (const [i, k] of spec.key.entries()) {
    if (!columns.includes(k)) throw new InputError(`${where(ctx, KIND, `key[${i}]`)}: the rows do not give key column "${k}"`);
  }
  return columns.map((name) => {
    const column = requireColumn(ctx, KIND, `rows[0].${name}`, name);
    // Its physical column is another one (an earlier operation changes it): seeding it now would miss the backfill's translation.
    if (column.physical !== name) throw new InputError(`${where(ctx, KIND, `rows[0].${name}`)}: column "${name}" is changed by an earlier operation of this playbook; seed it in a playbook of its own`);
    return name;
  });
}

function checkKey(spec: SeedSpec, ctx: OpContext, rows: Text[][], columns: string[]): void {
  if (new Set(spec.key).size !== spec.key.length) throw new InputError(`${where(ctx, KIND, 'key')}: a column is listed twice`);
  const wanted = [...spec.key].sort().join(', ');
  if (!ctx.table.uniqueKeys.some((k) => [...k].sort().join(', ') === wanted)) {
    throw new InputError(
      `${where(ctx, KIND, 'key')}: ${tableKey(ctx.table.ref)} has no primary key or unique index on exactly (${spec.key.join(', ')}); an upsert finds a row by one`,
    );
  }
  const at = spec.key.map((k) => columns.indexOf(k));
  const seen = new Map<string, number>();
  for (const [i, row] of rows.entries()) {
    const nullAt = at.find((c) => row[c] === null);
    if (nullAt !== undefined) {
      throw new InputError(`${where(ctx, KIND, `rows[${i}].${columns[nullAt]}`)}: a key column cannot be null (NULLs never conflict: the row would be added again on every run)`);
    }
    const text = JSON.stringify(at.map((c) => row[c]));
    const first = seen.get(text);
    if (first !== undefined) throw new InputError(`${where(ctx, KIND, `rows[${i}]`)}: the same key as rows[${first}]`);
    seen.set(text, i);
  }
}

/** Each value reads as its column's type: one probe per column, and per value only to name the row at fault. */
async function checkValues(ctx: OpContext, probe: Probe, rows: Text[][], columns: string[]): Promise<void> {
  for (const [c, name] of columns.entries()) {
    const { type, notNull } = ctx.table.columns.find((col) => col.name === name)!;
    const nullAt = notNull ? rows.findIndex((r) => r[c] === null) : -1;
    if (nullAt >= 0) throw new InputError(`${where(ctx, KIND, `rows[${nullAt}].${name}`)}: column "${name}" is NOT NULL`);
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

/**
 * Reference rows (plans, countries, feature flags) that the new version needs,
 * written in expand by one upsert on their key: running it again changes
 * nothing. Validate reads the rows it replaces, and the plan keeps them, so a
 * rollback deletes the rows it added and puts the old values back.
 */
export const seedData = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe): Promise<Found> {
    const columns = checkShape(spec, ctx);
    const rows = spec.rows.map((row) => columns.map((c) => asText(row[c])));
    checkKey(spec, ctx, rows, columns);
    await checkValues(ctx, probe, rows, columns);
    const key = spec.key;
    const keyTypes = key.map((k) => ({ name: k, type: ctx.table.columns.find((c) => c.name === k)!.type }));
    const at = key.map((k) => columns.indexOf(k));
    // A table this playbook creates has no rows yet.
    const before = ctx.table.created ? [] : await probe.rowsByKey(ctx.table.ref, keyTypes, rows.map((r) => at.map((i) => r[i]!)), columns);
    return { columns, key, rows, before };
  },

  expand: (spec, ctx, found) => [seedAction(spec, ctx, found)],

  rollback(spec, ctx, found) {
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
