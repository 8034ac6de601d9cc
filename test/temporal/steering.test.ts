import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { schemaSnapshot } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { backfillHold } from '../helpers/hold.ts';
import { sendIntent } from '../../src/operator/intent.ts';
import { statusQuery } from '../../workflows/definitions.ts';
import { temporalHarness } from './harness.ts';

const ROWS = 4000;
const BATCH = 100;
const RANGES = 2;

let db: TestDatabase;
let t: Awaited<ReturnType<typeof temporalHarness>>;
beforeAll(async () => {
  db = await freshDatabase();
  for (const table of ['orders', 'accounts']) {
    await db.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, email text NOT NULL, note text)`);
    await db.query(`INSERT INTO ${table} (email, note) SELECT 'Someone' || g || '@Example.com', 'n' || g FROM generate_series(1, ${ROWS}) g`);
  }
  // A small history bound, so this run also continues as new (several times) on its way.
  t = await temporalHarness(db, { settings: { historyLimit: 60 } });
});

/**
 * The run's backfill is held at a quarter of the rows (test/helpers/hold.ts), so the operator's action
 * lands mid-backfill however slow the machine, with every range unfinished; the rate cap keeps it
 * moving slowly until then.
 */
async function heldPlaybook(name: string, table: string) {
  const hold = await backfillHold(db, `public.${table}`, ROWS / 4);
  const settings = { batchSize: BATCH, minBatchSize: BATCH, maxBatchSize: BATCH, parallelism: RANGES, maxRowsPerSec: 1500, autoContract: true };
  return {
    hold,
    playbook: {
      name,
      settings: { ...settings, throttleQuery: hold.query },
      operations: [{ alter_column: { table, column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
    },
  };
}

describe('operators steer a Temporal run', () => {
  it('pauses within one batch per range holding no activity, takes a tune while paused, and resumes to the end', async () => {
    const { hold, playbook } = await heldPlaybook('0001_orders_email', 'orders');
    const run = await t.open(playbook);
    await t.executor.drive(run);
    const handle = await t.executor.handle(run);
    await waitFor('every range to make progress', async () => {
      const ranges = await t.store.getRanges(run.id, 'backfill');
      return ranges.length === RANGES && ranges.every((r) => r.rowsDone > 0);
    }, 30_000);
    const walkingRanges = async () => ((await handle.describe()).raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'walkRange').length;
    await waitFor('the ranges to be walked by activities', async () => (await walkingRanges()) > 0);

    // As `bellows pause` does: the store first (from then on no range starts another batch), then the signal.
    const paused = await t.store.setDesired(run.id, { paused: true }, 'pause');
    const atPause = await t.rowsDone(run.id);
    await t.executor.notify(paused, 'pause');
    await waitFor('the run to pause', async () => (await t.store.getRun(run.id)).status === 'paused');
    const settled = await t.rowsDone(run.id);
    expect(settled - atPause).toBeLessThanOrEqual(RANGES * BATCH);
    // From here only the pause holds the run.
    await hold.release();

    const status = await waitFor('the workflow to wait for resume', async () => {
      const s = await handle.query(statusQuery);
      return s.step === 'waiting for resume' && s;
    });
    expect(status).toMatchObject({ paused: true, rangesInFlight: [] });
    // Paused holds no worker slot: no range is walked while it waits (its recheck of the store, every
    // few seconds, is a short activity of its own and may be in flight).
    expect(await walkingRanges()).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await t.rowsDone(run.id)).toBe(settled);

    const tuning = { batchSize: 300, minBatchSize: 300, maxBatchSize: 300 };
    await sendIntent(t.ctx, await t.store.getRun(run.id), 'tune', { tuning });
    expect((await handle.query(statusQuery)).tuning).toMatchObject(tuning);

    // As `bellows resume` does for a remote run.
    const resumed = await t.store.setDesired(run.id, { paused: false }, 'resume');
    await t.executor.notify(resumed, 'resume');
    expect(await handle.result()).toBe('completed');

    const ranges = await t.store.getRanges(run.id, 'backfill');
    expect(ranges.reduce((n, r) => n + r.rowsDone, 0)).toBe(ROWS);
    expect(ranges.map((r) => r.batchSize)).toEqual(ranges.map(() => 300));
    expect(await t.store.getRun(run.id)).toMatchObject({ phase: 'done', status: 'completed' });
    expect((await db.query(`SELECT count(*)::int AS n FROM orders WHERE email::text <> lower(email::text)`)).rows[0].n).toBe(0);
    // History stayed bounded: the run went on in later executions of the same workflow id.
    expect((await handle.query(statusQuery)).generation).toBeGreaterThan(0);
  });

  it('rolls back on abort mid-backfill, to the exact original schema and data', async () => {
    const schemaBefore = await schemaSnapshot(db.pool, 'public.accounts');
    const rows = `SELECT id, email, note FROM accounts ORDER BY id`;
    const dataBefore = (await db.query(rows)).rows;
    const { playbook } = await heldPlaybook('0002_accounts_email', 'accounts');
    const run = await t.open(playbook);
    await t.executor.drive(run);
    const handle = await t.executor.handle(run);
    await waitFor('the backfill to make progress', async () => (await t.rowsDone(run.id)) > 0, 30_000);
    expect(await schemaSnapshot(db.pool, 'public.accounts')).not.toEqual(schemaBefore);

    await sendIntent(t.ctx, await t.store.getRun(run.id), 'abort', { abort: true, paused: false });
    expect(await handle.result()).toBe('rolled_back');
    expect(await t.store.getRun(run.id)).toMatchObject({ phase: 'rollback', status: 'rolled_back' });
    expect(await t.rowsDone(run.id)).toBeLessThan(ROWS);
    expect(await schemaSnapshot(db.pool, 'public.accounts')).toEqual(schemaBefore);
    expect((await db.query(rows)).rows).toEqual(dataBefore);
  });
});
