import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { describe as show, playbookPath, runCli, spawnCli, statusJson, waitFor } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { activeRangeJobs, backfillProgress, startWorker, usersOnRedis, type TestRedis } from './harness.ts';

/**
 * Steering a BullMQ run from the CLI while two workers walk it: status, pause
 * (held within one batch per range, and no range job starts while paused),
 * parallelism up and down, resume, approve.
 */

const ROWS = 40_000;
const BATCH = 100;
let db: TestDatabase;
let redis: TestRedis;
let cli: (args: string[]) => ReturnType<typeof runCli>;

beforeAll(async () => {
  ({ db, redis, cli } = await usersOnRedis(ROWS));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('steering a BullMQ run', () => {
  it('pauses within one batch per range, tunes parallelism up and down, resumes, and completes', async () => {
    const workers = [await startWorker(db.url, redis), await startWorker(db.url, redis)];
    const hold = await backfillHold(db, 'public.users', 4 * BATCH);
    const started = await cli([
      'start', playbookPath('0001_users_email_citext.yaml'), '--executor', 'bullmq', '--parallelism', '2',
      '--batch-size', String(BATCH), '--min-batch-size', String(BATCH), '--max-batch-size', String(BATCH), '--max-rows-per-sec', '2000',
      '--throttle-query', hold.query,
    ]);
    expect(started.code, show(started)).toBe(0);
    const runId = /run (\d+) started/.exec(started.stdout)![1];
    expect(started.stdout).toContain(`run ${runId} submitted; follow it with: bellows watch ${runId}`);
    await hold.held(runId);
    expect(await statusJson(db.url, runId)).toMatchObject({ phase: 'backfill', status: 'running', driver: 'active', paused: false });
    const watcher = spawnCli(['watch', runId, '--interval', '300'], { db: db.url });

    // pause: at most the batch in flight of each range commits after the intent is stored.
    await hold.holdAt(ROWS / 2);
    const paused = await cli(['pause', runId]);
    expect(paused.code, show(paused)).toBe(0);
    const atPause = await backfillProgress(db, runId);
    await waitFor('the run to be paused', async () => (await statusJson(db.url, runId)).status === 'paused', 60_000, 100);
    const stopped = await backfillProgress(db, runId);
    expect(stopped.rows - atPause.rows).toBeLessThanOrEqual(BATCH * atPause.ranges);
    // Nothing moves and no range job runs, though the hold would let the backfill go further.
    await hold.holdAt(stopped.rows + 4 * BATCH);
    await sleep(2000);
    expect((await backfillProgress(db, runId)).rows).toBe(stopped.rows);
    expect(await activeRangeJobs(db, redis)).toBe(0);

    const resumed = await cli(['resume', runId]);
    expect(resumed.code, show(resumed)).toBe(0);
    expect(resumed.stdout).toContain(`run ${runId} resumed on bullmq`);
    await waitFor('the backfill to move again', async () => (await backfillProgress(db, runId)).rows > stopped.rows, 60_000, 100);
    await waitFor('the run to be running again', async () => (await statusJson(db.url, runId)).status === 'running', 60_000, 100);

    // parallelism up: the largest ranges are split, and four range jobs run on the two workers. The
    // hold stays where it is (each new range walks a batch, then all four wait at it), so rows are
    // left to split however long the commands take to start.
    const up = await cli(['tune', runId, '--parallelism', '4']);
    expect(up.code, show(up)).toBe(0);
    await waitFor(
      'four ranges, walked by four range jobs',
      async () => (await backfillProgress(db, runId)).ranges >= 4 && (await activeRangeJobs(db, redis)) === 4,
      60_000,
      100,
    );
    // ...and down: the surplus hands its ranges back at a batch boundary, checkpointed.
    const down = await cli(['tune', runId, '--parallelism', '1']);
    expect(down.code, show(down)).toBe(0);
    await waitFor('one range job to run', async () => (await activeRangeJobs(db, redis)) === 1, 60_000, 100);
    for (let i = 0; i < 10; i++) {
      expect(await activeRangeJobs(db, redis)).toBeLessThanOrEqual(1);
      await sleep(200);
    }

    await hold.release();
    const fast = await cli(['tune', runId, '--parallelism', '2', '--max-rows-per-sec', '0', '--max-batch-size', '5000']);
    expect(fast.code, show(fast)).toBe(0);
    await waitFor('the gate', async () => (await statusJson(db.url, runId)).status === 'awaiting_approval', 120_000, 200);
    // watch followed it live from another process, and exits 0 at the gate
    const watched = await watcher.exited;
    expect(watched.code, show(watched)).toBe(0);
    expect(watched.stdout).toMatch(/backfill\s+public\.users\s+\[[#-]+\]/);
    expect(watched.stdout).toContain(`verify passed; contract waits for: bellows approve ${runId}`);
    const approved = await cli(['approve', runId]);
    expect(approved.code, show(approved)).toBe(0);
    await waitFor('the run to complete', async () => (await statusJson(db.url, runId)).status === 'completed', 60_000, 200);

    const final = await backfillProgress(db, runId);
    expect(final).toMatchObject({ rows: ROWS, done: true });
    const data = await db.query(`SELECT count(*) FILTER (WHERE email::text = lower('User' || id || '@Example.COM'))::int AS ok FROM users`);
    expect(data.rows[0].ok).toBe(ROWS);
    const { rows: events } = await db.query(`SELECT kind FROM bellows.events WHERE run_id = $1 AND kind IN ('pause', 'resume', 'tune') ORDER BY id`, [runId]);
    expect(events.map((e) => e.kind)).toEqual(['pause', 'resume', 'tune', 'tune', 'tune']);
    for (const worker of workers) worker.kill('SIGTERM');
    for (const worker of workers) expect((await worker.exited).code).toBe(0);
  });
});
