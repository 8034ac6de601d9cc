import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, runCli, scratchDir, statusJson, waitFor } from '../helpers/cli.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { sampleBackfill, windowRates, type Sample } from '../helpers/rate-windows.ts';
import { backfillGate } from '../helpers/hold.ts';
import { startWorker, testRedis, type TestRedis } from './harness.ts';

/**
 * One fleet, many runs: two runs on two tables of one database and a run on a
 * second database at the same time, on workers that serve both databases, with
 * a limit on range jobs per database; and one rows/s budget across three workers.
 */

let a: TestDatabase;
let b: TestDatabase;
let redis: TestRedis;
const scratch = scratchDir();

beforeAll(async () => {
  [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
  await Promise.all([createSampleTable(a.pool, 30_000), createSampleTable(b.pool, 30_000), numberedTable(a, 'items', 30_000)]);
  redis = await testRedis();
});

function playbook(name: string, operations: unknown[], settings: Record<string, unknown> = {}): string {
  return scratch.write(`${name}.json`, JSON.stringify({ name, settings, operations }));
}

/** Advisory locks of the per-database range slots held in `db` right now: the range jobs walking there. */
async function slotsHeld(db: TestDatabase): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid = hashtext('bellows')::oid AND objid = ANY (SELECT hashtext('bullmq-range-slot:' || i)::oid FROM generate_series(0, 7) i)`,
  );
  return rows[0].n;
}

/** Backfill ranges some walker has claimed in `db`: with every walker at the gate, the range jobs that got a slot. */
async function rangesClaimed(db: TestDatabase): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM bellows.ranges WHERE task = 'backfill' AND lease_owner IS NOT NULL`);
  return rows[0].n;
}

describe('a BullMQ fleet', () => {
  it('runs two runs on different tables and a run on a second database at once, never more range jobs on a database than its limit', async () => {
    const workers = await Promise.all([0, 1].map(() => startWorker(a.url, redis, ['--serve-database', b.url, '--max-ranges-per-database', '2'])));
    // Every walker stops at the gate before its first batch, holding its slot: the count is taken with nothing moving.
    const gates = await Promise.all([backfillGate(a), backfillGate(b)]);
    const small = ['--parallelism', '3', '--batch-size', '200', '--max-batch-size', '200', '--max-rows-per-sec', '6000'];
    const start = (db: TestDatabase, gate: string, path: string) =>
      runCli(['start', path, '--executor', 'bullmq', ...small, '--throttle-query', gate], { db: db.url, env: { REDIS_URL: redis.url } });
    const items = playbook('items_bigint', [vToBigint('items')], { autoContract: true });
    const users = playbook('users_email_citext', [{ alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }], { autoContract: true });
    const started = await Promise.all([start(a, gates[0].query, users), start(a, gates[0].query, items), start(b, gates[1].query, users)]);
    for (const s of started) expect(s.code, show(s)).toBe(0);
    const [usersA, itemsA, usersB] = started.map((s) => /run (\d+) started/.exec(s.stdout)![1]);

    // Six ranges want database a, three want b; the limit lets two walk on each. The others wait in the queue.
    await waitFor('two walkers at the gate on each database', async () =>
      (await Promise.all([a, b].map(async (db) => [await slotsHeld(db), await rangesClaimed(db)]))).flat().every((n) => n === 2), 180_000);
    // A range job tries again for a slot every second; seconds later, still two on each.
    await sleep(3_000);
    for (const db of [a, b]) expect([await slotsHeld(db), await rangesClaimed(db)]).toEqual([2, 2]);

    await Promise.all(gates.map((gate) => gate.open()));
    let most = 0;
    const finished = async () => {
      const all = await Promise.all([statusJson(a.url, usersA), statusJson(a.url, itemsA), statusJson(b.url, usersB)]);
      return all.every((s) => s.status === 'completed');
    };
    await waitFor('all three runs to complete', async () => {
      most = Math.max(most, await slotsHeld(a), await slotsHeld(b));
      return finished();
    }, 180_000, 50);
    expect(most).toBeLessThanOrEqual(2);

    const citext = async (db: TestDatabase) => (await db.query(`SELECT count(*) FILTER (WHERE email::text = lower('User' || id || '@Example.COM'))::int AS ok FROM users`)).rows[0].ok;
    expect(await citext(a)).toBe(30_000);
    expect(await citext(b)).toBe(30_000);
    const { rows: column } = await a.query(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'v'`);
    expect(column).toEqual([{ type: 'bigint' }]);
    expect((await a.query(`SELECT count(*) FILTER (WHERE v = id)::int AS ok FROM items`)).rows[0].ok).toBe(30_000);

    for (const worker of workers) worker.kill('SIGTERM');
    for (const worker of workers) expect((await worker.exited).code).toBe(0);
  });

  it('holds maxRowsPerSec across three workers: every 10 s window within 10% of the cap', async () => {
    const CAP = 3000;
    const ROWS = CAP * 22;
    await numberedTable(b, 'capped', ROWS);
    // One range job per worker: the three walkers are in three processes and share one budget.
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(b.url, redis, ['--concurrency', '1'])));
    const started = await runCli(
      ['start', playbook('capped_bigint', [vToBigint('capped')]), '--executor', 'bullmq', '--parallelism', '3', '--batch-size', '1000', '--max-rows-per-sec', String(CAP), '--load-yield', '0'],
      { db: b.url, env: { REDIS_URL: redis.url } },
    );
    expect(started.code, show(started)).toBe(0);
    const runId = /run (\d+) started/.exec(started.stdout)![1];
    const samples: Sample[] = [];
    await sampleBackfill(b, runId, ROWS, samples);

    const { rows: owners } = await b.query<{ owner: string }>(`SELECT DISTINCT lease_owner AS owner FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId]);
    for (const worker of workers) expect(owners.some((o) => o.owner.includes(worker.walker)), JSON.stringify(owners)).toBe(true);
    const rates = windowRates(samples, ROWS);
    expect(rates.length).toBeGreaterThan(10);
    for (const rate of rates) {
      expect(rate).toBeGreaterThanOrEqual(CAP * 0.9);
      expect(rate).toBeLessThanOrEqual(CAP * 1.1);
    }
    const fast = await runCli(['tune', runId, '--max-rows-per-sec', '0'], { db: b.url });
    expect(fast.code, show(fast)).toBe(0);
    await waitFor('the gate', async () => (await statusJson(b.url, runId)).status === 'awaiting_approval', 120_000, 200);
    for (const worker of workers) worker.kill('SIGTERM');
    for (const worker of workers) expect((await worker.exited).code).toBe(0);
  });
});
