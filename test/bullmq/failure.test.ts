import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { catalogSnapshot, describe as show, playbookPath, runCli, statusJson, waitFor } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { backfillProgress, countTouches, startWorker, usersOnRedis, type TestRedis } from './harness.ts';

/**
 * A range job that fails for a reason a retry cannot cure stops the run: the
 * store keeps the error, `status` shows it, and `resume` after the fix goes on
 * from the checkpoints, on the fleet, without redoing a committed batch.
 */

const ROWS = 30_000;
let db: TestDatabase;
let redis: TestRedis;
let cli: (args: string[]) => ReturnType<typeof runCli>;

beforeAll(async () => {
  ({ db, redis, cli } = await usersOnRedis(ROWS));
});

describe('a failed BullMQ run', () => {
  it('keeps its error, shows it in status, and resumes from its checkpoints once the cause is fixed', async () => {
    const touches = await countTouches(db, 'users');
    // Held mid-backfill however slow the machine, so the fault below strikes a backfill in flight.
    const hold = await backfillHold(db, 'public.users', 2_000);
    const worker = await startWorker(db.url, redis);
    const started = await cli([
      'start', playbookPath('0001_users_email_citext.yaml'), '--executor', 'bullmq', '--parallelism', '2',
      '--batch-size', '200', '--max-batch-size', '200', '--max-rows-per-sec', '4000',
      '--throttle-query', hold.query,
    ]);
    expect(started.code, show(started)).toBe(0);
    const runId = /run (\d+) started/.exec(started.stdout)![1];
    await hold.held(runId);

    // The operator's throttle table disappears: every range's next throttle check fails.
    await db.query(`DROP TABLE test_control.holds`);
    await waitFor('the run to fail', async () => (await statusJson(db.url, runId)).status === 'failed', 60_000, 100);
    const failed = await statusJson(db.url, runId);
    expect(failed.error).toMatch(/throttleQuery failed: relation "test_control\.holds" does not exist/);
    const human = await cli(['status', runId]);
    expect(human.stdout).toContain('throttleQuery failed');
    const atFailure = await backfillProgress(db, runId);
    expect(atFailure.done).toBe(false);
    // Nothing moves while it is failed: no job retries it behind the operator's back.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await backfillProgress(db, runId)).rows).toBe(atFailure.rows);

    const fixed = await cli(['tune', runId, '--throttle-query', 'SELECT false', '--max-rows-per-sec', '0']);
    expect(fixed.code, show(fixed)).toBe(0);
    const resumed = await cli(['resume', runId]);
    expect(resumed.code, show(resumed)).toBe(0);
    expect(resumed.stdout).toContain(`run ${runId} resumed on bullmq`);
    await waitFor('the gate', async () => (await statusJson(db.url, runId)).status === 'awaiting_approval', 120_000, 200);
    expect(await backfillProgress(db, runId)).toMatchObject({ rows: ROWS, done: true });
    expect(await touches()).toEqual({ rows: ROWS, twice: 0 });
    const approved = await cli(['approve', runId]);
    expect(approved.code, show(approved)).toBe(0);
    await waitFor('the run to complete', async () => (await statusJson(db.url, runId)).status === 'completed', 60_000, 200);

    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('rolls back mid-backfill through its driver on the fleet: the original schema is back', async () => {
    await db.query(`DROP TRIGGER IF EXISTS test_touch ON users`);
    const hold = await backfillHold(db, 'public.users', 1_000);
    const before = await catalogSnapshot(db.pool);
    const worker = await startWorker(db.url, redis);
    const started = await cli(['start', playbookPath('0002_users_add_plan.yaml'), '--executor', 'bullmq', '--parallelism', '2', '--batch-size', '200', '--max-batch-size', '200', '--throttle-query', hold.query]);
    expect(started.code, show(started)).toBe(0);
    const runId = /run (\d+) started/.exec(started.stdout)![1];
    await hold.held(runId);

    const rolled = await cli(['rollback', runId]);
    expect(rolled.code, show(rolled)).toBe(0);
    expect(rolled.stdout).toContain(`rollback requested for run ${runId}; waiting for its driver to roll it back`);
    expect(rolled.stdout).toContain(`run ${runId} rolled back`);
    expect(await statusJson(db.url, runId)).toMatchObject({ phase: 'rollback', status: 'rolled_back' });
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });
});
