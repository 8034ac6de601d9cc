import pg from 'pg';
import type { TestDatabase } from './db.ts';
import { waitFor } from './poll.ts';

/**
 * Keeps a run in its backfill for as long as a test needs it there. A rate cap
 * cannot: on a slow, busy machine the backfill outlasts nothing for sure (a CLI
 * command alone may take seconds to start). Instead the run gets a throttle
 * query (`--throttle-query`, or `throttleQuery` in its settings) that reads a
 * row the test owns: once the table's backfill has done `at` rows, and every
 * range some of them, the throttle says "wait" until the test moves the mark or
 * releases it. So the run is mid-backfill for sure, whatever the machine.
 * With several ranges, hold below the rows of one range: then no range can
 * finish before the hold, unless another has not even started meanwhile.
 *
 * The row lives in the test's own database, which is dropped with the file, so
 * there is nothing to clean up; a run left held ends with its driver.
 */
export interface BackfillHold {
  /** The throttle query to start the run with. */
  readonly query: string;
  /** Lets the backfill go on to `rows` rows in all, every range some, and holds it there. */
  holdAt(rows: number): Promise<void>;
  /** Lets the backfill run to its end (the throttle query stays, and answers "go on"). */
  release(): Promise<void>;
  /** Waits until the run's backfill is held at the mark; returns the rows it has done. */
  held(runId: string): Promise<number>;
}

/** A hold on the backfill of `table` ("public.users"); holding at `at` rows, or released without it. */
export async function backfillHold(db: TestDatabase, table: string, at: number | null = null): Promise<BackfillHold> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS test_control`);
  await db.query(`CREATE TABLE IF NOT EXISTS test_control.holds (table_name text PRIMARY KEY, hold_at bigint)`);
  await db.query(`INSERT INTO test_control.holds VALUES ($1, $2) ON CONFLICT (table_name) DO UPDATE SET hold_at = excluded.hold_at`, [table, at]);
  let mark = at;
  const set = async (rows: number | null) => {
    mark = rows;
    await db.query(`UPDATE test_control.holds SET hold_at = $2 WHERE table_name = $1`, [table, rows]);
  };
  // The newest run on the table is the one asking: one run migrates a table at a time. A range
  // with nothing to do counts as started. No ranges yet or a null mark (released) mean "go on",
  // and the answer is one boolean row whatever the state, as bellows requires of a throttle query.
  const query = `SELECT coalesce((
  SELECT sum(r.rows_done) >= h.hold_at AND bool_and(r.rows_done > 0 OR r.done)
    FROM test_control.holds h JOIN bellows.ranges r ON r.table_name = h.table_name AND r.task = 'backfill'
   WHERE h.table_name = '${table.replaceAll("'", "''")}'
     AND r.run_id = (SELECT max(run_id) FROM bellows.ranges WHERE table_name = h.table_name)
   GROUP BY h.hold_at), false)`;
  return {
    query,
    holdAt: (rows) => set(rows),
    release: () => set(null),
    async held(runId) {
      if (mark === null) throw new Error(`the backfill of ${table} is not held`);
      const target = mark;
      return waitFor(
        `the backfill of ${table} to be held at ${target} rows`,
        async () => {
          const { rows } = await db.query<{ n: number; started: boolean }>(
            `SELECT coalesce(sum(rows_done), 0)::int AS n, coalesce(bool_and(rows_done > 0 OR done), false) AS started
               FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill' AND table_name = $2`,
            [runId, table],
          );
          return rows[0].n >= target && rows[0].started && rows[0].n;
        },
        60_000,
      );
    },
  };
}

/**
 * A session that has read `table` in a transaction it keeps open, as a long
 * report would: its ACCESS SHARE lock makes every ALTER TABLE on it wait (and
 * retry, under bellows' lock_timeout) until `release()` commits. Releasing
 * twice is harmless, so a test can release in its body and again in `finally`.
 */
export async function tableReader(db: Pick<TestDatabase, 'url'>, table: string): Promise<{ release(): Promise<void> }> {
  const reader = new pg.Client({ connectionString: db.url });
  await reader.connect();
  await reader.query('BEGIN');
  await reader.query(`SELECT count(*) FROM ${table}`);
  let open = true;
  return {
    async release() {
      if (!open) return;
      open = false;
      await reader.query('COMMIT');
      await reader.end();
    },
  };
}

/**
 * A gate before every backfill batch of every run on the database, closed
 * until the test opens it: a throttle query that answers "wait" while the
 * test's row says closed. Walkers that reach it stop before their first batch
 * and stay there, holding whatever they took to walk (a BullMQ range slot, a
 * range's lease), so a test can count them with nothing moving.
 */
export async function backfillGate(db: TestDatabase): Promise<{ query: string; open(): Promise<void> }> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS test_control`);
  await db.query(`CREATE TABLE IF NOT EXISTS test_control.gate (closed boolean NOT NULL)`);
  await db.query(`INSERT INTO test_control.gate VALUES (true)`);
  return {
    query: `SELECT coalesce(bool_or(closed), false) FROM test_control.gate`,
    open: async () => void (await db.query(`UPDATE test_control.gate SET closed = false`)),
  };
}
