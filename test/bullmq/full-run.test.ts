import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { catalogSnapshot, describe as show, playbookPath, runCli, statusJson, waitFor } from '../helpers/cli.ts';
import { startWorker, testRedis, type TestRedis } from './harness.ts';

const ROWS = 60_000;
const PLAYBOOK = playbookPath('0001_users_email_citext.yaml');
const SMALL = ['--parallelism', '4', '--batch-size', '500', '--max-batch-size', '1000'];

let db: TestDatabase;
let reference: TestDatabase;
let redis: TestRedis;

beforeAll(async () => {
  [db, reference] = await Promise.all([freshDatabase(), freshDatabase()]);
  await Promise.all([createSampleTable(db.pool, ROWS), createSampleTable(reference.pool, ROWS)]);
  redis = await testRedis();
});

/** The table's rows without created_at (set from now() when each database was filled). */
async function usersDigest(pool: TestDatabase['pool']) {
  const { rows } = await pool.query(`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', id, email, name), E'\\n' ORDER BY id)) AS md5 FROM users`);
  return rows[0];
}

describe('the BullMQ executor', () => {
  it('runs a playbook through every phase on two workers, both walking ranges, and ends as the local executor does', async () => {
    const workers = [await startWorker(db.url, redis, ['--concurrency', '2']), await startWorker(db.url, redis, ['--concurrency', '2'])];

    const started = await runCli(['start', PLAYBOOK, '--executor', 'bullmq', '--wait', '--no-progress', ...SMALL], { db: db.url, env: { REDIS_URL: redis.url } });
    expect(started.code, show(started)).toBe(0);
    const runId = /run (\d+) started/.exec(started.stdout)![1];
    expect(started.stdout).toContain(`run ${runId} submitted`);
    expect(started.stdout).toContain(`contract waits for approval: bellows approve ${runId}`);
    expect(await statusJson(db.url, runId)).toMatchObject({ phase: 'gate', status: 'awaiting_approval' });

    const approved = await runCli(['approve', runId], { db: db.url, env: { REDIS_URL: redis.url } });
    expect(approved.code, show(approved)).toBe(0);
    await waitFor('the run to complete', async () => (await statusJson(db.url, runId)).status === 'completed', 60_000, 200);

    // Both workers walked ranges: each range's last walker is named in its lease.
    const { rows: owners } = await db.query<{ owner: string }>(`SELECT DISTINCT lease_owner AS owner FROM bellows.ranges WHERE run_id = $1`, [runId]);
    for (const worker of workers) expect(owners.some((o) => o.owner.includes(worker.walker)), `ranges walked by ${JSON.stringify(owners)}`).toBe(true);
    const { rows: ranges } = await db.query(`SELECT task, sum(rows_done)::int AS rows, bool_and(done) AS done FROM bellows.ranges WHERE run_id = $1 GROUP BY task ORDER BY task`, [runId]);
    expect(ranges).toEqual([
      { task: 'backfill', rows: ROWS, done: true },
      { task: 'verify', rows: ROWS, done: true },
    ]);

    // The same playbook on the local executor, on a twin database: same schema, same rows.
    const local = await runCli(['start', PLAYBOOK, '--no-progress', ...SMALL], { db: reference.url });
    expect(local.code, show(local)).toBe(0);
    const localApproved = await runCli(['approve', '0001_users_email_citext'], { db: reference.url });
    expect(localApproved.code, show(localApproved)).toBe(0);
    expect(await catalogSnapshot(db.pool)).toEqual(await catalogSnapshot(reference.pool));
    expect(await usersDigest(db.pool)).toEqual(await usersDigest(reference.pool));
    expect((await usersDigest(db.pool)).n).toBe(ROWS);

    for (const worker of workers) worker.kill('SIGTERM');
    for (const worker of workers) expect((await worker.exited).code).toBe(0);
  });
});
