import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { backfillHold } from '../helpers/hold.ts';
import { expandAndBackfill, stepsFor, numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { splitRanges } from '../../src/backfill/ranges.ts';
import { describeTable } from '../../src/catalog/introspect.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

async function rangeRows(runId: string, task = 'backfill') {
  const { rows } = await db.query<{ range_no: number; rows_done: number; done: boolean }>(
    `SELECT range_no, rows_done::int, done FROM bellows.ranges WHERE run_id = $1 AND task = $2 ORDER BY range_no`,
    [runId, task],
  );
  return rows;
}

/** A table of `rows` ints, and a run widening them to bigint, already being driven, its backfill held at `holdAt` rows. */
async function driveWidening(table: string, rows: number, holdAt: number, settings: Record<string, unknown>) {
  await numberedTable(db, table, rows);
  await db.query(`ANALYZE ${table}`);
  const hold = await backfillHold(db, `public.${table}`, holdAt);
  const engine = engineFor(db.pool);
  const run = await engine.open({
    name: `${table}_tune`,
    settings: { ...settings, throttleQuery: hold.query },
    operations: [vToBigint(table)],
  });
  return { engine, run, hold, driving: engine.executor.drive(run, { stopAtGate: true }) };
}

describe('parallel ranges', () => {
  it('split skewed keys by rows, not by key arithmetic', async () => {
    // 20k dense keys near zero and 20k spread over a billion: min/max halves would give one range almost all rows.
    await db.query(`CREATE TABLE skewed (id bigint PRIMARY KEY, v int NOT NULL)`);
    await db.query(`INSERT INTO skewed SELECT g, g FROM generate_series(1, 20000) g`);
    await db.query(`INSERT INTO skewed SELECT 1000000 + g * 50000, g FROM generate_series(1, 20000) g`);
    await db.query(`ANALYZE skewed`);
    const info = (await describeTable(db.pool, { schema: 'public', name: 'skewed' }))!;
    const table = { name: 'public.skewed', ref: info, key: info.key!.columns, keyIndex: info.key!.index, estimatedRows: 40000, backfill: [], verify: [] };
    const ranges = await splitRanges(db.pool, table, 4);
    expect(ranges).toHaveLength(4);
    const counts = [];
    for (const r of ranges) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM skewed WHERE ($1::bigint IS NULL OR id > $1::bigint) AND id <= $2::bigint`,
        [r.lowerKey?.[0] ?? null, r.upperKey![0]],
      );
      counts.push(rows[0].n);
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(40000);
    for (const n of counts) expect(n).toBeGreaterThan(40000 / 4 / 2);
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(2);
  });

  it('ends under a constant insert load, and verify covers the rows inserted meanwhile', async () => {
    await db.query(`CREATE TABLE busy (id bigserial PRIMARY KEY, v int NOT NULL)`);
    await db.query(`INSERT INTO busy (v) SELECT g FROM generate_series(1, 20000) g`);
    await db.query(`ANALYZE busy`);
    const writer = new pg.Pool({ connectionString: db.url, max: 2 });
    let inserting = true;
    let inserted = 0;
    const load = (async () => {
      while (inserting) {
        await writer.query(`INSERT INTO busy (v) SELECT g FROM generate_series(1, 20) g`);
        inserted += 20;
      }
    })();
    try {
      const engine = engineFor(db.pool);
      const run = await engine.open({
        name: 'busy_bigint',
        settings: { batchSize: 500, parallelism: 2, autoContract: true },
        operations: [{ alter_column: { table: 'busy', column: 'v', type: 'bigint', up: 'v::bigint + 1', down: '(v - 1)::int' } }],
      });
      expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('completed');
    } finally {
      inserting = false;
      await load;
      await writer.end();
    }
    expect(inserted).toBeGreaterThan(0);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM busy WHERE v IS NULL`);
    expect(rows[0].n).toBe(0);
    const total = await db.query(`SELECT count(*)::int AS n FROM busy`);
    expect(total.rows[0].n).toBe(20000 + inserted);
  });

  it('parallelism raised by tune mid-run splits the remaining work; every row is done once', async () => {
    // Held mid-run until the tune has split the range, so the split cannot come too late.
    const { engine, run, hold, driving } = await driveWidening('wide', 8000, 1000, { batchSize: 200, maxBatchSize: 200, parallelism: 1 });
    await hold.held(run.id);
    await engine.store.setDesired(run.id, { tuning: { parallelism: 3 } }, 'tune');
    await waitFor('the remaining work split into three ranges', async () => (await rangeRows(run.id)).length >= 3);
    await hold.release();
    expect(await driving).toBe('awaiting_approval');
    const ranges = await rangeRows(run.id);
    expect(ranges.every((r) => r.done)).toBe(true);
    expect(ranges.reduce((n, r) => n + r.rows_done, 0)).toBe(8000);
    const splits = await db.query(`SELECT count(*)::int AS n FROM bellows.events WHERE run_id = $1 AND kind = 'range_split'`, [run.id]);
    expect(splits.rows[0].n).toBeGreaterThanOrEqual(2);
  });

  it('parallelism lowered by tune mid-run gives slots back at the next batch; the run still completes', async () => {
    const ROWS = 9000;
    const { engine, run, hold, driving } = await driveWidening('narrow', ROWS, 300, { batchSize: 50, maxBatchSize: 50, maxRowsPerSec: 600, parallelism: 3 });
    await hold.held(run.id);
    // The walkers wait on the hold, checking for a slot to give back before each try.
    await engine.store.setDesired(run.id, { tuning: { parallelism: 1 } }, 'tune');
    // Let the backfill go on ten batches at a time, each step ending held. Once the surplus walkers
    // have given their slots back, a step moves one range only (three walkers would all take part).
    // How soon they do depends on the machine, so try steps until one shows it, with a deadline.
    await waitFor('a step of the backfill that moves one range only', async () => {
      const before = await rangeRows(run.id);
      const done = before.reduce((n, r) => n + r.rows_done, 0);
      if (done >= ROWS - 500) throw new Error(`the backfill is almost through and still moves more than one range at a time`);
      await hold.holdAt(done + 500);
      await hold.held(run.id);
      const after = await rangeRows(run.id);
      return after.filter((r, i) => r.rows_done !== before[i].rows_done).length === 1;
    }, 60_000, 0);
    await hold.release();
    await engine.store.setDesired(run.id, { tuning: { maxRowsPerSec: 0 } }, 'tune');
    expect(await driving).toBe('awaiting_approval');
    expect((await rangeRows(run.id)).reduce((n, r) => n + r.rows_done, 0)).toBe(ROWS);
  });
});

