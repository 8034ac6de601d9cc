import { describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, playbookPath, runCli, statusJson, waitFor } from '../helpers/cli.ts';
import { backfillHold, type BackfillHold } from '../helpers/hold.ts';
import { backfillProgress, countTouches, startWorker, testRedis, type TestRedis, type TestWorker } from './harness.ts';

/**
 * Lost workers and a lost Redis mid-backfill. Every batch commits its rows with
 * its checkpoint, and a range's batches commit only under its current lease,
 * so whatever dies, the run completes and verify passes; a trigger of the
 * test's own counts each row's committed updates, so a batch committed twice
 * would show. At most one batch per range may be redone; we expect none.
 */

const ROWS = 40_000;
const BATCH = 500;
const PARALLELISM = 4;

interface Fleet {
  db: TestDatabase;
  redis: TestRedis;
  workers: TestWorker[];
  runId: string;
  hold: BackfillHold;
  cli(args: string[]): ReturnType<typeof runCli>;
}

/** Starts a run on two workers, holds it mid-backfill, lets `fault` strike, then takes the run to its end and checks it. */
async function survives(fault: (fleet: Fleet) => Promise<void>): Promise<Fleet> {
  const db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
  const touches = await countTouches(db, 'users');
  const redis = await testRedis();
  const cli = (args: string[]) => runCli(args, { db: db.url, env: { REDIS_URL: redis.url } });
  const workers = [await startWorker(db.url, redis, ['--concurrency', '2']), await startWorker(db.url, redis, ['--concurrency', '2'])];
  const hold = await backfillHold(db, 'public.users', ROWS / 4);
  const started = await cli([
    'start', playbookPath('0001_users_email_citext.yaml'), '--executor', 'bullmq', '--parallelism', String(PARALLELISM),
    '--batch-size', String(BATCH), '--min-batch-size', String(BATCH), '--max-batch-size', String(BATCH), '--max-rows-per-sec', '10000',
    '--throttle-query', hold.query,
  ]);
  expect(started.code, show(started)).toBe(0);
  const runId = /run (\d+) started/.exec(started.stdout)![1];
  await hold.held(runId);
  const fleet = { db, redis, workers, runId, hold, cli };

  await fault(fleet);

  await hold.release();
  const tuned = await cli(['tune', runId, '--max-rows-per-sec', '0']);
  expect(tuned.code, show(tuned)).toBe(0);
  await waitFor('the run to reach the gate', async () => (await statusJson(db.url, runId)).status === 'awaiting_approval', 180_000, 200);
  const verified = await db.query(`SELECT (detail->>'rows')::int AS rows FROM bellows.events WHERE run_id = $1 AND kind = 'verified'`, [runId]);
  expect(verified.rows).toEqual([{ rows: ROWS }]);
  expect(await backfillProgress(db, runId)).toMatchObject({ rows: ROWS, done: true });
  const touched = await touches();
  expect(touched.rows).toBe(ROWS);
  // At most one batch per range redone; a redone batch would have committed its rows twice.
  expect(touched.twice, `rows committed twice: ${touched.twice}`).toBeLessThanOrEqual(BATCH * PARALLELISM);

  const approved = await cli(['approve', runId]);
  expect(approved.code, show(approved)).toBe(0);
  await waitFor('the run to complete', async () => (await statusJson(db.url, runId)).status === 'completed', 60_000, 200);
  const data = await db.query(`SELECT count(*) FILTER (WHERE email::text = lower('User' || id || '@Example.COM'))::int AS ok FROM users`);
  expect(data.rows[0].ok).toBe(ROWS);
  for (const worker of workers) worker.kill('SIGTERM');
  for (const worker of workers) await worker.exited;
  return fleet;
}

/** The walkers that took a range over from another one (range_claimed: from → by). */
async function takeovers(db: TestDatabase, runId: string) {
  const { rows } = await db.query<{ from: string; by: string }>(`SELECT detail->>'from' AS from, detail->>'by' AS by FROM bellows.events WHERE run_id = $1 AND kind = 'range_claimed'`, [runId]);
  return rows;
}

describe('a BullMQ fleet under faults', () => {
  it('SIGKILL of one of two workers mid-backfill: the other continues its ranges from their checkpoints', async () => {
    const { db, runId, workers } = await survives(async ({ workers, hold }) => {
      // Let the backfill move, so batches are in flight when the kill comes.
      await hold.holdAt(ROWS / 2);
      workers[0].kill('SIGKILL');
      expect((await workers[0].exited).signal).toBe('SIGKILL');
    });
    const taken = await takeovers(db, runId);
    expect(taken.some((t) => t.from.includes(workers[0].walker) && t.by.includes(workers[1].walker)), JSON.stringify(taken)).toBe(true);
  });

  it('SIGTERM: the worker finishes its batches, hands its jobs back and exits 0; the other continues them', async () => {
    const { db, runId, workers } = await survives(async ({ workers, hold }) => {
      await hold.holdAt(ROWS / 2);
      workers[0].kill('SIGTERM');
      const exit = await workers[0].exited;
      expect(exit.code, exit.stderr).toBe(0);
      expect(exit.stdout).toContain('SIGTERM: draining');
      expect(exit.stdout).toContain('worker stopped');
    });
    const taken = await takeovers(db, runId);
    expect(taken.some((t) => t.from.includes(workers[0].walker) && t.by.includes(workers[1].walker)), JSON.stringify(taken)).toBe(true);
  });

  it('Redis killed mid-backfill and restarted with its append-only file: the run completes; status and history work meanwhile', async () => {
    await survives(async ({ redis, hold, runId, cli }) => {
      await hold.holdAt(ROWS / 2);
      await redis.kill();
      // The state store, not Redis, answers the operator.
      const status = await cli(['status', runId, '--json']);
      expect(status.code, show(status)).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id: runId, phase: 'backfill' });
      const history = await cli(['history']);
      expect(history.code, show(history)).toBe(0);
      await redis.start();
    });
  });

  it('Redis restarted empty mid-backfill: a worker re-enqueues the run from the state store and it completes', async () => {
    await survives(async ({ db, redis, hold, workers, runId }) => {
      // The run stays held through the fault, so no more than the hold's rows are done when the new
      // worker comes; then the hold lets every range walk a batch more, and only a worker can do it.
      await redis.kill();
      // Its data directory is removed before it starts: every queue and job is gone. The workers that held
      // the run's jobs in memory die too, so nothing but the state store remembers the run.
      for (const worker of workers) worker.kill('SIGKILL');
      for (const worker of workers) await worker.exited;
      await redis.start({ empty: true });
      expect(await redis.keys('bellows:*')).toBe(0);
      const before = await backfillProgress(db, runId);
      await hold.holdAt(before.rows + PARALLELISM * BATCH);
      workers.push(await startWorker(db.url, redis, ['--concurrency', '4']));
      await waitFor('the new worker to pick the run up', async () => (await backfillProgress(db, runId)).rows > before.rows, 60_000, 100);
    });
  });
});
