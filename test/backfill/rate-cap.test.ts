import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { describe as show, runCli, waitFor } from '../helpers/cli.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { WINDOW_MS, sampleBackfill, windowRates, type Sample } from '../helpers/rate-windows.ts';

/**
 * The rows/s cap is one budget for the whole run, spent evenly: over any 10 s
 * window the committed rows stay within 10% of the cap (measured here from the
 * checkpoints, which commit with their rows), `status` reports that rate within
 * 15%, and shows the cap as the throttle holding the backfill.
 */

const CAP = 4000;
/** About 22 s of backfill at the cap: room for many 10 s windows, and for a status call in the middle. */
const ROWS = CAP * 22;
let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'events', ROWS);
});

describe('the rows/s cap', () => {
  it('holds every 10 s window within 10% of the cap, and status tells the true rate and the throttle', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open({
      name: 'events_bigint',
      // Two walkers share the one budget; the database could go many times faster.
      settings: { maxRowsPerSec: CAP, parallelism: 2, batchSize: 1000, loadYield: 0 },
      operations: [vToBigint('events')],
    });
    const driving = engine.executor.drive(run, { stopAtGate: true });

    const samples: Sample[] = [];
    const sampler = sampleBackfill(db, run.id, ROWS, samples);

    // Past the first window, with about ten seconds of capped work still ahead.
    await waitFor('the backfill to pass 12 s worth of rows', async () => (samples.at(-1)?.rows ?? 0) >= CAP * 12, 60_000);
    const status = await runCli(['status', run.id, '--json'], { db: db.url });
    const statusAt = Date.now();
    expect(status.code, show(status)).toBe(0);
    const task = JSON.parse(status.stdout).tasks.find((t: { task: string }) => t.task === 'backfill');
    expect(task.throttle).toBe('max rows/s');
    const text = await runCli(['status', run.id], { db: db.url });
    expect(text.stdout).toContain('throttled: max rows/s');

    await sampler;
    // Verify is capped too (README); lift the cap so it does not take another 22 s.
    await engine.store.setDesired(run.id, { tuning: { maxRowsPerSec: 0 } }, 'tune');
    expect(await driving).toBe('awaiting_approval');

    const rates = windowRates(samples, ROWS);
    expect(rates.length).toBeGreaterThan(10);
    for (const rate of rates) {
      expect(rate).toBeGreaterThanOrEqual(CAP * 0.9);
      expect(rate).toBeLessThanOrEqual(CAP * 1.1);
    }
    // The true rate around the status call: the 10 s of samples before it returned.
    const before = samples.filter((s) => s.at <= statusAt - WINDOW_MS).at(-1)!;
    const after = samples.filter((s) => s.at <= statusAt).at(-1)!;
    const trueRate = ((after.rows - before.rows) * 1000) / (after.at - before.at);
    expect(task.rowsPerSec).toBeGreaterThanOrEqual(trueRate * 0.85);
    expect(task.rowsPerSec).toBeLessThanOrEqual(trueRate * 1.15);
  });
});
