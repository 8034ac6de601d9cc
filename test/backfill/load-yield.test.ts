import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/poll.ts';
import { loadPauseMs } from '../../src/backfill/load-yield.ts';
import { settingsSchema } from '../../src/playbook/schema.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

describe('the backfill yields to application load', () => {
  it('rests loadYield batch-times per application session running a statement or inside its transaction, and not for its own sessions or a stale transaction', async () => {
    const settings = settingsSchema.parse({ loadYield: 3 });
    expect(await loadPauseMs(db.pool, 100, settings)).toBe(0);

    // Two sessions running a statement until the test lets them finish: each waits for a lock an
    // idle third session holds (a sleep of a fixed length might end before the assertions on a slow machine).
    const holder = new pg.Client({ connectionString: db.url, application_name: 'lock holder' });
    const app = new pg.Client({ connectionString: db.url, application_name: 'shop' });
    const ours = new pg.Client({ connectionString: db.url, application_name: 'bellows' });
    await Promise.all([holder.connect(), app.connect(), ours.connect()]);
    try {
      await holder.query('SELECT pg_advisory_lock(4242)');
      const wait = 'SELECT pg_advisory_xact_lock(4242)';
      const busy = [app.query(wait), ours.query(wait)];
      await waitFor('both sessions active', async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1 AND state = 'active'`, [wait]);
        return rows[0].n === 2;
      });
      expect(await loadPauseMs(db.pool, 100, settings)).toBe(300);
      expect(await loadPauseMs(db.pool, 100, settingsSchema.parse({ loadYield: 0 }))).toBe(0);
      expect(await loadPauseMs(db.pool, 10_000, settings)).toBe(5_000);
      await holder.query('SELECT pg_advisory_unlock(4242)');
      await Promise.all(busy);

      // Between two statements of its transaction a session is still at work; left idle in it, it is not.
      // (The freshness limit is passed in, so that neither check depends on how fast this machine is.)
      await app.query('BEGIN');
      await app.query('SELECT 1');
      expect(await loadPauseMs(db.pool, 100, settings, 60_000)).toBe(300);
      await waitFor('the transaction idle for over 100 ms', async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = 'shop' AND state = 'idle in transaction' AND state_change < clock_timestamp() - interval '100 ms'`,
        );
        return rows[0].n === 1;
      });
      expect(await loadPauseMs(db.pool, 100, settings, 100)).toBe(0);
      await app.query('ROLLBACK');
    } finally {
      await Promise.all([holder.end(), app.end(), ours.end()]);
    }
  });
});
