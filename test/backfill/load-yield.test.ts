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
  it('rests loadYield batch-times per application session running a statement, and not for its own sessions', async () => {
    const settings = settingsSchema.parse({ loadYield: 3 });
    expect(await loadPauseMs(db.pool, 100, settings)).toBe(0);

    const app = new pg.Client({ connectionString: db.url, application_name: 'shop' });
    const ours = new pg.Client({ connectionString: db.url, application_name: 'bellows' });
    await app.connect();
    await ours.connect();
    try {
      const busyApp = app.query('SELECT pg_sleep(3)');
      const busyOurs = ours.query('SELECT pg_sleep(3)');
      await waitFor('both sessions active', async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3)' AND state = 'active'`);
        return rows[0].n === 2;
      });
      expect(await loadPauseMs(db.pool, 100, settings)).toBe(300);
      expect(await loadPauseMs(db.pool, 100, settingsSchema.parse({ loadYield: 0 }))).toBe(0);
      expect(await loadPauseMs(db.pool, 10_000, settings)).toBe(5_000);
      await Promise.all([busyApp, busyOurs]);
    } finally {
      await app.end();
      await ours.end();
    }
  });
});
