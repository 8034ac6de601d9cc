import type pg from 'pg';
import type { CompiledTable } from '../engine/compile.ts';
import type { KeyValue } from '../state/types.ts';
import { keyset, rowToKey, type Keyset } from './keyset.ts';

export interface KeyRange {
  lowerKey: KeyValue | null;
  upperKey: KeyValue | null;
  rowsEstimate: number;
}

const SAMPLE_ROWS = 10_000;
const ROW_SAMPLING_LIMIT = 2_000_000;
/** Below this, a range finishes sooner than a split would pay for itself. */
const MIN_SPLIT_ROWS = 1000;

/**
 * Page sampling (SYSTEM) reads only the sampled pages, which is what a large
 * table needs; but keys stored in order make whole pages fall into one range,
 * so on a smaller table row sampling (BERNOULLI, one cheap pass) splits better.
 */
function sampleMethod(totalRows: number): 'SYSTEM' | 'BERNOULLI' {
  return totalRows > ROW_SAMPLING_LIMIT ? 'SYSTEM' : 'BERNOULLI';
}

function samplePercent(totalRows: number): number {
  return Math.min(100, (100 * SAMPLE_ROWS) / Math.max(totalRows, 1));
}

/** The planner's estimate, or an exact count for a table never analyzed (small, or brand new). */
export async function estimateRows(db: pg.Pool, table: CompiledTable): Promise<number> {
  const ks = keyset(table.ref, table.key!);
  const { rows } = await db.query<{ n: number }>(
    `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass`,
    [ks.table],
  );
  if (rows[0] && rows[0].n >= 0) return rows[0].n;
  const count = await db.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${ks.table}`);
  return count.rows[0].n;
}

/** A sorted sample of the table's keys (optionally only those matching `where`), about SAMPLE_ROWS of the table. */
async function sampleKeys(db: pg.Pool, ks: Keyset, totalRows: number, where = 'true', params: unknown[] = []): Promise<KeyValue[]> {
  params.push(samplePercent(totalRows));
  const { rows } = await db.query(
    `SELECT ${ks.selectText} FROM ${ks.from} TABLESAMPLE ${sampleMethod(totalRows)} ($${params.length}) WHERE ${where} ORDER BY ${ks.orderBy}`,
    params,
  );
  return rows.map((r) => rowToKey(r, ks.width));
}

/**
 * Splits the key space into `parts` ranges of about equal row counts. The upper
 * end is the largest key that exists now: rows inserted later are the triggers'
 * job, which is what makes the backfill finish under any insert rate. Boundaries
 * come from a sample of the keys, so skewed keys (gaps, hot ranges, uuids)
 * split by rows, not by key arithmetic.
 */
export async function splitRanges(db: pg.Pool, table: CompiledTable, parts: number): Promise<KeyRange[]> {
  const ks = keyset(table.ref, table.key!);
  const last = await db.query(`SELECT ${ks.selectText} FROM ${ks.from} ORDER BY ${ks.orderByDesc} LIMIT 1`);
  if (last.rowCount === 0) return [];
  const upper = rowToKey(last.rows[0], ks.width);
  const total = await estimateRows(db, table);
  if (parts <= 1 || total < parts * 2) return [{ lowerKey: null, upperKey: upper, rowsEstimate: total }];

  const keys = await sampleKeys(db, ks, total);
  const bounds: KeyValue[] = [];
  for (let i = 1; i < parts; i++) {
    const candidate = keys[Math.floor((i * keys.length) / parts)];
    if (candidate && (bounds.length === 0 || JSON.stringify(candidate) !== JSON.stringify(bounds.at(-1)))) bounds.push(candidate);
  }
  const ranges: KeyRange[] = [];
  let lower: KeyValue | null = null;
  for (const bound of [...bounds, upper]) {
    ranges.push({ lowerKey: lower, upperKey: bound, rowsEstimate: total / (bounds.length + 1) });
    lower = bound;
  }
  return ranges;
}

/**
 * A key about halfway through the rows a range has left, from a sample of that
 * part of the key space; null when too few rows remain to be worth a split.
 * The row count is checked first: the scheduler asks again every few hundred
 * milliseconds while one small range finishes, and each sample reads the table.
 */
export async function middleKey(db: pg.Pool, table: CompiledTable, after: KeyValue | null, upper: KeyValue, remainingRows: number): Promise<KeyValue | null> {
  if (remainingRows < MIN_SPLIT_ROWS) return null;
  const ks = keyset(table.ref, table.key!);
  const params: unknown[] = [];
  const where = ks.between(after, upper, params);
  const keys = await sampleKeys(db, ks, await estimateRows(db, table), where, params);
  return keys.length < 2 ? null : keys[Math.floor(keys.length / 2)];
}

/** Whether `key` lies strictly between a range's checkpoint and its upper end, by the key's own ordering. */
export function keyBetween(table: CompiledTable, key: KeyValue) {
  const ks = keyset(table.ref, table.key!);
  return async (client: pg.ClientBase, lastKey: KeyValue | null, upperKey: KeyValue): Promise<boolean> => {
    const params: unknown[] = [];
    const lower = lastKey ? `${ks.bind(key, params)} > ${ks.bind(lastKey, params)}` : 'true';
    const upper = `${ks.bind(key, params)} < ${ks.bind(upperKey, params)}`;
    const { rows } = await client.query<{ ok: boolean }>(`SELECT (${lower}) AND (${upper}) AS ok`, params);
    return rows[0].ok === true;
  };
}
