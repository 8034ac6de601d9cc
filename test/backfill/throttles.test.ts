import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { backfillHold } from '../helpers/hold.ts';
import { vToBigint } from '../helpers/lifecycle.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE flags (name text PRIMARY KEY, on_ boolean NOT NULL)`);
  await db.query(`INSERT INTO flags VALUES ('hold', false)`);
});

async function table(name: string, rows: number) {
  await db.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, v int NOT NULL)`);
  await db.query(`INSERT INTO ${name} SELECT g, g FROM generate_series(1, ${rows}) g`);
  await db.query(`ANALYZE ${name}`);
}

function alter(name: string, settings: Record<string, unknown>) {
  return {
    name: `throttle_${name}`,
    settings: { minBatchSize: 10, ...settings },
    operations: [vToBigint(name)],
  };
}

async function rowsDone(runId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT coalesce(sum(rows_done), 0)::int AS n FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId]);
  return rows[0].n;
}

async function events(runId: string, kind: string) {
  const { rows } = await db.query(`SELECT detail FROM bellows.events WHERE run_id = $1 AND kind = $2 ORDER BY id`, [runId, kind]);
  return rows.map((r) => r.detail);
}

describe('throttles engage and release, and are recorded', () => {
  it('a custom throttle query flipped by the operator holds the backfill, then lets it go', async () => {
    await table('t_query', 2000);
    await db.query(`UPDATE flags SET on_ = true`);
    const engine = engineFor(db.pool);
    const run = await engine.open(alter('t_query', { batchSize: 100, maxBatchSize: 100, throttleQuery: `SELECT on_ FROM flags WHERE name = 'hold'` }));
    const driving = engine.executor.drive(run, { stopAtGate: true });
    await waitFor('throttle engaged', async () => (await events(run.id, 'throttle_engaged')).length > 0);
    const held = await rowsDone(run.id);
    await new Promise((r) => setTimeout(r, 700));
    expect(await rowsDone(run.id)).toBe(held);
    const status = await db.query(`SELECT throttle FROM bellows.ranges WHERE run_id = $1`, [run.id]);
    expect(status.rows[0].throttle).toMatch(/throttle query returned true/);
    await db.query(`UPDATE flags SET on_ = false`);
    expect(await driving).toBe('awaiting_approval');
    expect(await rowsDone(run.id)).toBe(2000);
    expect((await events(run.id, 'throttle_released')).length).toBeGreaterThan(0);
  });

  it('sessions waiting on a lock of the table hold the backfill until the lock is released', async () => {
    await table('t_lock', 2000);
    await db.query(`INSERT INTO flags VALUES ('gate', true)`);
    const engine = engineFor(db.pool);
    // The flag holds the run at the start of its backfill (expand's DDL would wait on the lock below).
    const run = await engine.open(
      alter('t_lock', { batchSize: 100, maxBatchSize: 100, maxLockWaiters: 0, throttleQuery: `SELECT on_ FROM flags WHERE name = 'gate'` }),
    );
    const driving = engine.executor.drive(run, { stopAtGate: true });
    await waitFor('backfill held by the flag', async () => (await events(run.id, 'throttle_engaged')).length > 0);

    const holder = new pg.Client({ connectionString: db.url });
    const waiter = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await waiter.connect();
    await holder.query(`BEGIN; SELECT * FROM t_lock WHERE id = 1500 FOR UPDATE`);
    const waiting = waiter.query(`UPDATE t_lock SET v = v WHERE id = 1500`);
    await waitFor('a waiting session', async () => (await db.query(`SELECT 1 FROM pg_locks WHERE NOT granted`)).rowCount);
    await db.query(`UPDATE flags SET on_ = false WHERE name = 'gate'`);

    const engaged = await waitFor('lock-wait throttle', async () =>
      (await events(run.id, 'throttle_engaged')).find((e) => /waiting on locks/.test(e.reason)),
    );
    expect(engaged.reason).toMatch(/1 sessions waiting on locks of public.t_lock/);
    expect(await rowsDone(run.id)).toBe(0);

    await holder.query('COMMIT');
    await waiting;
    expect(await driving).toBe('awaiting_approval');
    expect(await rowsDone(run.id)).toBe(2000);
    expect((await events(run.id, 'throttle_released')).at(-1)).toMatchObject({ was: expect.stringMatching(/waiting on locks/) });
    await holder.end();
    await waiter.end();
  });

  it('max rows per second bounds the rows done in a window; tune lifts it mid-run', async () => {
    await table('t_rate', 3000);
    // Held at two thirds of the rows, so the tune below lands mid-run however slow the machine.
    const hold = await backfillHold(db, 'public.t_rate', 2000);
    const engine = engineFor(db.pool);
    const run = await engine.open(alter('t_rate', { batchSize: 50, maxBatchSize: 50, maxRowsPerSec: 200, throttleQuery: hold.query }));
    const driving = engine.executor.drive(run, { stopAtGate: true });
    await waitFor('first batch', async () => (await rowsDone(run.id)) > 0);
    // The window spans both readings, so a slow reading only makes it longer, never the bound tighter.
    const t0 = Date.now();
    const start = await rowsDone(run.id);
    await new Promise((r) => setTimeout(r, 2000));
    const end = await rowsDone(run.id);
    const elapsed = (Date.now() - t0) / 1000;
    // The bucket admits at most rate × time, plus the batch already admitted.
    expect(end - start).toBeLessThanOrEqual(200 * elapsed + 50 + 50);

    await engine.store.setDesired(run.id, { tuning: { maxRowsPerSec: 0, batchSize: 500, maxBatchSize: 1000 } }, 'tune');
    await hold.release();
    expect(await driving).toBe('awaiting_approval');
    expect(await rowsDone(run.id)).toBe(3000);
    const tuned = await events(run.id, 'tune');
    expect(tuned[0].tuning).toMatchObject({ maxRowsPerSec: 0, batchSize: 500 });
    const batches = await db.query(`SELECT max(batch_size) AS b FROM bellows.ranges WHERE run_id = $1`, [run.id]);
    expect(batches.rows[0].b).toBeGreaterThan(50);
  });
});
