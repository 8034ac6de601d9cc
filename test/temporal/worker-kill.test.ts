import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/poll.ts';
import { backfillHold } from '../helpers/hold.ts';
import { temporalHarness, workflowBundlePath } from './harness.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const ROWS = 4000;
const BATCH = 100;
const RANGES = 2;

let db: TestDatabase;
let t: Awaited<ReturnType<typeof temporalHarness>>;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL)`);
  await db.query(`INSERT INTO users (email) SELECT 'User' || g || '@Example.com' FROM generate_series(1, ${ROWS}) g`);
  // Counts every row update, committed or not: a sequence is not rolled back with the batch that used it,
  // so this sees the work the killed worker did and lost, not only the work that stuck.
  await db.query(`CREATE SEQUENCE touches`);
  await db.query(`CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('touches'); RETURN NULL; END $$`);
  await db.query(`CREATE TRIGGER touch AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION count_touch()`);
  t = await temporalHarness(db, { worker: false, settings: { heartbeatTimeoutMs: 2_000 } });
});

afterAll(() => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
});

/** `bellows worker --executor temporal` as operators run it, in its own process. */
async function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['src/cli/bin.mjs', 'worker', '--executor', 'temporal', '--concurrency', '4'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: t.settings.address, BELLOWS_WORKFLOW_BUNDLE: await workflowBundlePath(), BELLOWS_TEMPORAL_STICKY_TIMEOUT_MS: '1000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitFor('the worker to poll', async () => {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${output}`);
    return output.includes('worker polling task queue');
  }, 60_000);
  return child;
}

/** rowsDone of a range attempt's last heartbeat as the server has it (JSON payloads), 0 without one. */
function heartbeatRows(details: { payloads?: Array<{ data?: Uint8Array | null }> | null } | null | undefined): number {
  const data = details?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data).toString()) as { rowsDone: number }).rowsDone : 0;
}

describe('a worker process killed mid-backfill', () => {
  it('hands its ranges to a new worker, which continues from the checkpoints and finishes the run', async () => {
    const first = await startWorker();
    // The rate cap keeps batches in flight when the kill comes; the hold at three quarters of the rows
    // makes sure it comes mid-backfill however slow the machine (then it finds the ranges waiting).
    const hold = await backfillHold(db, 'public.users', (ROWS * 3) / 4);
    const run = await t.open({
      name: '0001_email_lower',
      settings: {
        batchSize: BATCH, minBatchSize: BATCH, maxBatchSize: BATCH, parallelism: RANGES, maxRowsPerSec: 1000, autoContract: true, throttleQuery: hold.query,
      },
      operations: [{ alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
    });
    await t.executor.drive(run);
    const handle = await t.executor.handle(run);
    // Half done, and the server holds a heartbeat with progress from every range in flight: on a busy
    // machine one range may start late, and heartbeats reach the server up to a throttle interval late.
    await waitFor('the backfill to be half done, every range in flight having reported progress', async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return (await t.rowsDone(run.id)) >= ROWS / 2 && pending.length > 0 && pending.every((a) => heartbeatRows(a.heartbeatDetails) > 0);
    }, 60_000);
    // A range attempt the server timed out before the kill (a heartbeat late on a busy machine) is retried
    // too; the checks below are about the attempts the kill lost, the events after this one.
    const beforeKill = (await db.query(`SELECT coalesce(max(id), 0)::text AS id FROM bellows.events WHERE run_id = $1`, [run.id])).rows[0].id as string;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await hold.release();

    const second = await startWorker();
    expect(await handle.result()).toBe('completed');

    const done = await t.store.getRun(run.id);
    expect(done).toMatchObject({ phase: 'done', status: 'completed' });
    const ranges = await t.store.getRanges(run.id, 'backfill');
    expect(ranges.every((r) => r.done)).toBe(true);
    expect(ranges.reduce((n, r) => n + r.rowsDone, 0)).toBe(ROWS);
    // Every row updated once, plus at most the one batch per range that was in flight when the worker died.
    const touched = Number((await db.query(`SELECT last_value FROM touches`)).rows[0].last_value);
    expect(touched).toBeGreaterThanOrEqual(ROWS);
    expect(touched - ROWS).toBeLessThanOrEqual(RANGES * BATCH);

    // The retry (attempt 2 or later) received the lost attempt's last heartbeat: a checkpoint with progress,
    // never ahead of the store's checkpoint it continued from.
    const retries = (await t.store.events(run.id, beforeKill)).filter((e) => e.kind === 'range_retry');
    expect(retries.length).toBeGreaterThan(0);
    for (const r of retries) {
      const d = r.detail as { attempt: number; heartbeat: { rowsDone: number } | null; checkpoint: { rowsDone: number } };
      expect(d.attempt).toBeGreaterThanOrEqual(2);
      expect(d.heartbeat).not.toBeNull();
      expect(d.heartbeat!.rowsDone).toBeGreaterThan(0);
      expect(d.heartbeat!.rowsDone).toBeLessThanOrEqual(d.checkpoint.rowsDone);
    }
    expect(await t.rowsDone(run.id, 'verify')).toBe(ROWS);
    expect((await db.query(`SELECT count(*)::int AS n FROM users WHERE email::text <> lower(email::text)`)).rows[0].n).toBe(0);

    // SIGTERM drains and exits cleanly (a deploy or a scale-down), where SIGKILL above lost the process.
    second.kill('SIGTERM');
    const code = await new Promise((resolve) => second.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  });
});
