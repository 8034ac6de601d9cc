import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { describe as show, playbookPath, runCli, spawnCli, statusJson, waitFor } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { backfillProgress, countTouches, startWorker, usersOnRedis, type TestRedis } from './harness.ts';

/**
 * `resume --executor` moves a run between BullMQ and the local executor
 * mid-backfill: the BullMQ driver lets go at its next decision, the new driver
 * continues from the checkpoints, and no batch commits twice.
 */

const ROWS = 30_000;
let db: TestDatabase;
let redis: TestRedis;

beforeAll(async () => {
  ({ db, redis } = await usersOnRedis(ROWS));
});

describe('moving a run between BullMQ and the local executor', () => {
  it('resume --executor local takes a BullMQ run over mid-backfill, and --executor bullmq hands it back at the gate', async () => {
    const env = { REDIS_URL: redis.url };
    const touches = await countTouches(db, 'users');
    const worker = await startWorker(db.url, redis);
    const hold = await backfillHold(db, 'public.users', 2_000);
    const started = await runCli(
      ['start', playbookPath('0001_users_email_citext.yaml'), '--executor', 'bullmq', '--parallelism', '2', '--batch-size', '200', '--max-batch-size', '200', '--throttle-query', hold.query],
      { db: db.url, env },
    );
    expect(started.code, show(started)).toBe(0);
    const runId = /run (\d+) started/.exec(started.stdout)![1];
    const atMove = await hold.held(runId);

    const local = spawnCli(['resume', runId, '--executor', 'local', '--no-progress'], { db: db.url, env });
    await waitFor('the local process to drive the run', async () => {
      if (local.child.exitCode !== null) throw new Error(`resume exited early: ${local.stdout()} ${local.stderr()}`);
      return (await statusJson(db.url, runId)).executor === 'local' && local.stdout().includes('resuming run');
    }, 60_000, 100);
    expect(local.stdout()).toContain(`run ${runId} moved from executor bullmq to local`);
    await hold.release();
    const done = await local.exited;
    expect(done.code, show(done)).toBe(0);
    expect(done.stdout).toContain(`bellows approve ${runId}`);
    // The local process walked what was left: the ranges' last walker is its pid.
    const { rows: owners } = await db.query<{ owner: string }>(`SELECT DISTINCT lease_owner AS owner FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId]);
    expect(owners.every((o) => o.owner.includes(`:${local.pid}:`)), JSON.stringify(owners)).toBe(true);
    expect((await backfillProgress(db, runId)).rows).toBe(ROWS);
    expect(atMove).toBeLessThan(ROWS);
    expect(await touches()).toEqual({ rows: ROWS, twice: 0 });

    const back = await runCli(['resume', runId, '--executor', 'bullmq'], { db: db.url, env });
    expect(back.code, show(back)).toBe(0);
    expect(back.stdout).toContain(`run ${runId} resumed on bullmq`);
    const approved = await runCli(['approve', runId], { db: db.url, env });
    expect(approved.code, show(approved)).toBe(0);
    await waitFor('the BullMQ fleet to complete the run', async () => (await statusJson(db.url, runId)).status === 'completed', 60_000, 200);
    expect(await statusJson(db.url, runId)).toMatchObject({ executor: 'bullmq', phase: 'done' });

    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });
});
