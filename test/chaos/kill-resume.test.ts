import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import pg from 'pg';
import { describe as show, playbookPath, runCli, spawnCli, startedRunId, waitFor } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';

/**
 * kill -9 of the process driving a backfill, then `bellows resume` from another
 * process. Each batch's UPDATE and its checkpoint commit in one transaction, so
 * the checkpoint read after the kill is exact: the resumed process must update
 * precisely the rows the killed one had not, not one row twice, not one missed.
 *
 * Who updated a row is read from its xmin: every transaction before the kill has
 * an xid below K (taken once the killed session is gone), every one after it above.
 */

const ROWS = 200_000;
let db: TestDatabase;
let elsewhere: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  elsewhere = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
});

/**
 * Another database on the same server whose own run with this id is being driven:
 * advisory locks are per database, so it must not make ours look driven.
 */
async function driveSameRunIdElsewhere(runId: string): Promise<pg.PoolClient> {
  const client = await elsewhere.pool.connect();
  await client.query(`SELECT pg_advisory_lock(hashtext('bellows'), hashtext($1))`, [`run:${runId}`]);
  return client;
}

async function xidNow(): Promise<bigint> {
  const { rows } = await db.query(`SELECT (txid_current() % 4294967296)::text AS x`);
  return BigInt(rows[0].x);
}

async function ranges(runId: string, task = 'backfill') {
  const { rows } = await db.query<{ range_no: number; rows_done: number; done: boolean; batches: number }>(
    `SELECT range_no, rows_done::int, done, batches::int FROM bellows.ranges WHERE run_id = $1 AND task = $2 ORDER BY range_no`,
    [runId, task],
  );
  return rows;
}

async function bellowsSessions(): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bellows'`,
  );
  return rows[0].n;
}

/**
 * Starts `playbook` throttled, kills the driver with SIGKILL once every range is
 * partway, checks that status shows nobody drives it, resumes it to the gate,
 * approves it, and checks every row was backfilled exactly once.
 */
async function killMidBackfillThenResume(playbook: string, parallelism: number) {
  const x0 = await xidNow();
  // The rate cap keeps batches in flight when the kill comes; the hold at a quarter of the rows makes
  // sure the kill comes mid-backfill however slow this machine is (then it finds the ranges waiting).
  const hold = await backfillHold(db, 'public.users', ROWS / 4);
  const driver = spawnCli(
    [
      'start', playbookPath(playbook), '--no-progress', '--parallelism', String(parallelism), '--batch-size', '500', '--max-batch-size', '500',
      '--max-rows-per-sec', '30000', '--throttle-query', hold.query,
    ],
    { db: db.url },
  );
  const runId = await startedRunId(driver);
  await waitFor(
    'every range to be partway through the backfill',
    async () => {
      const rs = await ranges(runId);
      const total = rs.reduce((n, r) => n + r.rows_done, 0);
      return rs.length === parallelism && rs.every((r) => r.rows_done > 0) && total >= ROWS * 0.15;
    },
    60_000,
    20,
  );
  driver.kill('SIGKILL');
  const killed = await driver.exited;
  expect(killed.signal).toBe('SIGKILL');
  // The killed process's session ends when PostgreSQL notices; its open batch rolls back, its lock goes.
  await waitFor('the killed session to end', async () => (await bellowsSessions()) === 0, 30_000);

  const atKill = await ranges(runId);
  const doneAtKill = atKill.reduce((n, r) => n + r.rows_done, 0);
  const k = await xidNow();
  const otherDriver = await driveSameRunIdElsewhere(runId);

  const [json, human] = await Promise.all([runCli(['status', runId, '--json'], { db: db.url }), runCli(['status', runId], { db: db.url })]);
  expect(json.code, show(json)).toBe(0);
  const status = JSON.parse(json.stdout);
  expect(status).toMatchObject({ id: runId, phase: 'backfill', status: 'running', state: 'stalled', driver: 'none', paused: false });
  expect(status.tasks[0]).toMatchObject({ task: 'backfill', table: 'public.users', rowsDone: doneAtKill, rowsPerSec: 0, etaSeconds: null, done: false });
  expect(human.stdout).toContain(`stalled: nothing drives this run (since `);
  expect(human.stdout).toContain(`; bellows resume ${runId}`);

  // Lift the throttle for the rest: the resumed process picks up the run's tuning from the state store.
  await hold.release();
  const tuned = await runCli(['tune', runId, '--max-rows-per-sec', '0', '--max-batch-size', '20000'], { db: db.url });
  expect(tuned.code, show(tuned)).toBe(0);
  const resumed = await runCli(['resume', runId, '--no-progress'], { db: db.url });
  expect(resumed.code, show(resumed)).toBe(0);
  expect(resumed.stdout).toContain(`resuming run ${runId} from its last checkpoint (phase backfill)`);
  expect(resumed.stdout).toContain(`bellows approve ${runId}`);
  otherDriver.release(true);

  // Exact accounting: every row once, split between the two processes exactly at the checkpoint.
  const after = await ranges(runId);
  expect(after.every((r) => r.done)).toBe(true);
  expect(after.reduce((n, r) => n + r.rows_done, 0)).toBe(ROWS);
  // Ranges may have been split after the resume (work stealing); the ones there at the kill only moved forward.
  for (const [i, r] of atKill.entries()) expect(after[i].rows_done).toBeGreaterThanOrEqual(r.rows_done);
  const { rows: split } = await db.query(
    `SELECT count(*) FILTER (WHERE xmin::text::bigint >= $1 AND xmin::text::bigint < $2)::int AS before_kill,
            count(*) FILTER (WHERE xmin::text::bigint >= $2)::int AS after_kill,
            count(*)::int AS total
       FROM users`,
    [String(x0), String(k)],
  );
  expect(split[0]).toEqual({ before_kill: doneAtKill, after_kill: ROWS - doneAtKill, total: ROWS });

  const verified = await db.query(`SELECT (detail->>'rows')::int AS rows FROM bellows.events WHERE run_id = $1 AND kind = 'verified'`, [runId]);
  expect(verified.rows).toEqual([{ rows: ROWS }]);
  const approved = await runCli(['approve', runId], { db: db.url });
  expect(approved.code, show(approved)).toBe(0);
  expect(approved.stdout).toContain(`run ${runId} completed`);
  return runId;
}

describe('kill -9 mid-backfill, then resume', () => {
  it('one range: resumes from the checkpoint, every row updated exactly once', async () => {
    await killMidBackfillThenResume('0001_users_email_citext.yaml', 1);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE email::text = lower('User' || id || '@Example.COM'))::int AS ok,
              format_type((SELECT atttypid FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'), NULL) AS type
         FROM users`,
    );
    expect(rows[0]).toEqual({ n: ROWS, ok: ROWS, type: 'citext' });
  });

  it('three ranges in parallel: the same, in every range', async () => {
    await killMidBackfillThenResume('0002_users_add_plan.yaml', 3);
    const { rows } = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE plan = 'free')::int AS free FROM users`);
    expect(rows[0]).toEqual({ n: ROWS, free: ROWS });
  });
});