describe('verify', () => {
  it('reports a wrong row with its key and both values, and --repair fixes it', async () => {
    await db.query(`CREATE TABLE emails (id int PRIMARY KEY, email text NOT NULL)`);
    await db.query(`INSERT INTO emails SELECT g, 'User' || g || '@X.com' FROM generate_series(1, 3000) g`);
    const engine = engineFor(db.pool);
    const run = await engine.open({
      name: 'emails_lower',
      settings: { batchSize: 300, parallelism: 2 },
      operations: [{ alter_column: { table: 'emails', column: 'email', up: 'lower(email)', down: 'email' } }],
    });
    await expandAndBackfill(stepsFor(engine.store, db.pool), run.id);
    // A write that slipped past the triggers (as the backfill does, with bellows.backfill on).
    await db.query(`BEGIN; SET LOCAL bellows.backfill = 'on'; UPDATE emails SET _bellows_new_email = 'wrong@x.com' WHERE id = 1234; COMMIT`);

    await expect(engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).rejects.toThrow(
      /verify failed on public.emails .*key 1234: _bellows_new_email="wrong@x.com" expected "user1234@x.com"/,
    );
    expect((await engine.store.getRun(run.id)).status).toBe('failed');

    await engine.store.setDesired(run.id, { tuning: { repair: true } }, 'tune');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    const fixed = await db.query(`SELECT _bellows_new_email AS e FROM emails WHERE id = 1234`);
    expect(fixed.rows[0].e).toBe('user1234@x.com');
    const repaired = await db.query(`SELECT detail FROM bellows.events WHERE run_id = $1 AND kind = 'verify_repaired'`, [run.id]);
    expect(repaired.rows.map((r) => r.detail.rows)).toContain(1);
  });
});
