import { describe, expect, it } from 'vitest';
import { freshDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { tableReader } from '../helpers/hold.ts';
import { numberedTable, stepsFor, vToBigint } from '../helpers/lifecycle.ts';
import { waitFor } from '../helpers/poll.ts';
import { runProgress } from '../../src/state/progress.ts';

/**
 * A run whose DDL statement keeps retrying for a lock that another session
 * holds says so in its progress (what status and watch show), and stops saying
 * it once the statement has its lock; a run nothing drives is not waiting for
 * anything (it is stalled).
 */
describe('a statement waiting for its lock', () => {
  it('shows in the run progress while it retries, and no longer once it is done', async () => {
    const db = await freshDatabase();
    await numberedTable(db, 'accounts', 10);
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'accounts_bigint', settings: { lockTimeoutMs: 100, retries: 50 }, operations: [vToBigint('accounts')] });

    const blocker = await tableReader(db, 'accounts');
    const expanding = stepsFor(engine.store, db.pool).expand(run.id);

    try {
      const waiting = await waitFor('progress to show the lock wait', async () => {
        const p = await runProgress(engine.store, await engine.store.getRun(run.id), 'driven');
        return p.lockWait;
      });
      expect(waiting).toMatchObject({ action: expect.stringMatching(/^expand:/), retries: 50, lockTimeoutMs: 100 });
      expect(waiting.retry).toBeGreaterThanOrEqual(1);
      // Nothing drives it: stalled, not waiting.
      expect((await runProgress(engine.store, await engine.store.getRun(run.id), 'gone')).lockWait).toBeNull();
    } finally {
      // Pass or fail, the lock goes, and expand with it.
      await blocker.release();
      await expanding;
    }
    expect((await runProgress(engine.store, await engine.store.getRun(run.id), 'driven')).lockWait).toBeNull();
  });
});
