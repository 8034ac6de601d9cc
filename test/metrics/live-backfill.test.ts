import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { backfillHold } from '../helpers/hold.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { parsePrometheus, samplesOf, sumOf, valueOf, type Sample } from '../helpers/prometheus.ts';
import { StateStore } from '../../src/state/store.ts';
import { createMetrics } from '../../src/metrics/index.ts';

/**
 * /metrics during a live backfill, held mid-way by a throttle query: what a
 * Prometheus scraping the server would read, parsed from the text, against the
 * rows and checkpoints in the state store.
 */

const ROWS = 3000;
const PASSWORD = 'Sc4peNoPassw0rd';
let db: TestDatabase;
let store: StateStore;
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'items', ROWS);
  // The collector reads through its own pool, from a URL with a password (the server trusts it, and it must show nowhere).
  const url = new URL(db.url);
  url.password = PASSWORD;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  atFileEnd(() => pool.end());
  store = new StateStore(pool);
});

async function batchesWalked(runId: string): Promise<number> {
  const ranges = [...(await store.getRanges(runId, 'backfill')), ...(await store.getRanges(runId, 'verify'))];
  return ranges.reduce((n, r) => n + r.batches, 0);
}

/** The histogram of one run as Prometheus reads it: cumulative buckets ending in +Inf, equal to _count. */
function histogramOf(samples: Sample[], run: Record<string, string>) {
  const buckets = samplesOf(samples, 'bellows_batch_duration_seconds_bucket', run);
  const counts = buckets.map((b) => b.value);
  expect(counts, 'buckets are cumulative').toEqual([...counts].sort((a, b) => a - b));
  expect(buckets.at(-1)!.labels.le).toBe('+Inf');
  const count = valueOf(samples, 'bellows_batch_duration_seconds_count', run);
  expect(buckets.at(-1)!.value).toBe(count);
  return { count, sum: valueOf(samples, 'bellows_batch_duration_seconds_sum', run) };
}

describe('/metrics during a live backfill', () => {
  it('shows the run in backfill, its rows rising to the table, its batches, the throttle holding it, then the gate', async () => {
    const metrics = createMetrics([{ name: 'main', store }]);
    const scrape = async () => {
      const text = await metrics.render();
      expect(text).not.toContain(PASSWORD);
      return parsePrometheus(text);
    };
    const engine = engineFor(db.pool);
    // Two ranges of 1500 rows, held at 1000 rows in all: both ranges mid-way.
    const hold = await backfillHold(db, 'public.items', 1000);
    const run = await engine.open({
      name: 'items_bigint',
      settings: { batchSize: 50, maxBatchSize: 50, parallelism: 2, throttleQuery: hold.query },
      operations: [vToBigint('items')],
    });
    const driving = engine.executor.drive(run, { stopAtGate: true }).then(
      (outcome) => outcome,
      (err: unknown) => err,
    );
    const labels = { target: 'main', run: run.id, playbook: 'items_bigint' };
    const backfill = { ...labels, task: 'backfill', table: 'public.items' };
    await hold.held(run.id);

    // Held: every range waits on the throttle query, and nothing moves while the figures are compared.
    const first = await waitFor('both ranges held by the throttle query', async () => {
      const s = await scrape();
      return sumOf(s, 'bellows_throttled_ranges', { ...labels, reason: 'throttle query' }) === 2 && s;
    });
    expect(valueOf(first, 'bellows_target_up', { target: 'main' })).toBe(1);
    expect(samplesOf(first, 'bellows_run_phase', labels)).toEqual([{ name: 'bellows_run_phase', labels: { ...labels, phase: 'backfill' }, value: 1 }]);
    expect(valueOf(first, 'bellows_runs', { target: 'main', status: 'running' })).toBe(1);
    expect(valueOf(first, 'bellows_runs', { target: 'main', status: 'awaiting_approval' })).toBe(0);
    expect(valueOf(first, 'bellows_throttled_ranges', { ...labels, reason: 'max rows/s' })).toBe(0);
    expect(valueOf(first, 'bellows_rows_total', backfill)).toBe(ROWS);
    const ranges = await store.getRanges(run.id, 'backfill');
    const doneFirst = valueOf(first, 'bellows_rows_done', backfill);
    expect(doneFirst).toBe(ranges.reduce((n, r) => n + r.rowsDone, 0));
    expect(doneFirst).toBeGreaterThanOrEqual(1000);
    expect(doneFirst).toBeLessThan(ROWS);
    for (const r of ranges) expect(valueOf(first, 'bellows_range_rows_done', { ...backfill, range: String(r.rangeNo) })).toBe(r.rowsDone);
    const histogram = histogramOf(first, labels);
    expect(histogram.count).toBeGreaterThan(0);
    expect(histogram.count).toBe(await batchesWalked(run.id));
    expect(histogram.sum).toBeGreaterThan(0);
    expect(valueOf(first, 'bellows_lock_timeout_retries_total', labels)).toBe(0);
    expect(valueOf(first, 'bellows_errors_total', labels)).toBe(0);

    // Paused, the ranges are held by the operator, not by a throttle; resumed, the throttle holds them again.
    await engine.store.setDesired(run.id, { paused: true }, 'pause');
    const paused = await scrape();
    expect(sumOf(paused, 'bellows_throttled_ranges', labels)).toBe(0);
    expect(valueOf(paused, 'bellows_rows_done', backfill)).toBe(doneFirst);
    await waitFor('the run paused', async () => valueOf(await scrape(), 'bellows_runs', { target: 'main', status: 'paused' }) === 1);
    await engine.store.setDesired(run.id, { paused: false }, 'resume');
    await waitFor('both ranges held by the throttle query again', async () => sumOf(await scrape(), 'bellows_throttled_ranges', { ...labels, reason: 'throttle query' }) === 2);

    // Let it go on to 2000 rows: while it moves it has a rate, and once held again its rows have risen.
    await hold.holdAt(2000);
    await waitFor('a rate while the backfill moves', async () => valueOf(await scrape(), 'bellows_rows_per_second', labels) > 0);
    await hold.held(run.id);
    const second = await scrape();
    expect(valueOf(second, 'bellows_rows_done', backfill)).toBeGreaterThan(doneFirst);
    expect(valueOf(second, 'bellows_rows_total', backfill)).toBe(ROWS);
    expect(histogramOf(second, labels).count).toBeGreaterThan(histogram.count);

    await hold.release();
    expect(await driving).toBe('awaiting_approval');
    const atGate = await scrape();
    expect(samplesOf(atGate, 'bellows_run_phase', labels).map((s) => [s.labels.phase, s.value])).toEqual([['gate', 1]]);
    expect(valueOf(atGate, 'bellows_runs', { target: 'main', status: 'awaiting_approval' })).toBe(1);
    expect(valueOf(atGate, 'bellows_runs', { target: 'main', status: 'running' })).toBe(0);
    expect(valueOf(atGate, 'bellows_rows_done', backfill)).toBe(ROWS);
    expect(valueOf(atGate, 'bellows_rows_done', { ...labels, task: 'verify', table: 'public.items' })).toBe(ROWS);
    expect(valueOf(atGate, 'bellows_rows_per_second', labels)).toBe(0);
    expect(sumOf(atGate, 'bellows_throttled_ranges', labels)).toBe(0);
    const whole = histogramOf(atGate, labels);
    expect(whole.count).toBe(await batchesWalked(run.id));

    // A verify that starts over deletes its ranges; the batches they counted stay counted.
    await store.deleteRanges(run.id, 'verify');
    expect(histogramOf(await scrape(), labels)).toEqual(whole);
  });
});
