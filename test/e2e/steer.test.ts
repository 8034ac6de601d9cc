import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { describe as show, playbookPath, runCli, spawnCli, startedRunId, waitFor } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';

/**
 * Steering a run that another process drives: status, watch, pause, resume and
 * tune, each from its own process, through the state store.
 */

const ROWS = 20_000;
const BATCH = 100;
let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
});

async function backfill(runId: string) {
  const { rows } = await db.query<{ rows: number; batches: number; batch_size: number | null; done: boolean }>(
    `SELECT rows_done::int AS rows, batches::int AS batches, batch_size, done FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`,
    [runId],
  );
  return rows[0] ?? { rows: 0, batches: 0, batch_size: null, done: false };
}

async function runRow(runId: string) {
  return (await db.query<{ phase: string; status: string }>(`SELECT phase, status FROM bellows.runs WHERE id = $1`, [runId])).rows[0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('steering a driven run from other processes', () => {
  it('status mid-run, pause within one batch, resume, tune live, watch to the gate', async () => {
    // The hold, not the rate cap, keeps the run in its backfill until the test lets it go on;
    // the cap of 10 batches a second only keeps it moving slowly enough to watch between holds.
    const hold = await backfillHold(db, 'public.users', 3 * BATCH);
    const driver = spawnCli(
      [
        'start', playbookPath('0001_users_email_citext.yaml'),
        '--batch-size', String(BATCH), '--min-batch-size', String(BATCH), '--max-batch-size', String(BATCH), '--max-rows-per-sec', '1000',
        '--throttle-query', hold.query,
      ],
      { db: db.url },
    );
    const runId = await startedRunId(driver);
    await hold.held(runId);
    const watcher = spawnCli(['watch', runId, '--interval', '300'], { db: db.url });

    // status --json while it runs: the fields a dashboard or a script reads
    const mid = await runCli(['status', runId, '--json'], { db: db.url });
    expect(mid.code, show(mid)).toBe(0);
    const progress = JSON.parse(mid.stdout);
    expect(progress).toMatchObject({ id: runId, playbook: '0001_users_email_citext', phase: 'backfill', status: 'running', driver: 'active', paused: false });
    expect(progress.settings).toMatchObject({ batchSize: BATCH, maxBatchSize: BATCH, maxRowsPerSec: 1000 });
    const task = progress.tasks[0];
    expect(task).toMatchObject({ task: 'backfill', table: 'public.users', done: false });
    expect(task.rowsDone).toBeGreaterThan(0);
    expect(task.rowsDone).toBeLessThan(ROWS);
    expect(task.rowsTotal).toBeGreaterThanOrEqual(ROWS * 0.9);
    expect(task.rowsTotal).toBeLessThanOrEqual(ROWS * 1.1);
    // Held by its throttle query: a moving window of committed rows, not the last batch's speed.
    expect(task.throttle).toBe('throttle query returned true');
    expect(typeof task.rowsPerSec).toBe('number');

    // pause: at most the batch in flight completes after the intent is stored. The backfill moves
    // on meanwhile (unless the command is slow enough for it to reach the next hold, still mid-run).
    await hold.holdAt(ROWS / 2);
    const paused = await runCli(['pause', runId], { db: db.url });
    expect(paused.code, show(paused)).toBe(0);
    expect(paused.stdout).toContain(`pause requested for run ${runId}`);
    const atPause = (await backfill(runId)).rows;
    await waitFor('the driver to report the run paused', async () => (await runRow(runId)).status === 'paused');
    const stopped = (await backfill(runId)).rows;
    expect(stopped - atPause).toBeLessThanOrEqual(BATCH);
    // ...and then nothing moves, over a window of many batch times, though the hold would let it
    // go two batches further: the pause alone holds it. (A window can only miss a move, never invent one.)
    await hold.holdAt(stopped + 2 * BATCH);
    await sleep(1500);
    expect((await backfill(runId)).rows).toBe(stopped);
    const whilePaused = await runCli(['status', runId, '--json'], { db: db.url });
    expect(JSON.parse(whilePaused.stdout)).toMatchObject({ phase: 'backfill', status: 'paused', paused: true, driver: 'active' });
    expect((await backfill(runId)).rows).toBe(stopped);

    // resume from a third process: the live driver continues
    const resumed = await runCli(['resume', runId], { db: db.url });
    expect(resumed.code, show(resumed)).toBe(0);
    expect(resumed.stdout).toContain(`run ${runId} resumed; its driving process continues`);
    await waitFor('the backfill to move again', async () => (await backfill(runId)).rows > stopped);
    await waitFor('the run to be running again', async () => (await runRow(runId)).status === 'running');

    // tune the live run, held two batches on, so the tune lands mid-backfill: no rate cap, bigger batches
    // The minimum goes up too: the size adapts to the machine's speed, and a slow one would otherwise take it back to 100.
    const tuned = await runCli(['tune', runId, '--max-rows-per-sec', '0', '--max-batch-size', '5000', '--min-batch-size', '1000', '--batch-size', '2000'], { db: db.url });
    expect(tuned.code, show(tuned)).toBe(0);
    expect(tuned.stdout).toContain(`run ${runId} tuned: batchSize=2000, minBatchSize=1000, maxBatchSize=5000, maxRowsPerSec=0`);
    const atTune = await backfill(runId);
    await hold.release();

    const finished = await driver.exited;
    expect(finished.code, show(finished)).toBe(0);
    expect(finished.stdout).toContain(`bellows approve ${runId}`);
    const final = await backfill(runId);
    expect(final).toMatchObject({ rows: ROWS, done: true });
    // It took effect: the rest went in batches larger than the old cap of 100.
    expect((final.batches - atTune.batches) * BATCH).toBeLessThan(ROWS - atTune.rows);
    expect(final.batch_size).toBeGreaterThan(BATCH);

    // The event log says who did what; the steering came from other processes than the driver.
    const { rows: events } = await db.query<{ kind: string; actor: string; detail: Record<string, unknown> }>(
      `SELECT kind, actor, detail FROM bellows.events WHERE run_id = $1 AND kind IN ('pause', 'resume', 'tune') ORDER BY id`,
      [runId],
    );
    expect(events.map((e) => e.kind)).toEqual(['pause', 'resume', 'tune']);
    expect(events[2].detail).toMatchObject({ tuning: { maxRowsPerSec: 0, maxBatchSize: 5000, batchSize: 2000 } });
    for (const e of events) expect(e.actor).not.toContain(`pid ${driver.pid}`);
    const afterTune = await runCli(['status', runId, '--json'], { db: db.url });
    expect(JSON.parse(afterTune.stdout).settings).toMatchObject({ maxRowsPerSec: 0, maxBatchSize: 5000 });

    // watch followed it to the gate, and exits 0 there
    const watched = await watcher.exited;
    expect(watched.code, show(watched)).toBe(0);
    expect(watched.stdout).toMatch(/backfill\s+public\.users\s+\[[#-]+\]/);
    expect(watched.stdout).toContain(`verify passed; contract waits for: bellows approve ${runId}`);

    const approved = await runCli(['approve', runId], { db: db.url });
    expect(approved.code, show(approved)).toBe(0);
    expect(await runRow(runId)).toEqual({ phase: 'done', status: 'completed' });
    const data = await db.query(`SELECT count(*) FILTER (WHERE email::text = lower('User' || id || '@Example.COM'))::int AS ok FROM users`);
    expect(data.rows[0].ok).toBe(ROWS);
  });
});
