import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { checkThrottleSettings, ThrottleStop } from '../../src/backfill/throttles/index.ts';
import { customQueryThrottle } from '../../src/backfill/throttles/custom-query.ts';
import { readOnlyQuery } from '../../src/db/read-only.ts';
import { settingsSchema } from '../../src/playbook/schema.ts';
import { InputError } from '../../src/errors.ts';
import type { CompiledTable } from '../../src/engine/compile.ts';

/**
 * Operator SQL that should only read (a throttle query), against a real
 * PostgreSQL: whatever it tries, it changes nothing, waits for nothing long, and
 * leaves no trace on the sessions of the pool it ran on.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)`);
  await db.query(`INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 50) g`);
  await db.query(`CREATE SEQUENCE tickets`);
  await db.query(`CREATE FUNCTION drain() RETURNS boolean LANGUAGE sql AS $$ UPDATE accounts SET balance = 0; SELECT false $$`);
});

async function refusal(throttleQuery: string): Promise<string> {
  const err = await checkThrottleSettings(db.pool, { throttleQuery }).then(() => null, (e: unknown) => e);
  expect(err, throttleQuery).toBeInstanceOf(InputError);
  return (err as Error).message;
}

async function accounts(): Promise<string> {
  return (await db.query(`SELECT string_agg(id || ':' || balance, ',' ORDER BY id) AS s FROM accounts`)).rows[0].s;
}

describe('a throttle query is checked before anything runs', () => {
  it.each([
    ['a data-modifying WITH', `WITH d AS (DELETE FROM accounts RETURNING 1) SELECT false`, /^throttleQuery: it writes \(cannot execute SELECT in a read-only transaction\)/],
    ['a function that writes', `SELECT drain()`, /^throttleQuery: it writes \(cannot execute UPDATE in a read-only transaction\)/],
    ['nextval', `SELECT nextval('tickets') > 0`, /^throttleQuery: it writes \(cannot execute nextval\(\) in a read-only transaction\)/],
    ['a switch to read-write', `SET TRANSACTION READ WRITE`, /^throttleQuery: transaction read-write mode must be set before any query/],
    ['a second statement', `SELECT false; UPDATE accounts SET balance = 0`, /^throttleQuery: it is more than one statement/],
    ['a COMMIT', `COMMIT`, /^throttleQuery: it returned 0 columns/],
    ['two rows', `SELECT true FROM generate_series(1, 2)`, /^throttleQuery: it returned 2 rows/],
    ['a text column', `SELECT 'false'`, /^throttleQuery: it returned a column of type text/],
    ['a statement that runs too long', `SELECT pg_sleep(10) IS NULL`, /^throttleQuery: canceling statement due to statement timeout/],
  ])('refuses %s, and changes nothing', async (_name, query, pattern) => {
    const before = await accounts();
    expect(await refusal(query)).toMatch(pattern);
    expect(await accounts()).toBe(before);
    expect((await db.query(`SELECT last_value, is_called FROM tickets`)).rows[0]).toEqual({ last_value: '1', is_called: false });
  });

  it('refuses a query that would wait behind an application lock, after the lock timeout', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    atFileEnd(() => holder.end());
    await holder.query(`BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE`);
    try {
      expect(await refusal(`SELECT count(*) > 0 FROM accounts`)).toMatch(/^throttleQuery: canceling statement due to lock timeout/);
    } finally {
      await holder.query(`ROLLBACK`);
    }
  });

  it('accepts one boolean, and a NULL one', async () => {
    for (const throttleQuery of [`SELECT true`, `SELECT count(*) > 10 FROM accounts`, `SELECT NULL::boolean`]) {
      await expect(checkThrottleSettings(db.pool, { throttleQuery })).resolves.toBeUndefined();
    }
  });

  it('leaves the pool’s sessions as they were: read-write, default timeouts', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    atFileEnd(() => pool.end());
    const defaults = (await pool.query(`SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt`)).rows[0];
    await readOnlyQuery(pool, `SELECT true`);
    await readOnlyQuery(pool, `SELECT set_config('statement_timeout', '1', false) IS NOT NULL`);
    await readOnlyQuery(pool, `SELECT 1/0 = 1`).catch(() => {});
    const after = await pool.query(`SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, current_setting('transaction_read_only') AS ro`);
    expect(after.rows[0]).toEqual({ ...defaults, ro: 'off' });
  });
});

describe('a throttle query asked by the backfill', () => {
  const probe = () => customQueryThrottle.probe({ db: db.pool, table: {} as CompiledTable });
  const settings = (throttleQuery: string) => settingsSchema.parse({ throttleQuery });

  it('true waits; false and NULL go on', async () => {
    expect(await probe().check(settings(`SELECT true`))).toBe('throttle query returned true');
    expect(await probe().check(settings(`SELECT false`))).toBeNull();
    expect(await probe().check(settings(`SELECT NULL::boolean`))).toBeNull();
  });

  it('a failure stops the run instead of holding it: ThrottleStop, naming throttleQuery and the error', async () => {
    const before = await accounts();
    for (const [query, problem] of [
      [`SELECT 1/0 = 1`, 'throttleQuery failed: division by zero'],
      [`SELECT drain()`, 'throttleQuery failed: it writes (cannot execute UPDATE in a read-only transaction)'],
      [`SELECT true WHERE false`, 'throttleQuery failed: it returned no row'],
    ]) {
      const err = await probe().check(settings(query)).then(() => null, (e: unknown) => e);
      expect(err, query).toBeInstanceOf(ThrottleStop);
      expect((err as ThrottleStop).problem).toBe(problem);
      expect((err as ThrottleStop).remedy('7')).toBe(`correct it with bellows tune 7 --throttle-query '<sql>', then bellows resume 7`);
    }
    expect(await accounts()).toBe(before);
  });
});
