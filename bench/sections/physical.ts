import { ident, qualified } from '../../src/db/sql.ts';
import { backfillStatements, columnFills } from '../../src/backfill/backfill-work.ts';
import type { CompiledTable } from '../../src/engine/compile.ts';
import { benchPool, PGBENCH_TABLES, type BenchDatabases, type Dataset } from '../lib/bench-db.ts';
import { expandAndDualWrite, expandOnly, fillTargetOf } from '../lib/bellows.ts';
import { requireFilled } from '../lib/check.ts';

export interface PhysicalResult {
  rows: number;
  ms: number;
  rowsPerSec: number;
  /** WAL the statement wrote, from the insert position before BEGIN to after COMMIT (the server is otherwise idle). */
  walBytes?: number;
}

/**
 * One UPDATE of the whole table, timed to its COMMIT. The statement text is a
 * backfill batch's own (every new column set from the old ones) over every key.
 * `stepAside` marks the transaction as a backfill's, as a batch marks it, so a
 * dual-write trigger's WHEN clause skips it. The WAL it wrote is read around the
 * timed part: it shows what a trigger costs even when its WHEN clause is false
 * (PostgreSQL locks each row, one more WAL record, before it evaluates WHEN).
 */
async function timeWholeTableUpdate(url: string, table: CompiledTable, stepAside: boolean): Promise<PhysicalResult> {
  const pool = benchPool(url, 1);
  const client = await pool.connect();
  try {
    const before = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    await client.query('BEGIN');
    if (stepAside) await client.query(`SELECT set_config('bellows.backfill', 'on', true)`);
    const started = performance.now();
    const result = await client.query(backfillStatements(table, 'true')[0]);
    await client.query('COMMIT');
    const ms = performance.now() - started;
    const wal = await client.query<{ bytes: number }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8 AS bytes', [before.rows[0].lsn]);
    const rows = result.rowCount ?? 0;
    return { rows, ms, rowsPerSec: (rows * 1000) / ms, walBytes: wal.rows[0].bytes };
  } finally {
    client.release();
    await pool.end();
  }
}

/**
 * The physical limit: one bare UPDATE of the whole table after bellows' expand
 * step (the shadow column exists, so the UPDATE writes the same row width as a
 * batch) and before its dual-write step, so no trigger is on the table at all.
 * Every throughput ratio of the report is against this figure (on pgbench's
 * tables; the skewed-key section also measures it on its own table).
 */
export async function bareUpdate(dbs: BenchDatabases, scale: number, playbookPath: string, dataset: Dataset = PGBENCH_TABLES): Promise<PhysicalResult> {
  const url = await dbs.fresh(scale, dataset);
  const { table } = await expandOnly(url, playbookPath);
  const pool = benchPool(url, 1);
  try {
    // Bare means bare: checked, not assumed, in case expand ever installs a trigger.
    // (Internal triggers, those of foreign keys, are not counted: the bench's tables have none.)
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`,
      [qualified(table.ref)],
    );
    if (rows[0].n !== 0) throw new Error(`${table.name} has ${rows[0].n} trigger(s) after expand alone; the UPDATE would not be bare`);
  } finally {
    await pool.end();
  }
  await dbs.checkpoint();
  return timeWholeTableUpdate(url, table, false);
}

/**
 * A reference beside the limit: the same UPDATE with bellows' dual-write trigger
 * in place and told to step aside exactly as a batch tells it, so the
 * difference to the bare UPDATE is what the trigger's presence costs.
 */
export async function triggeredUpdate(dbs: BenchDatabases, scale: number, playbookPath: string): Promise<PhysicalResult> {
  const url = await dbs.fresh(scale);
  const { table } = await expandAndDualWrite(url, playbookPath);
  await dbs.checkpoint();
  return timeWholeTableUpdate(url, table, true);
}

/** A keyset loop in PL/pgSQL committing every `step` rows: the best a batched backfill can do without leaving the server. */
function keysetProcedure(table: CompiledTable, step: number): string {
  const key = table.key![0];
  const k = ident(key.name);
  const t = qualified(table.ref);
  const sets = columnFills(table.backfill).map((b) => `${ident(b.column)} = (${b.expression})`).join(', ');
  return `CREATE PROCEDURE pg_temp.bench_keyset_backfill() LANGUAGE plpgsql AS $bench$
DECLARE
  last_key ${key.type};
  upper_key ${key.type};
  max_key ${key.type};
BEGIN
  PERFORM set_config('bellows.backfill', 'on', false);
  SELECT min(${k}), max(${k}) INTO last_key, max_key FROM ${t};
  IF max_key IS NULL THEN RETURN; END IF;
  -- The first batch includes the smallest key.
  UPDATE ${t} SET ${sets} WHERE ${k} = last_key;
  LOOP
    SELECT ${k} INTO upper_key FROM ${t} WHERE ${k} > last_key ORDER BY ${k} OFFSET ${step - 1} LIMIT 1;
    IF upper_key IS NULL THEN upper_key := max_key; END IF;
    UPDATE ${t} SET ${sets} WHERE ${k} > last_key AND ${k} <= upper_key;
    COMMIT;
    EXIT WHEN upper_key >= max_key;
    last_key := upper_key;
  END LOOP;
END $bench$`;
}

export async function keysetLoop(dbs: BenchDatabases, scale: number, playbookPath: string, step = 10_000): Promise<PhysicalResult> {
  const url = await dbs.fresh(scale);
  const { table } = await expandAndDualWrite(url, playbookPath);
  if (table.key?.length !== 1) throw new Error('the in-database loop needs a one-column key');
  // Two connections: the loop's session, and one for the check after it.
  const pool = benchPool(url, 2);
  const client = await pool.connect();
  try {
    // pg_temp: created per session, so it can never outlive the measurement.
    await client.query(keysetProcedure(table, step));
    await dbs.checkpoint();
    const started = performance.now();
    await client.query('CALL pg_temp.bench_keyset_backfill()');
    const ms = performance.now() - started;
    const rows = await requireFilled(pool, fillTargetOf(table), 'the keyset loop');
    return { rows, ms, rowsPerSec: (rows * 1000) / ms };
  } finally {
    client.release();
    await pool.end();
  }
}
