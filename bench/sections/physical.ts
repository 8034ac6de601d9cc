import { ident, qualified } from '../../src/db/sql.ts';
import { backfillStatement } from '../../src/backfill/backfill-work.ts';
import type { CompiledTable } from '../../src/engine/compile.ts';
import { benchPool, type BenchDatabases } from '../lib/bench-db.ts';
import { expandAndDualWrite } from '../lib/bellows.ts';

export interface PhysicalResult {
  rows: number;
  ms: number;
  rowsPerSec: number;
}

/**
 * The physical limit: one UPDATE of the whole table, with bellows' shadow column
 * and dual-write trigger in place and the trigger told to step aside exactly as
 * a batch tells it. The statement text is the batch's own, over every key.
 */
export async function singleStatement(dbs: BenchDatabases, scale: number, playbookPath: string): Promise<PhysicalResult> {
  const url = await dbs.fresh(scale);
  const { table } = await expandAndDualWrite(url, playbookPath);
  await dbs.checkpoint();
  const pool = benchPool(url, 1);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('bellows.backfill', 'on', true)`);
    const started = performance.now();
    const result = await client.query(backfillStatement(table, 'true'));
    await client.query('COMMIT');
    const ms = performance.now() - started;
    const rows = result.rowCount ?? 0;
    return { rows, ms, rowsPerSec: (rows * 1000) / ms };
  } finally {
    client.release();
    await pool.end();
  }
}

/** A keyset loop in PL/pgSQL committing every `step` rows: the best a batched backfill can do without leaving the server. */
function keysetProcedure(table: CompiledTable, step: number): string {
  const key = table.key![0];
  const k = ident(key.name);
  const t = qualified(table.ref);
  const sets = table.backfill.map((b) => `${ident(b.column)} = (${b.expression})`).join(', ');
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
  const pool = benchPool(url, 1);
  const client = await pool.connect();
  try {
    // pg_temp: created per session, so it can never outlive the measurement.
    await client.query(keysetProcedure(table, step));
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${qualified(table.ref)}`);
    await dbs.checkpoint();
    const started = performance.now();
    await client.query('CALL pg_temp.bench_keyset_backfill()');
    const ms = performance.now() - started;
    const done = await client.query<{ n: number }>(
      `SELECT count(*)::float8 AS n FROM ${qualified(table.ref)} WHERE ${ident(table.backfill[0].column)} IS NOT DISTINCT FROM (${table.backfill[0].expression})`,
    );
    if (done.rows[0].n !== rows[0].n) throw new Error(`the keyset loop left ${rows[0].n - done.rows[0].n} rows without the new value`);
    return { rows: rows[0].n, ms, rowsPerSec: (rows[0].n * 1000) / ms };
  } finally {
    client.release();
    await pool.end();
  }
}
