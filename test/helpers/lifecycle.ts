import pg from 'pg';
import { ident } from '../../src/db/sql.ts';
import { createSteps, type Steps } from '../../src/engine/steps.ts';
import { silentLog, schemaSnapshot } from './engine.ts';
import { StateStore } from '../../src/state/store.ts';
import { LocalExecutor } from '../../src/executors/local/local-executor.ts';
import type { TestDatabase } from './db.ts';
import { atFileEnd } from './cleanup.ts';

/** A table keyed 1..rows with an int column `v`: what most backfill tests walk. */
export async function numberedTable(db: Pick<TestDatabase, 'query'>, table: string, rows: number | string): Promise<void> {
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
  await db.query(`INSERT INTO ${table} SELECT g, g FROM generate_series(1, ${rows}) g`);
}

/** The operation those tests run on it: `v` becomes bigint. */
export function vToBigint(table: string) {
  return { alter_column: { table, column: 'v', type: 'bigint', up: 'v::bigint', down: 'v::int' } };
}

/** Small batches so that even a few hundred rows take several batches and checkpoints. */
export const SMALL_BATCHES = { batchSize: 100, minBatchSize: 10, maxBatchSize: 200 };

/**
 * Everything a rollback must put back, as a user would check it: the table's
 * columns, indexes, constraints and triggers, the functions in its schema, the
 * schemas that exist (but bellows' own state schema), and every row.
 */
export async function tableState(pool: pg.Pool, table: string, orderBy = 'id') {
  const [schema] = table.split('.');
  const functions = await pool.query(
    `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  const schemas = await pool.query(
    `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'bellows') ORDER BY 1`,
  );
  const rows = await pool.query(`SELECT row_to_json(t)::text AS r FROM ${table} t ORDER BY ${orderBy}`);
  return {
    schema: await schemaSnapshot(pool, table),
    functions: functions.rows.map((r) => r.proname as string),
    schemas: schemas.rows.map((r) => r.nspname as string),
    rows: rows.rows.map((r) => r.r as string),
  };
}

/** The steps of the engine, called one by one, as an executor would. */
export function stepsFor(store: StateStore, pool: pg.Pool, extra: Partial<Parameters<typeof createSteps>[0]> = {}): Steps {
  return createSteps({ db: pool, store, log: silentLog, ...extra });
}

/** Expand, dual-write, and every backfill range to its end: the run is ready for verify. */
export async function expandAndBackfill(steps: Steps, runId: string): Promise<void> {
  await steps.expand(runId);
  await steps.dualWrite(runId);
  await backfillAll(steps, runId);
}

/** Every backfill range to its end, then finishBackfill. */
export async function backfillAll(steps: Steps, runId: string): Promise<void> {
  for (const ref of await steps.prepareBackfill(runId)) {
    if ((await steps.walkRange(runId, ref)) !== 'done') throw new Error(`backfill range ${ref.rangeNo} did not finish`);
  }
  await steps.finishBackfill(runId);
}

/** Runs every backfill range to its end, then every verify range, then finishVerify: the run stops at the gate. */
export async function backfillAndVerify(steps: Steps, runId: string): Promise<void> {
  await backfillAll(steps, runId);
  for (const ref of await steps.prepareVerify(runId)) {
    if ((await steps.walkRange(runId, ref)) !== 'done') throw new Error(`verify range ${ref.rangeNo} did not finish`);
  }
  await steps.finishVerify(runId);
}

/**
 * Two application versions side by side: the old one sees the base table; the
 * new one puts the playbook's version schema first on its search_path and sees
 * the new shape through its views.
 */
export async function applications(db: TestDatabase, playbookName: string) {
  const oldApp = new pg.Client({ connectionString: db.url });
  const newApp = new pg.Client({ connectionString: db.url });
  await oldApp.connect();
  await newApp.connect();
  await newApp.query(`SET search_path = ${ident(playbookName)}, public`);
  const close = async () => {
    await oldApp.end().catch(() => {});
    await newApp.end().catch(() => {});
  };
  atFileEnd(close);
  return { oldApp, newApp, close };
}

export async function bellowsRunCount(pool: pg.Pool): Promise<number> {
  const exists = await pool.query(`SELECT to_regclass('bellows.runs') IS NOT NULL AS e`);
  if (!exists.rows[0].e) return 0;
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM bellows.runs`);
  return rows[0].n;
}

/** An executor that stops itself (as a worker shutting down would) after `batches` committed batches of `task`. */
export function stoppingExecutor(pool: pg.Pool, task: 'backfill' | 'verify', batches: number): LocalExecutor {
  const controller = new AbortController();
  let seen = 0;
  return new LocalExecutor({
    db: pool,
    store: new StateStore(pool),
    log: silentLog,
    signal: controller.signal,
    onBatch: (range) => {
      if (range.task === task && ++seen >= batches) controller.abort();
    },
  });
}
