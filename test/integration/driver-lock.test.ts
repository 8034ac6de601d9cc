import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { backfillHold } from '../helpers/hold.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

describe("the driver's run lock", () => {
  it('when its session dies, the driver stops at a checkpoint instead of racing another one; resume finishes', async () => {
    await numberedTable(db, 'items', 3000);
    const engine = engineFor(db.pool);
    // Held at a third of the rows, so the lock is lost mid-backfill however slow the machine.
    const hold = await backfillHold(db, 'public.items', 1000);
    const run = await engine.open({
      name: 'items_bigint',
      settings: { batchSize: 50, maxBatchSize: 50, maxRowsPerSec: 1000, throttleQuery: hold.query },
      operations: [vToBigint('items')],
    });
    // Caught at once: the drive may fail while the terminate below is still awaited, and an
    // unobserved rejection in that window is an unhandled error for vitest.
    const driving = engine.executor.drive(run, { stopAtGate: true }).then(
      (outcome) => outcome,
      (err: unknown) => err,
    );
    await waitFor('backfill progress', async () => (await engine.store.getRanges(run.id, 'backfill')).some((r) => r.rowsDone > 0));

    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    const failure = await driving;
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/lost the run's lock .* continue with: bellows resume/);
    const stoppedAt = (await engine.store.getRanges(run.id, 'backfill'))[0].rowsDone;
    expect(stoppedAt).toBeLessThan(3000);

    await hold.release();
    await engine.store.setDesired(run.id, { tuning: { maxRowsPerSec: 0 } }, 'tune');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    expect((await engine.store.getRanges(run.id, 'backfill'))[0].rowsDone).toBe(3000);
  });
});
