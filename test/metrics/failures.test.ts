import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { numberedTable, stepsFor } from '../helpers/lifecycle.ts';
import { parsePrometheus, valueOf } from '../helpers/prometheus.ts';
import { createMetrics } from '../../src/metrics/index.ts';

/**
 * The counters of what went wrong: DDL statements retried on a lock they could
 * not get, and batches and steps that failed. Each is a running total in the
 * state store, so it only grows, whichever process did the work.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

describe('bellows_lock_timeout_retries_total', () => {
  it('counts each retry of an expand statement that another session keeps from its lock, and keeps the count', async () => {
    await numberedTable(db, 'locked', 200);
    const engine = engineFor(db.pool);
    const metrics = createMetrics([{ name: 'main', store: engine.store }]);
    const retries = async (runId: string) =>
      valueOf(parsePrometheus(await metrics.render()), 'bellows_lock_timeout_retries_total', { target: 'main', run: runId, playbook: 'locked_bigint' });

    // An open transaction that read the table: its ACCESS SHARE lock keeps expand's ALTER TABLE waiting, past its lock_timeout.
    const reader = await db.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM locked');
      const run = await engine.open({
        name: 'locked_bigint',
        settings: { lockTimeoutMs: 50, retries: 100 },
        operations: [{ alter_column: { table: 'locked', column: 'v', type: 'bigint', up: 'v::bigint', down: 'v::int' } }],
      });
      expect(await retries(run.id)).toBe(0);
      const driving = engine.executor.drive(run, { stopAtGate: true });
      const seen = await waitFor('two retries of expand', async () => {
        const n = await retries(run.id);
        return n >= 2 && n;
      });
      await reader.query('COMMIT');
      expect(await driving).toBe('awaiting_approval');
      const after = await retries(run.id);
      expect(after).toBeGreaterThanOrEqual(seen);
      expect(after).toBe(await engine.store.countEvents(run.id, 'ddl_retry'));
    } finally {
      await reader.query('ROLLBACK').catch(() => {});
      reader.release();
    }
  });
});

describe('bellows_errors_total', () => {
  it('counts a failed batch and the step it failed, again on each resume, and keeps them after the rollback', async () => {
    await numberedTable(db, 'broken', 300);
    const engine = engineFor(db.pool);
    const metrics = createMetrics([{ name: 'main', store: engine.store }]);
    const labels = (runId: string) => ({ target: 'main', run: runId, playbook: 'broken_bigint' });
    const scrape = async () => parsePrometheus(await metrics.render());
    // The row with v = 150 cannot be translated: its batch fails for good (division by zero is not retried).
    const run = await engine.open({
      name: 'broken_bigint',
      settings: { parallelism: 1, batchSize: 50, maxBatchSize: 50 },
      operations: [{ alter_column: { table: 'broken', column: 'v', type: 'bigint', up: '(v / (v - 150))::bigint', down: 'v::int' } }],
    });
    expect(valueOf(await scrape(), 'bellows_errors_total', labels(run.id))).toBe(0);

    await expect(engine.executor.drive(run, { stopAtGate: true })).rejects.toThrow(/division by zero/);
    let s = await scrape();
    expect(valueOf(s, 'bellows_errors_total', labels(run.id))).toBe(2);
    expect(valueOf(s, 'bellows_runs', { target: 'main', status: 'failed' })).toBe(1);

    // Resumed, it fails again on the same row: two more.
    await expect(engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).rejects.toThrow(/division by zero/);
    expect(valueOf(await scrape(), 'bellows_errors_total', labels(run.id))).toBe(4);

    await stepsFor(engine.store, db.pool).rollback(run.id);
    s = await scrape();
    expect(valueOf(s, 'bellows_runs', { target: 'main', status: 'rolled_back' })).toBe(1);
    expect(valueOf(s, 'bellows_runs', { target: 'main', status: 'failed' })).toBe(0);
    expect(valueOf(s, 'bellows_errors_total', labels(run.id))).toBe(4);
    expect(valueOf(s, 'bellows_run_phase', { ...labels(run.id), phase: 'rollback' })).toBe(1);
  });
});
