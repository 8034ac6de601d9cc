import type pg from 'pg';

/**
 * SQL an operator wrote to be asked, not obeyed (a throttle query): it runs
 * before every batch, with the same rights as the migration. So it runs
 *
 * - in a READ ONLY transaction that is always rolled back: `WITH d AS (DELETE …)
 *   SELECT false`, a function that writes, nextval() all fail instead of changing
 *   data, and the transaction cannot be switched to read-write once it has run a
 *   query (the timeouts below are set by one);
 * - through the extended protocol, which refuses a string of several statements
 *   (`SELECT 0; DROP TABLE users`) instead of running them one after another;
 * - under a short statement_timeout and lock_timeout: a question asked between
 *   batches of ~200 ms must not hold the backfill, or wait behind the
 *   application's locks, for long.
 */
export const READ_ONLY_LIMITS = { statementTimeoutMs: 2000, lockTimeoutMs: 1000 } as const;

export interface ReadOnlyResult {
  /** Each row as an array of column values, in order. */
  rows: unknown[][];
  /** Each column's name and type, by PostgreSQL type name (`boolean`, `integer`). */
  columns: Array<{ name: string; type: string }>;
}

export async function readOnlyQuery(db: pg.Pool, sql: string): Promise<ReadOnlyResult> {
  const client = await db.connect();
  let failed = false;
  try {
    await client.query('BEGIN READ ONLY');
    await applyLimits(client);
    const result = await client.query({ text: sql, queryMode: 'extended', rowMode: 'array' } as pg.QueryConfig);
    // The statement may have changed the limits (`set_config('statement_timeout', '1', false)`): ours govern what follows.
    await applyLimits(client);
    const columns = await columnTypes(client, result.fields ?? []);
    return { rows: result.rows as unknown[][], columns };
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    // A session the operator's statement failed in is not trusted again: it goes, a fresh one comes.
    client.release(failed);
  }
}

/** The limits for the rest of the transaction (the ROLLBACK puts the session's own back). */
async function applyLimits(client: pg.ClientBase): Promise<void> {
  await client.query(`SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true)`, [
    `${READ_ONLY_LIMITS.statementTimeoutMs}ms`,
    `${READ_ONLY_LIMITS.lockTimeoutMs}ms`,
  ]);
}

async function columnTypes(client: pg.ClientBase, fields: pg.FieldDef[]): Promise<ReadOnlyResult['columns']> {
  if (fields.length === 0) return [];
  const { rows } = await client.query<{ type: string }>(`SELECT format_type(t, NULL) AS type FROM unnest($1::oid[]) WITH ORDINALITY AS u(t, n) ORDER BY n`, [
    fields.map((f) => f.dataTypeID),
  ]);
  return fields.map((f, i) => ({ name: f.name, type: rows[i].type }));
}
